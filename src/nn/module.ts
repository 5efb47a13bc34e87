// nn.Module: the base class of layers and models: callable instances, automatic registration, state dicts, hooks, modes.
//
// Three decisions (the README's nn section repeats them):
//
// Callable instances. `model(x)` works as in PyTorch: Module's base constructor returns an arrow function
// whose prototype is `new.target.prototype`, so `this` in every subclass constructor (users' too) is that
// function, class fields and #private fields land on it, `instanceof` holds, and calling it runs `call()`
// (pre-hooks, forward, hooks). An arrow function has no `prototype`, `arguments` or `caller` of its own;
// its `name` and `length` are deleted so fields of those names are free. Its prototype chain never passes
// Function.prototype, so `model.call(x)` is Module's `call` (the same as `model(x)`), not Function's.
// TypeScript: a merged interface gives instances forward's call signature, so `net(x)` needs no cast.
// Measured here: a built-in layer's call costs ~80 ns more than its forward; a user module's, with the tidy
// scope below, ~0.2 µs (test/nn.test.ts prints it).
//
// Memory. A user's forward runs inside torch.tidy, so its intermediate activations are freed when it
// returns, as PyTorch's die with their last reference (the output keeps its graph; replaced buffers are
// kept; other tensors it stores must be torch.keep()'d). Built-in layers free their own temporaries and
// skip that scope, which saves its bookkeeping on every layer call.
//
// Registration without a Proxy: a module's parameters are its own enumerable fields that hold a
// Parameter, its submodules the fields that hold a Module, in the order they were first assigned (the
// order of Object.keys: integer-like names such as Sequential's '0', '1' first, in numeric order). Buffers
// are fields named through registerBuffer. Nothing is cached, so reassigning or deleting a field is seen
// at once, and property reads and writes cost nothing extra (a Proxy's set trap would tax every field
// access of every forward). A Tensor that is not a Parameter is not registered, as in PyTorch.
import { ArgumentError, DeviceError, DtypeError, ShapeError, TorchError } from '../errors.js';
import { Function as AutogradFunction, type Ctx } from '../autograd/function.js';
import { noGrad } from '../autograd/grad-mode.js';
import type { MaybeTensor } from '../autograd/engine.js';
import { keep, tidy } from '../scope.js';
import { Tensor } from '../tensor.js';
import { checkDevice, describeValue, formatShape, sameShape } from '../ops/support.js';
import { Parameter } from './parameter.js';

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom');

/** What registerForwardHook & co. return. */
export interface RemovableHandle {
  remove(): void;
}

/** hook(module, args): may return replacement args (an array, or one value that becomes the only arg). */
export type ForwardPreHook = (module: Module, args: unknown[]) => unknown;
/** hook(module, args, output): may return a replacement output. */
export type ForwardHook = (module: Module, args: unknown[], output: unknown) => unknown;
/** hook(module, gradInput, gradOutput): may return replacement gradients for the tensor inputs. */
export type FullBackwardHook = (module: Module, gradInput: MaybeTensor[], gradOutput: MaybeTensor[]) => MaybeTensor[] | void | undefined;

/** stateDict(): names as PyTorch writes them ("0.weight", "bn.running_mean") to tensors. */
export type StateDict = Record<string, Tensor>;

/** loadStateDict's result: PyTorch's _IncompatibleKeys, readable by name or destructured as an array. */
export type IncompatibleKeys = [string[], string[]] & { missingKeys: string[]; unexpectedKeys: string[] };

/** loadStateDict found missing or unexpected keys (strict), or tensors of the wrong shape; nothing was copied. */
export class StateDictError extends TorchError {
  override name = 'StateDictError';
  constructor(message: string, readonly missingKeys: string[], readonly unexpectedKeys: string[], readonly sizeMismatches: string[]) {
    super(message);
  }
}

/** Returns a function object standing in for `this`; see the note at the top of the file. */
class CallableObject {
  constructor() {
    const callable = (...args: unknown[]) => (callable as unknown as Module).call(...args);
    delete (callable as { name?: string }).name;
    delete (callable as { length?: number }).length;
    Object.setPrototypeOf(callable, new.target.prototype);
    return callable as unknown as CallableObject;
  }
}

