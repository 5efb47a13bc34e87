// Containers: Sequential (runs its modules in order), ModuleList and ModuleDict (hold modules so they register).
import { ArgumentError, IndexError } from '../errors.js';
import { describeValue } from '../ops/support.js';
import { Module } from './module.js';

function checkModule(value: unknown, where: string): Module {
  if (!(value instanceof Module)) throw new ArgumentError(`${where}: ${describeValue(value)} is not a Module subclass`);
  return value;
}

/** Modules held under the names '0', '1', ...: the common part of Sequential and ModuleList. */
abstract class IndexedModules extends Module {
  [index: number]: Module;

  /** The modules in order. */
  protected items(): Module[] {
    const found: Module[] = [];
    for (let i = 0; Object.hasOwn(this, String(i)); i++) found.push((this as unknown as Record<string, Module>)[String(i)]);
    return found;
  }

  #wrapIndex(index: number, where: string): number {
    const count = this.length;
    if (!Number.isInteger(index) || index < -count || index >= count) throw new IndexError(`${where}: index ${describeValue(index)} is out of range for ${count} modules`);
    return index < 0 ? index + count : index;
  }

  /** Rewrites the numbered fields from a list (after an insert or delete). */
  protected setItems(modules: Module[], where: string): void {
    modules.forEach((m) => checkModule(m, where));
    const self = this as unknown as Record<string, Module>;
    for (let i = 0; Object.hasOwn(self, String(i)); i++) delete self[String(i)];
    modules.forEach((module, i) => { self[String(i)] = module; });
  }

  override get length(): number {
    let count = 0;
    while (Object.hasOwn(this, String(count))) count++;
    return count;
  }

  /** The module at index (negative counts from the end). */
  at(index: number): Module {
    return this.items()[this.#wrapIndex(index, 'at')];
  }

  append(module: Module): this {
    (this as unknown as Record<string, Module>)[String(this.length)] = checkModule(module, 'append');
    return this;
  }

  extend(modules: Iterable<Module>): this {
    for (const module of modules) this.append(module);
    return this;
  }

  insert(index: number, module: Module): void {
    checkModule(module, 'insert');
    const list = this.items();
    const at = index === list.length ? index : this.#wrapIndex(index, 'insert');
    list.splice(at, 0, module);
    this.setItems(list, 'insert');
  }

  /** Removes and returns the module at index. */
  pop(index = -1): Module {
    const list = this.items();
    const [removed] = list.splice(this.#wrapIndex(index, 'pop'), 1);
    this.setItems(list, 'pop');
    return removed;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.items()[Symbol.iterator]();
  }
}

/**
 * Runs modules in order, each on the previous one's output: new Sequential(a, b, c), or
 * new Sequential({ conv: a, relu: b }) for named children (keys in the object's order).
 */
export class Sequential extends IndexedModules {
  #names: string[] | null = null;

  constructor(...modules: Module[] | [Record<string, Module>]) {
    super();
    const [first] = modules;
    if (modules.length === 1 && !(first instanceof Module) && typeof first === 'object' && first !== null) {
      this.#names = [];
      for (const [name, module] of Object.entries(first)) {
        this.addModule(name, checkModule(module, 'Sequential'));
        this.#names.push(name);
      }
    } else {
      (modules as Module[]).forEach((module, i) => { this.addModule(String(i), checkModule(module, 'Sequential')); });
    }
  }

  protected override items(): Module[] {
    return this.#names ? this.#names.map((name) => (this as unknown as Record<string, Module>)[name]) : super.items();
  }

  protected override ownEntries(): [string, unknown][] {
    if (!this.#names) return super.ownEntries();
    const named = new Set(this.#names);
    return [...this.#names.map((name) => [name, (this as unknown as Record<string, unknown>)[name]] as [string, unknown]),
      ...super.ownEntries().filter(([name]) => !named.has(name))];
  }

  override get length(): number {
    return this.#names ? this.#names.length : super.length;
  }

  override append(module: Module): this {
    if (this.#names) {
      const name = String(this.#names.length);
      this.addModule(name, checkModule(module, 'append'));
      this.#names.push(name);
      return this;
    }
    return super.append(module);
  }

  protected override setItems(modules: Module[], where: string): void {
    if (this.#names) throw new ArgumentError(`${where}: not supported on a Sequential built from named modules`);
    super.setItems(modules, where);
  }

  /**
   * Each child's output feeds the next. The call's tidy scope frees the intermediate outputs (one search
   * of the output's graph per Sequential call; the layers inside add none), and everything on an error.
   */
  override forward(input: unknown): any { // any: whatever the last module returns
    let value = input;
    for (const module of this.items()) value = module(value);
    return value;
  }
}

/** Holds modules in a list so that they register (a plain array does not). It has no forward. */
export class ModuleList extends IndexedModules {
  constructor(modules: Iterable<Module> = []) {
    super();
    this.extend(modules);
  }
}

/** Holds modules by name, in insertion order, so that they register (a plain object field does not). It has no forward. */
export class ModuleDict extends Module {
  #keys: string[] = [];

  constructor(modules: Record<string, Module> | Iterable<[string, Module]> = {}) {
    super();
    this.update(modules);
  }

  protected override ownEntries(): [string, unknown][] {
    const keys = new Set(this.#keys);
    return [...this.#keys.map((key) => [key, (this as unknown as Record<string, unknown>)[key]] as [string, unknown]),
      ...super.ownEntries().filter(([name]) => !keys.has(name))];
  }

  get(key: string): Module | undefined {
    return this.#keys.includes(key) ? (this as unknown as Record<string, Module>)[key] : undefined;
  }

  set(key: string, module: Module): this {
    checkModule(module, 'ModuleDict.set');
    if (!this.#keys.includes(key)) {
      this.addModule(key, module);
      this.#keys.push(key);
    } else {
      (this as unknown as Record<string, Module>)[key] = module;
    }
    return this;
  }

  has(key: string): boolean { return this.#keys.includes(key); }

  delete(key: string): Module | undefined {
    const module = this.get(key);
    if (module) {
      this.#keys.splice(this.#keys.indexOf(key), 1);
      delete (this as unknown as Record<string, Module>)[key];
    }
    return module;
  }

  update(modules: Record<string, Module> | Iterable<[string, Module]>): this {
    const entries = Symbol.iterator in Object(modules) ? [...(modules as Iterable<[string, Module]>)] : Object.entries(modules);
    for (const [key, module] of entries) this.set(key, module);
    return this;
  }

  get size(): number { return this.#keys.length; }
  keys(): string[] { return [...this.#keys]; }
  values(): Module[] { return this.#keys.map((key) => (this as unknown as Record<string, Module>)[key]); }
  entries(): [string, Module][] { return this.#keys.map((key) => [key, (this as unknown as Record<string, Module>)[key]]); }
  [Symbol.iterator](): Iterator<string> { return this.keys()[Symbol.iterator](); }
}