/**
 * Forward functions of built-in layers that free their own temporaries: a call runs them without a tidy
 * scope, whose search of the output's graph would make a deep chain of layers quadratic. A subclass that
 * overrides forward is scoped again.
 */
const selfCleaningForwards = new WeakSet<object>();

/** Declares that these classes' own forward leaves no temporaries behind (built-in layers only). */
export function freesItsTemporaries(...classes: { prototype: { forward: unknown } }[]): void {
  for (const cls of classes) selfCleaningForwards.add(cls.prototype.forward as object);
}

/** Errors thrown inside a forward that already name the module they came from (so outer modules add nothing). */
const annotatedErrors = new WeakSet<object>();

type DeviceOrDtype = string | { device?: string; dtype?: string };

/** The callable signature of a module: its forward's. */
export interface Module {
  (...args: Parameters<this['forward']>): ReturnType<this['forward']>;
}

export class Module extends CallableObject {
  /** Whether the module is in training mode (train()/eval() set it on the whole tree). */
  training = true;
  /** Buffer names in registration order, each with whether stateDict includes it. */
  readonly #buffers = new Map<string, boolean>();
  readonly #forwardPreHooks: ForwardPreHook[] = [];
  readonly #forwardHooks: ForwardHook[] = [];
  readonly #backwardHooks: FullBackwardHook[] = [];

  /** The computation; subclasses override it. Call the module (`model(x)`), not forward, so hooks run. */
  // `any` so that every subclass's forward signature is assignable to this one (and model(x) takes its types).
  forward(..._args: any[]): any {
    throw new TorchError(`Module [${this.constructor.name}] is missing the required "forward" function`);
  }

  /**
   * What `model(...args)` runs: forward pre-hooks, forward, forward hooks, and full backward hooks' wiring.
   * forward runs inside torch.tidy: tensors it makes and does not return (intermediate activations) are
   * freed when it returns, as PyTorch's die with their last reference; the output keeps its graph. Buffers
   * the forward replaces are kept; any other tensor it stores on the module must be passed to torch.keep()
   * (or registered with registerBuffer). Outputs are searched as tidy searches: tensors, arrays, plain
   * objects and Maps.
   */
  call(...args: Parameters<this['forward']>): ReturnType<this['forward']>;
  call(...args: unknown[]): unknown {
    try {
      if (this.#forwardPreHooks.length === 0 && this.#forwardHooks.length === 0 && this.#backwardHooks.length === 0) {
        return this.#forwardInScope(args);
      }
      return this.#callWithHooks(args);
    } catch (error) {
      throw this.#annotate(error);
    }
  }

  #forwardInScope(args: unknown[]): unknown {
    if (selfCleaningForwards.has(this.forward)) return this.forward(...args);
    return tidy(() => {
      const output = this.forward(...args);
      // A buffer the forward replaced (this.running_mean = ...) is module state, not an intermediate.
      for (const name of this.#buffers.keys()) {
        const value = (this as unknown as Record<string, unknown>)[name];
        if (value instanceof Tensor) keep(value);
      }
      return output;
    });
  }

  /** Hooks run outside forward's scope: what they make or store (features[name] = output.detach()) is theirs. */
  #callWithHooks(args: unknown[]): unknown {
    for (const hook of [...this.#forwardPreHooks]) {
      const result = hook(this, args);
      if (result !== undefined && result !== null) args = Array.isArray(result) ? result : [result];
    }
    const backward = this.#backwardHooks.length ? new BackwardHookState(this, [...this.#backwardHooks]) : null;
    const given = args;
    if (backward) args = backward.wrapInputs(args);
    let output: unknown;
    try {
      output = this.#forwardInScope(args);
    } catch (error) {
      // The wrapped inputs are this call's own handles: nothing else can reach them once forward has failed.
      args.forEach((arg, i) => { if (arg !== given[i] && arg instanceof Tensor) arg.dispose(); });
      throw error;
    }
    for (const hook of [...this.#forwardHooks]) {
      const result = hook(this, args, output);
      if (result !== undefined && result !== null) output = result;
    }
    return backward ? backward.wrapOutputs(output) : output;
  }

  /** Prefixes an error from forward with this module's description, once (the innermost module wins). */
  #annotate(error: unknown): unknown {
    if (!(error instanceof TorchError) || annotatedErrors.has(error)) return error;
    annotatedErrors.add(error);
    error.message = `in ${this.#describe()}: ${error.message}`;
    return error;
  }

  #describe(): string {
    const extra = this.extraRepr();
    return `${this.constructor.name}(${extra.includes('\n') ? '' : extra})`;
  }

  // ---- registration

  /** Adds a parameter (or null, PyTorch's `bias=None`) under `name`; the same as assigning the field. */
  registerParameter(name: string, parameter: Parameter | null): void {
    this.#checkName(name, 'parameter');
    if (parameter !== null && !(parameter instanceof Parameter)) {
      throw new ArgumentError(`cannot assign ${describeKind(parameter)} as parameter '${name}' (nn.Parameter or null expected)`);
    }
    if (this.#buffers.has(name)) throw new ArgumentError(`attribute '${name}' already exists (it is a buffer)`);
    (this as unknown as Record<string, unknown>)[name] = parameter;
  }

  /**
   * Adds a buffer: a tensor that is state but not a parameter (BatchNorm's running_mean). Persistent buffers
   * are in stateDict. Assigning a tensor to the field later replaces the buffer's value.
   */
  registerBuffer(name: string, tensor: Tensor | null, options: { persistent?: boolean } | boolean = {}): void {
    this.#checkName(name, 'buffer');
    const persistent = typeof options === 'boolean' ? options : options.persistent ?? true;
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new ArgumentError(`cannot assign ${describeKind(tensor)} as buffer '${name}' (a tensor or null expected)`);
    }
    const current = (this as unknown as Record<string, unknown>)[name];
    if (current instanceof Parameter || current instanceof Module) {
      throw new ArgumentError(`attribute '${name}' already exists (it is a ${current instanceof Parameter ? 'parameter' : 'submodule'})`);
    }
    if (tensor) keep(tensor);
    this.#buffers.set(name, persistent);
    (this as unknown as Record<string, unknown>)[name] = tensor;
  }

  /** Adds a submodule under `name` (PyTorch's add_module / register_module); the same as assigning the field. */
  addModule(name: string, module: Module | null): void {
    this.#checkName(name, 'module');
    if (module !== null && !(module instanceof Module)) throw new ArgumentError(`${describeKind(module)} is not a Module subclass`);
    (this as unknown as Record<string, unknown>)[name] = module;
  }
  registerModule(name: string, module: Module | null): void { this.addModule(name, module); }

  #checkName(name: unknown, kind: string): void {
    if (typeof name !== 'string') throw new ArgumentError(`${kind} name should be a string, got ${describeKind(name)}`);
    if (name === '') throw new ArgumentError(`${kind} name can't be empty string ""`);
    if (name.includes('.')) throw new ArgumentError(`${kind} name can't contain ".", got "${name}"`);
    // A field of that name would hide a method (train, forward...) or the training flag.
    if (name === 'training' || (name in this && !Object.hasOwn(this, name))) throw new ArgumentError(`attribute '${name}' already exists`);
  }

  /**
   * This module's own [name, value] fields in registration order; ModuleDict overrides it to keep its keys'
   * insertion order. Subclasses may override it; everything below reads the tree through it.
   */
  protected ownEntries(): [string, unknown][] {
    return Object.entries(this);
  }

  /** [name, parameter] of this module only. */
  #ownParameters(): [string, Parameter][] {
    return this.ownEntries().filter((entry): entry is [string, Parameter] => entry[1] instanceof Parameter);
  }

  /** [name, buffer, persistent] of this module only (null buffers skipped). */
  #ownBuffers(): [string, Tensor, boolean][] {
    const found: [string, Tensor, boolean][] = [];
    for (const [name, persistent] of this.#buffers) {
      const value = (this as unknown as Record<string, unknown>)[name];
      if (value instanceof Tensor) found.push([name, value, persistent]);
    }
    return found;
  }

  /** Names registered through registerBuffer (for a field assignment to know it replaces a buffer). */
  protected isBufferName(name: string): boolean {
    return this.#buffers.has(name);
  }

  // ---- traversal

  *namedChildren(): Generator<[string, Module]> {
    const seen = new Set<Module>();
    for (const [name, value] of this.ownEntries()) {
      if (value instanceof Module && !seen.has(value)) {
        seen.add(value);
        yield [name, value];
      }
    }
  }

  *children(): Generator<Module> {
    for (const [, child] of this.namedChildren()) yield child;
  }

  /** Every module of the tree, this one first, each once (PyTorch's named_modules with its memo). */
  *namedModules(prefix = '', memo: Set<Module> = new Set()): Generator<[string, Module]> {
    if (memo.has(this)) return;
    memo.add(this);
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) {
      yield* child.namedModules(prefix ? `${prefix}.${name}` : name, memo);
    }
  }

  *modules(): Generator<Module> {
    for (const [, module] of this.namedModules()) yield module;
  }

  /** Parameters with dotted names ("fc1.weight"); shared parameters are listed once. */
  *namedParameters(options: { prefix?: string; recurse?: boolean } = {}): Generator<[string, Parameter]> {
    const { prefix = '', recurse = true } = options;
    const seen = new Set<Tensor>();
    const modules = recurse ? this.namedModules(prefix) : [[prefix, this] as [string, Module]];
    for (const [modulePrefix, module] of modules) {
      for (const [name, parameter] of module.#ownParameters()) {
        if (seen.has(parameter)) continue;
        seen.add(parameter);
        yield [modulePrefix ? `${modulePrefix}.${name}` : name, parameter];
      }
    }
  }

  *parameters(recurse = true): Generator<Parameter> {
    for (const [, parameter] of this.namedParameters({ recurse })) yield parameter;
  }

  *namedBuffers(options: { prefix?: string; recurse?: boolean } = {}): Generator<[string, Tensor]> {
    const { prefix = '', recurse = true } = options;
    const seen = new Set<Tensor>();
    const modules = recurse ? this.namedModules(prefix) : [[prefix, this] as [string, Module]];
    for (const [modulePrefix, module] of modules) {
      for (const [name, buffer] of module.#ownBuffers()) {
        if (seen.has(buffer)) continue;
        seen.add(buffer);
        yield [modulePrefix ? `${modulePrefix}.${name}` : name, buffer];
      }
    }
  }

  *buffers(recurse = true): Generator<Tensor> {
    for (const [, buffer] of this.namedBuffers({ recurse })) yield buffer;
  }

  /** The submodule at a dotted path ("features.0"); '' is this module. */
  getSubmodule(target: string): Module {
    if (target === '') return this;
    let module: Module = this;
    for (const part of target.split('.')) {
      const next = (module as unknown as Record<string, unknown>)[part];
      if (!(next instanceof Module)) {
        throw new ArgumentError(`${module.constructor.name} has no submodule \`${part}\` (looking up "${target}")`);
      }
      module = next;
    }
    return module;
  }

  /** The parameter at a dotted path ("fc1.weight"). */
  getParameter(target: string): Parameter {
    const at = target.lastIndexOf('.');
    const module = this.getSubmodule(at < 0 ? '' : target.slice(0, at));
    const name = target.slice(at + 1);
    const value = (module as unknown as Record<string, unknown>)[name];
    if (!(value instanceof Parameter)) throw new ArgumentError(`${module.constructor.name} has no parameter \`${name}\` (looking up "${target}")`);
    return value;
  }

  /** Calls fn on every submodule and then on this one (PyTorch's apply); returns this. */
  apply(fn: (module: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  // ---- modes, gradients, devices

  /** Sets training mode on this module and every submodule; returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new ArgumentError(`training mode is expected to be boolean, got ${describeKind(mode)}`);
    for (const module of this.modules()) module.training = mode;
    return this;
  }

  /** train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter (freezing with false); returns this. */
  requiresGrad_(requiresGrad = true): this {
    for (const parameter of this.parameters()) parameter.requiresGrad_(requiresGrad);
    return this;
  }

  /**
   * Clears the parameters' gradients. As in PyTorch 2 and the optimizers' zeroGrad, the default
   * (`setToNone: true`) disposes them and .grad becomes null; `{ setToNone: false }` zeroes them in place.
   * A boolean is accepted too, as PyTorch's positional `set_to_none`.
   */
  zeroGrad(options: { setToNone?: boolean } | boolean = {}): void {
    const setToNone = typeof options === 'boolean' ? options : options.setToNone ?? true;
    if (typeof setToNone !== 'boolean') throw new ArgumentError(`zeroGrad: setToNone must be a boolean, got ${describeValue(setToNone)}`);
    for (const parameter of this.parameters()) {
      const grad = parameter.grad;
      if (!grad) continue;
      if (setToNone) {
        parameter.grad = null;
        grad.dispose();
      } else if (grad.gradFn) {
        // A gradient with history (createGraph) is replaced by a plain zero tensor, as PyTorch's detach_().
        parameter.grad = null;
        parameter.grad = noGrad(() => grad.detach().mul(0));
        grad.dispose();
      } else {
        noGrad(() => grad.zero_());
      }
    }
  }

  /**
   * Moves parameters and buffers to a device ('cpu', 'webgpu') or dtype ('float32'). As in PyTorch, do it
   * before making the optimizer: the parameters are new tensors on the new device (the old ones are
   * disposed, so an optimizer holding them refuses to step). Their gradients move with them. A move from
   * 'webgpu' to 'cpu' reads the GPU, which is asynchronous: use `await model.toAsync('cpu')`. Returns this.
   */
  to(target: DeviceOrDtype): this {
    const device = this.#checkTarget(target, 'to');
    if (device === undefined) return this;
    const pairs: [Tensor, Tensor][] = [];
    try {
      for (const tensor of this.#tensorsToMove()) pairs.push([tensor, noGrad(() => tensor.to(device))]);
    } catch (error) {
      for (const [tensor, copy] of pairs) if (copy !== tensor) copy.dispose();
      throw error;
    }
    return this.#moveAll(pairs);
  }

  /** to(device) for every pair of devices (a 'webgpu' → 'cpu' move waits for the GPU). */
  async toAsync(target: DeviceOrDtype): Promise<this> {
    const device = this.#checkTarget(target, 'toAsync');
    if (device === undefined) return this;
    // Read everything first, then swap, so a failed read leaves the module as it was.
    const pairs: [Tensor, Tensor][] = [];
    for (const tensor of this.#tensorsToMove()) pairs.push([tensor, await noGrad(() => tensor.toAsync(device))]);
    return this.#moveAll(pairs);
  }

  /** Every parameter, its gradient, and every buffer of the tree, each once (tied weights are one tensor). */
  #tensorsToMove(): Tensor[] {
    const tensors = new Set<Tensor>();
    for (const module of this.modules()) {
      for (const [, tensor] of module.#ownTensors()) {
        tensors.add(tensor);
        if (tensor.grad) tensors.add(tensor.grad);
      }
    }
    return [...tensors];
  }

  /** Swaps each tensor for its moved copy in every module that holds it; parameters stay Parameters. */
  #moveAll(pairs: [Tensor, Tensor][]): this {
    const moved = new Map(pairs);
    const replacements = new Map<Tensor, Tensor>();
    for (const module of this.modules()) {
      const fields = module as unknown as Record<string, unknown>;
      for (const [name, tensor] of module.#ownTensors()) {
        let replacement = replacements.get(tensor);
        if (replacement === undefined) {
          const copy = moved.get(tensor)!;
          if (copy === tensor) continue;
          if (tensor instanceof Parameter) {
            const parameter = new Parameter(copy, tensor.requiresGrad);
            const grad = tensor.grad && moved.get(tensor.grad);
            if (grad) parameter.grad = grad;
            copy.dispose();
            replacement = parameter;
          } else {
            replacement = keep(copy);
          }
          replacements.set(tensor, replacement);
        }
        fields[name] = replacement;
      }
    }
    // The old tensors go last: a tied weight is replaced everywhere before it is freed.
    for (const tensor of replacements.keys()) tensor.dispose();
    return this;
  }

  #checkTarget(target: DeviceOrDtype, where: string): 'cpu' | 'webgpu' | undefined {
    const { device, dtype } = typeof target === 'string'
      ? (target === 'float32' || target === 'int32' || target === 'bool' ? { device: undefined, dtype: target } : { device: target, dtype: undefined })
      : target ?? {};
    const checked = device === undefined ? undefined : checkDevice(device, `${this.constructor.name}.${where}`, DeviceError);
    if (dtype !== undefined && dtype !== 'float32') {
      throw new DtypeError(`nn.Module.to only accepts floating point dtypes, but got desired dtype=${dtype}`);
    }
    return checked;
  }

  /** This module's own parameters and buffers as [field name, tensor]. */
  #ownTensors(): [string, Tensor][] {
    return [...this.#ownParameters(), ...this.#ownBuffers().map(([name, tensor]) => [name, tensor] as [string, Tensor])];
  }

  cpu(): this { return this.to('cpu'); }
  float(): this { return this.to('float32'); }

  // ---- state dicts

  /**
   * Parameters and persistent buffers by PyTorch's names: each module's parameters, then its buffers, then
   * its children's. Values are detached handles on the module's own storage (as PyTorch's, they share
   * memory with the model): dispose them when done (torch.dispose(sd)), or call it inside torch.tidy.
   * With keepVars they are the module's tensors themselves (nothing to dispose; never dispose them).
   */
  stateDict(options: { prefix?: string; keepVars?: boolean } = {}): StateDict {
    const { prefix = '', keepVars = false } = options;
    const result: StateDict = {};
    for (const [key, tensor] of this.#stateEntries(prefix)) result[key] = keepVars ? tensor : tensor.detach();
    return result;
  }

  /**
   * [key, tensor] of every parameter and persistent buffer, in stateDict order. As in PyTorch, a shared
   * module or tensor appears under each of its names (tied weights load from either file).
   */
  #stateEntries(prefix: string): [string, Tensor][] {
    const entries: [string, Tensor][] = [];
    const visit = (module: Module, modulePrefix: string, ancestors: Set<Module>) => {
      if (ancestors.has(module)) throw new TorchError(`stateDict: module ${module.constructor.name} at "${modulePrefix}" contains itself`);
      ancestors.add(module);
      for (const [name, parameter] of module.#ownParameters()) entries.push([modulePrefix + name, parameter]);
      for (const [name, buffer, persistent] of module.#ownBuffers()) if (persistent) entries.push([modulePrefix + name, buffer]);
      for (const [name, value] of module.ownEntries()) if (value instanceof Module) visit(value, `${modulePrefix}${name}.`, ancestors);
      ancestors.delete(module);
    };
    visit(this, prefix, new Set());
    return entries;
  }

  /**
   * Copies values from a state dict into the parameters and buffers, in place. Every key is checked first:
   * shapes must match (always), and with strict (default) there may be no missing or unexpected keys;
   * otherwise nothing is copied and a StateDictError lists every problem as PyTorch does. Returns the
   * missing and unexpected keys ({ missingKeys, unexpectedKeys }, or destructure as an array).
   */
  loadStateDict(stateDict: Record<string, Tensor>, options: { strict?: boolean } | boolean = {}): IncompatibleKeys {
    const strict = typeof options === 'boolean' ? options : options.strict ?? true;
    if (stateDict === null || typeof stateDict !== 'object' || Array.isArray(stateDict) || stateDict instanceof Tensor) {
      throw new ArgumentError(`Expected state_dict to be an object of tensors by name, got ${describeKind(stateDict)}`);
    }
    const own = this.#stateEntries('');
    const ownKeys = new Set(own.map(([key]) => key));
    const missingKeys = own.map(([key]) => key).filter((key) => !Object.hasOwn(stateDict, key));
    const unexpectedKeys = Object.keys(stateDict).filter((key) => !ownKeys.has(key));
    const sizeMismatches: string[] = [];
    for (const [key, target] of own) {
      if (!Object.hasOwn(stateDict, key)) continue;
      const source = stateDict[key];
      if (!(source instanceof Tensor)) {
        sizeMismatches.push(`While copying the parameter named "${key}", expected a tensor from checkpoint but received ${describeKind(source)}`);
      } else if (source.isDisposed) {
        sizeMismatches.push(`While copying the parameter named "${key}", the tensor from checkpoint was disposed`);
      } else if (!sameShape(source.shape, target.shape)) {
        sizeMismatches.push(`size mismatch for ${key}: copying a param with shape ${formatShape(source.shape)} from checkpoint, the shape in current model is ${formatShape(target.shape)}.`);
      }
    }
    const problems: string[] = [];
    if (strict && unexpectedKeys.length) problems.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(', ')}. `);
    if (strict && missingKeys.length) problems.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(', ')}. `);
    problems.push(...sizeMismatches);
    if (problems.length) {
      throw new StateDictError(`Error(s) in loading state_dict for ${this.constructor.name}:\n\t${problems.join('\n\t')}`, missingKeys, unexpectedKeys, sizeMismatches);
    }
    noGrad(() => {
      for (const [key, target] of own) if (Object.hasOwn(stateDict, key)) target.copy_(stateDict[key]);
    });
    const result = [missingKeys, unexpectedKeys] as IncompatibleKeys;
    result.missingKeys = missingKeys;
    result.unexpectedKeys = unexpectedKeys;
    return result;
  }

  /** Frees every parameter and buffer of the tree (WebAssembly memory is not garbage-collected); the module is unusable after. */
  dispose(): void {
    for (const module of this.modules()) {
      for (const [, parameter] of module.#ownParameters()) parameter.dispose();
      for (const [, buffer] of module.#ownBuffers()) buffer.dispose();
    }
  }
  [Symbol.dispose](): void { this.dispose(); }

  // ---- hooks

  /** hook(module, args) runs before forward; a returned value replaces the args. */
  registerForwardPreHook(hook: ForwardPreHook): RemovableHandle {
    return addHook(this.#forwardPreHooks, hook, 'registerForwardPreHook');
  }

  /** hook(module, args, output) runs after forward; a returned value replaces the output. */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    return addHook(this.#forwardHooks, hook, 'registerForwardHook');
  }

  /**
   * hook(module, gradInput, gradOutput) runs when the gradients with respect to the module's tensor inputs
   * are computed (gradInput is all null when no input requires grad); a returned array replaces gradInput.
   */
  registerFullBackwardHook(hook: FullBackwardHook): RemovableHandle {
    return addHook(this.#backwardHooks, hook, 'registerFullBackwardHook');
  }

  // ---- printing

  /** The text inside the parentheses of this module's repr (PyTorch's extra_repr). */
  extraRepr(): string {
    return '';
  }

  /** PyTorch's repr: the module and its children, indented. */
  override toString(): string {
    const extra = this.extraRepr();
    const lines = extra ? extra.split('\n') : [];
    for (const [name, child] of this.namedChildren()) {
      const childLines = child.toString().split('\n');
      lines.push(`(${name}): ${childLines[0]}`, ...childLines.slice(1));
    }
    const name = this.constructor.name;
    if (lines.length === 0) return `${name}()`;
    if (lines.length === 1 && !this.namedChildren().next().value) return `${name}(${lines[0]})`;
    return `${name}(\n${lines.map((line) => `  ${line}`).join('\n')}\n)`;
  }

  [inspectSymbol](): string {
    return this.toString();
  }
}

function addHook<T>(list: T[], hook: T, where: string): RemovableHandle {
  if (typeof hook !== 'function') throw new ArgumentError(`${where} expects a function, got ${describeKind(hook)}`);
  list.push(hook);
  return { remove: () => { const at = list.indexOf(hook); if (at >= 0) list.splice(at, 1); } };
}

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Tensor) return `a tensor of shape ${formatShape(value.shape)}`;
  if (value instanceof Module) return `a ${value.constructor.name} module`;
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  return `${typeof value} ${String(value)}`;
}

// ---- full backward hooks: identity autograd Functions around the inputs and outputs, as PyTorch's BackwardHook

/** Runs the full backward hooks of one call: gradients of the outputs arrive first, then those of the inputs. */
class BackwardHookState {
  gradOutputs: MaybeTensor[] | null = null;
  /** How many tensor args the forward got, and which of them require grad (those pass through the input Function). */
  tensorArgs = 0;
  wrappedInputs = 0;

  constructor(readonly module: Module, readonly hooks: FullBackwardHook[]) {}

  wrapInputs(args: unknown[]): unknown[] {
    const positions = args.map((a, i) => (a instanceof Tensor && a.requiresGrad ? i : -1)).filter((i) => i >= 0);
    this.tensorArgs = args.filter((a) => a instanceof Tensor).length;
    this.wrappedInputs = positions.length;
    if (positions.length === 0) return args;
    const wrapped = BackwardHookInputs.apply<Tensor[]>(this, ...positions.map((i) => args[i]));
    const result = args.slice();
    positions.forEach((at, k) => { result[at] = wrapped[k]; });
    return result;
  }

  wrapOutputs(output: unknown): unknown {
    const list = output instanceof Tensor ? [output] : Array.isArray(output) && output.every((o) => o instanceof Tensor) ? output as Tensor[] : null;
    if (!list) return output;
    const positions = list.map((t, i) => (t.requiresGrad ? i : -1)).filter((i) => i >= 0);
    if (positions.length === 0) return output;
    const wrapped = BackwardHookOutputs.apply<Tensor[]>(this, ...positions.map((i) => list[i]));
    const result = list.slice();
    positions.forEach((at, k) => { result[at] = wrapped[k]; });
    return output instanceof Tensor ? result[0] : result;
  }

  /** Calls the hooks; each may replace the input gradients. */
  run(gradInputs: MaybeTensor[]): MaybeTensor[] {
    let current = gradInputs;
    for (const hook of this.hooks) {
      const result = hook(this.module, current, this.gradOutputs ?? []);
      if (result === undefined || result === null) continue;
      if (!Array.isArray(result) || result.length !== current.length) {
        throw new ArgumentError(`backward hook returned an invalid number of grad_input, got ${Array.isArray(result) ? result.length : describeKind(result)}, but expected ${current.length}`);
      }
      result.forEach((g, i) => {
        const previous = current[i];
        if (g !== null && previous !== null && !sameShape(g.shape, previous.shape)) {
          throw new ShapeError(`backward hook returned a gradient of shape ${formatShape(g.shape)} for an input whose gradient has shape ${formatShape(previous.shape)}`);
        }
      });
      current = result;
    }
    return current;
  }
}

class BackwardHookInputs extends AutogradFunction {
  static override forward(ctx: Ctx, state: BackwardHookState, ...tensors: Tensor[]): Tensor[] {
    ctx.state = state;
    return tensors;
  }
  static override backward(ctx: Ctx, ...grads: MaybeTensor[]): MaybeTensor[] {
    const state = ctx.state as BackwardHookState;
    try {
      return [null, ...state.run(grads)];
    } finally {
      for (const g of state.gradOutputs ?? []) g?.dispose();
      state.gradOutputs = null;
    }
  }
}

class BackwardHookOutputs extends AutogradFunction {
  static override forward(ctx: Ctx, state: BackwardHookState, ...tensors: Tensor[]): Tensor[] {
    ctx.state = state;
    return tensors;
  }
  static override backward(ctx: Ctx, ...grads: MaybeTensor[]): MaybeTensor[] {
    const state = ctx.state as BackwardHookState;
    if (state.wrappedInputs === 0) {
      // No input carries a gradient back: the hooks run now, with no input gradients (as PyTorch does).
      state.gradOutputs = grads;
      state.run(new Array<MaybeTensor>(state.tensorArgs).fill(null));
      state.gradOutputs = null;
    } else {
      // The engine frees these once delivered; the hooks run later, at the inputs, on copies.
      state.gradOutputs = grads.map((g) => (g ? keep(g.clone()) : null));
    }
    return [null, ...grads];
  }
}
