// torch.optim.Optimizer: parameter groups, per-parameter state, step/zeroGrad, stateDict/loadStateDict; subclasses supply one fused update.
import { wasm } from '../backend/wasm/device.js';
import type { DispatchableKernel } from '../backend/wasm/dispatch.js';
import * as gpu from '../backend/webgpu/optim.js';
import { ArgumentError, DeviceError, DtypeError, ShapeError } from '../errors.js';
import { AutogradError } from '../autograd/engine.js';
import { enableGrad, noGrad } from '../autograd/grad-mode.js';
import { Tensor } from '../tensor.js';
import { keep } from '../scope.js';
import { tensor } from '../ops/factories.js';
import { fill_ } from '../ops/elementwise.js';
import { addressOf, describeValue, emptyTensor, formatShape, isContiguous, sameShape } from '../ops/support.js';

/** Flag bits of the fused update kernels: mirrored in assembly/optim.ts and src/backend/webgpu/optim.ts. */
export const UpdateFlag = {
  maximize: 1, weightDecay: 2, momentum: 4, nesterov: 8, firstStep: 16, decoupledDecay: 32, amsgrad: 64, centered: 128,
} as const;

/** One parameter's state: buffers (tensors the optimizer owns), step counts, and null for buffers not in use. */
export type ParameterState = Record<string, Tensor | number | null>;

/** A parameter group as the optimizer keeps it: the parameters and every option, live (schedulers write `lr`). */
export type ParamGroup<Options> = Options & { params: Tensor[]; initialLr?: number; [extra: string]: unknown };

/** What the constructor and addParamGroup take for a group: options left out take the optimizer's defaults. */
export type ParamGroupInput<Options> = Partial<Options> & { params: Iterable<Tensor> | Tensor; [extra: string]: unknown };

export type ParamsInput<Options> = Iterable<Tensor> | Iterable<ParamGroupInput<Options>>;

export interface OptimizerStateDict {
  /** Per parameter index (numbered across groups in order, as PyTorch does): that parameter's state, cloned. */
  state: Record<number, ParameterState>;
  /** Each group's options, with `params` as indices. */
  paramGroups: (Record<string, unknown> & { params: number[] })[];
}

/** How an option is checked: its kind, its default (absent: required), and PyTorch's range check. */
export interface OptionSpec {
  kind: 'number' | 'boolean' | 'pair';
  default?: number | boolean | readonly [number, number];
  /** A message when the value is out of range (PyTorch's wording), else null. */
  check?: (value: never) => string | null;
}

export type OptionsSpec<Options> = { [K in keyof Options]: OptionSpec };

/** PyTorch's range checks, shared by the optimizers. */
export const nonNegative = (what: string) => (value: number) => (value >= 0 ? null : `Invalid ${what}: ${value}`);

const groupKeysOfOptimizer = new Set(['params', 'initialLr']);

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** A new float32 tensor shaped like `param`, on its device, filled with `value`. */
function filledLike(param: Tensor, value: number): Tensor {
  const out = emptyTensor(param.shape, 'float32', param.device);
  fill_(out, value);
  out.storage.version = 0; // a new tensor's fill is not an in-place change anyone saw
  return out;
}

/** A float32 copy of a loaded state tensor on its parameter's device (an upload when it comes from the CPU). */
function copyTo(value: Tensor, param: Tensor): Tensor {
  if (value.device !== param.device) return value.to({ dtype: 'float32', device: param.device });
  return value.dtype === 'float32' ? value.clone() : value.to('float32');
}

/**
 * The base of every optimizer. Subclasses declare their options and state keys and implement `update`, which
 * launches one fused kernel per parameter; the base validates everything before anything changes.
 */
export abstract class Optimizer<Options extends object> {
  /** The groups, live: changing `group.lr` (as schedulers do) takes effect at the next step. */
  readonly paramGroups: ParamGroup<Options>[] = [];
  /** Each parameter's state (its buffers are the optimizer's: live, not copies). */
  readonly state = new Map<Tensor, ParameterState>();
  readonly defaults: Readonly<Partial<Options>>;
  readonly #name: string;
  readonly #spec: OptionsSpec<Options>;

  protected constructor(name: string, params: ParamsInput<Options>, options: Partial<Options>, spec: OptionsSpec<Options>) {
    this.#name = name;
    this.#spec = spec;
    const defaults = this.#readDefaults(options);
    this.defaults = defaults;
    if (params instanceof Tensor || params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
      throw new ArgumentError(`${name}: params argument given to the optimizer should be an iterable of Tensors or dicts, but got ${describeValue(params)}`);
    }
    const items = [...(params as Iterable<unknown>)];
    if (items.length === 0) throw new ArgumentError(`${name}: optimizer got an empty parameter list`);
    const groupInputs: ParamGroupInput<Options>[] = items[0] instanceof Tensor
      ? [{ params: items as Tensor[] } as unknown as ParamGroupInput<Options>]
      : items as ParamGroupInput<Options>[];
    // Every group is checked before any is added: a bad one leaves nothing half-built.
    const seen = new Set<Tensor>();
    const groups = groupInputs.map((group, index) => this.#prepareGroup(group, seen, `param group ${index}`));
    this.paramGroups.push(...groups);
  }

  /** PyTorch's class name, for messages. */
  get name(): string {
    return this.#name;
  }

  // ------------------------------------------------------------------------------ subclass contract

  /** State keys this optimizer keeps (camelCase PyTorch names), for loadStateDict's checks. */
  protected abstract readonly stateKeys: readonly string[];
  /** Whether stateDict() exposes `step` as a 0-d float32 tensor (PyTorch 1.13's Adam, AdamW, Adagrad) or a number. */
  protected abstract readonly stepIsTensor: boolean;
  /** Checks across options (e.g. Nesterov needs momentum): a message, or null. */
  protected crossCheck(_group: Options): string | null {
    return null;
  }
  /** Fills in the state a parameter needs under this group's options that it does not have yet. */
  protected abstract initializeState(param: Tensor, state: ParameterState, group: ParamGroup<Options>): void;
  /** Runs the fused kernel: param, grad (contiguous float32) and state buffers updated in place. */
  protected abstract update(param: Tensor, grad: Tensor, state: ParameterState, group: ParamGroup<Options>): void;

  /**
   * Runs the fused update `kernel` over the parameter (tensors[0]) in place, on the parameter's device: the
   * CPU kernel `<kernel>_f32` (tiles on the pool when large) or its WGSL twin. Tensors in the CPU kernel's
   * order, null (or a number) for a buffer not in use (the kernel never touches it); then its scalars and flags.
   */
  protected launchUpdate(kernel: gpu.UpdateKernel, tensors: readonly (Tensor | number | null | undefined)[], scalars: readonly number[], flags: number,
    nsPerElement: number): void {
    const param = tensors[0] as Tensor;
    if (param.device === 'webgpu') {
      gpu.update(kernel, tensors.map((value) => (value instanceof Tensor ? value : null)), scalars, flags);
      return;
    }
    const addresses = tensors.map((value) => (value instanceof Tensor ? addressOf(value) : 0));
    wasm.launch(`${kernel}_f32` as DispatchableKernel, [...addresses, ...scalars, flags], param.numel(), nsPerElement, 4);
  }

  /** A state buffer shaped like the parameter, on its device, filled with `value`, owned by the optimizer (escapes any tidy). */
  protected buffer(param: Tensor, value = 0): Tensor {
    return keep(filledLike(param, value));
  }

  // ------------------------------------------------------------------------------ public API

  /**
   * Performs one optimization step. A closure (re-evaluating the model and returning the loss) runs with grad
   * mode on, first. Parameters whose grad is null are skipped.
   */
  step<Loss = undefined>(closure?: () => Loss): Loss | undefined {
    if (closure !== undefined && typeof closure !== 'function') {
      throw new ArgumentError(`${this.#name}.step: closure must be a function, got ${describeValue(closure)}`);
    }
    const loss = closure ? enableGrad(closure) : undefined;
    // Everything is checked before any parameter changes, so an error leaves the model and state as they were.
    const work: [Tensor, Tensor, ParamGroup<Options>][] = [];
    this.paramGroups.forEach((group, index) => {
      this.#checkOptions(group as Options, `param group ${index}`);
      for (const param of group.params) {
        void param.storage; // a disposed parameter throws here
        const grad = param.grad;
        if (grad === null) continue;
        void grad.storage;
        if (grad.device !== param.device) {
          throw new DeviceError(`${this.#name}.step: a parameter on '${param.device}' has a grad on '${grad.device}'; they must be on one device`);
        }
        if (grad.dtype !== 'float32' || !sameShape(grad.shape, param.shape)) {
          throw new ShapeError(`${this.#name}.step: a parameter of shape ${formatShape(param.shape)} has a grad of shape ${formatShape(grad.shape)} (${grad.dtype})`);
        }
        work.push([param, grad, group]);
      }
    });
    for (const [param, grad, group] of work) {
      let state = this.state.get(param);
      if (!state) this.state.set(param, (state = {}));
      this.initializeState(param, state, group);
      // A non-contiguous grad is copied once; a contiguous one is read in place.
      const contiguousGrad = isContiguous(grad) ? grad : noGrad(() => grad.contiguous());
      try {
        this.update(param, contiguousGrad, state, group);
      } finally {
        if (contiguousGrad !== grad) contiguousGrad.dispose();
      }
      // In-place writes: saved tensors of the parameter (and state) are now stale, as after add_.
      param.storage.version++;
      for (const value of Object.values(state)) if (value instanceof Tensor) value.storage.version++;
    }
    return loss;
  }

  /**
   * Resets the gradients of every parameter: `setToNone` (the default, as in PyTorch 2) disposes and drops
   * them; otherwise they are filled with zeros.
   */
  zeroGrad(options: { setToNone?: boolean } = {}): void {
    const { setToNone = true } = options;
    if (typeof setToNone !== 'boolean') throw new ArgumentError(`${this.#name}.zeroGrad: setToNone must be a boolean, got ${describeValue(setToNone)}`);
    for (const group of this.paramGroups) {
      for (const param of group.params) {
        const grad = param.grad;
        if (grad === null) continue;
        if (setToNone || grad.requiresGrad) {
          // A parameter owns its grad (as dispose() of a leaf frees it), so dropping it frees it now.
          param.grad = null;
          grad.dispose();
          if (!setToNone) param.grad = keep(filledLike(param, 0));
        } else {
          noGrad(() => grad.zero_());
        }
      }
    }
  }

  /** Adds a group (options left out take the optimizer's defaults), checked like the constructor's. */
  addParamGroup(group: ParamGroupInput<Options>): void {
    const seen = new Set<Tensor>();
    for (const existing of this.paramGroups) for (const param of existing.params) seen.add(param);
    this.paramGroups.push(this.#prepareGroup(group, seen, `param group ${this.paramGroups.length}`));
  }

  /** PyTorch's layout with camelCase keys; state tensors are cloned (dispose them, or the dict, when done). */
  stateDict(): OptimizerStateDict {
    const indexOf = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((group) => {
      const entry: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(group)) {
        if (key !== 'params') entry[key] = Array.isArray(value) ? value.slice() : value;
      }
      entry.params = group.params.map((param) => {
        indexOf.set(param, indexOf.size);
        return indexOf.size - 1;
      });
      return entry as Record<string, unknown> & { params: number[] };
    });
    const state: Record<number, ParameterState> = {};
    for (const [param, values] of this.state) {
      const index = indexOf.get(param);
      if (index === undefined) continue;
      const entry: ParameterState = {};
      for (const [key, value] of Object.entries(values)) {
        if (value instanceof Tensor) entry[key] = noGrad(() => value.clone());
        else if (key === 'step' && this.stepIsTensor && typeof value === 'number') entry[key] = tensor(value);
        else entry[key] = value;
      }
      state[index] = entry;
    }
    return { state, paramGroups };
  }

  /**
   * Loads a stateDict(): group options (not their parameters) and state, copied. Group count and sizes must
   * match the optimizer's, state tensors the shape of their parameter; nothing changes when a check fails.
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const where = `${this.#name}.loadStateDict`;
    if (stateDict === null || typeof stateDict !== 'object' || !Array.isArray(stateDict.paramGroups) ||
      stateDict.state === null || typeof stateDict.state !== 'object') {
      throw new ArgumentError(`${where}: expected an object { state, paramGroups } as stateDict() returns, got ${describeValue(stateDict)}`);
    }
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new ArgumentError(`${where}: loaded state dict has a different number of parameter groups (${saved.length}, the optimizer has ${this.paramGroups.length})`);
    }
    const parameterAt = new Map<number, [Tensor, number]>();
    saved.forEach((group, groupIndex) => {
      if (group === null || typeof group !== 'object' || !Array.isArray(group.params)) {
        throw new ArgumentError(`${where}: paramGroups[${groupIndex}] must be an object with a params array of indices`);
      }
      const current = this.paramGroups[groupIndex];
      if (group.params.length !== current.params.length) {
        throw new ArgumentError(`${where}: loaded state dict contains a parameter group that doesn't match the size of optimizer's group ` +
          `(group ${groupIndex}: ${group.params.length} parameters saved, ${current.params.length} in the optimizer)`);
      }
      group.params.forEach((index, position) => {
        if (!Number.isInteger(index) || parameterAt.has(index)) {
          throw new ArgumentError(`${where}: paramGroups[${groupIndex}].params must hold distinct integer indices, got ${describeValue(index)}`);
        }
        parameterAt.set(index, [current.params[position], groupIndex]);
      });
      const options = { ...current, ...group } as unknown as Options;
      this.#checkOptions(options, `loaded paramGroups[${groupIndex}]`, where);
    });
    const known = new Set(this.stateKeys);
    const loaded: [Tensor, Record<string, Tensor | number | null>][] = [];
    for (const [key, values] of Object.entries(stateDict.state)) {
      const index = Number(key);
      const target = parameterAt.get(index);
      if (!target) throw new ArgumentError(`${where}: state for parameter index ${key}, which no parameter group lists`);
      const [param] = target;
      if (values === null || typeof values !== 'object') throw new ArgumentError(`${where}: state[${key}] must be an object, got ${describeValue(values)}`);
      for (const [name, value] of Object.entries(values)) {
        if (!known.has(name)) {
          throw new ArgumentError(`${where}: state[${key}] has an unknown entry '${name}' (${this.#name} keeps ${[...known].join(', ')})`);
        }
        if (value instanceof Tensor) {
          void value.storage;
          const isStep = name === 'step';
          if (isStep ? value.numel() !== 1 : !sameShape(value.shape, param.shape)) {
            throw new ShapeError(`${where}: state[${key}].${name} has shape ${formatShape(value.shape)}, expected ` +
              `${isStep ? 'one element' : formatShape(param.shape)} (the parameter's shape)`);
          }
          if (value.dtype === 'bool') throw new DtypeError(`${where}: state[${key}].${name} is a bool tensor, expected float32`);
          // State is copied to its parameter's device; reading a GPU tensor back is asynchronous, so that way is refused.
          if (value.device === 'webgpu' && (isStep || param.device !== 'webgpu')) {
            throw new DeviceError(`${where}: state[${key}].${name} is on 'webgpu' but ${isStep ? 'step counts are read on the CPU' : "its parameter is on 'cpu'"}; ` +
              "move the state dict's tensors with await t.toAsync('cpu') first");
          }
        } else if (name !== 'step') {
          // Buffers are read and written by the fused kernels through their address: a number has none.
          if (value !== null) throw new ArgumentError(`${where}: state[${key}].${name} must be a tensor of the parameter's shape or null, got ${describeValue(value)}`);
        } else if (!(value === null || (typeof value === 'number' && Number.isFinite(value)))) {
          throw new ArgumentError(`${where}: state[${key}].${name} must be a tensor, a number or null, got ${describeValue(value)}`);
        }
      }
      loaded.push([param, values]);
    }
    // Checked: now replace the state (copies, owned by the optimizer) and the group options.
    this.#disposeState();
    for (const [param, values] of loaded) {
      const entry: ParameterState = {};
      for (const [name, value] of Object.entries(values)) {
        if (name === 'step') entry[name] = value instanceof Tensor ? Number(value.item()) : value;
        else entry[name] = value instanceof Tensor ? keep(noGrad(() => copyTo(value, param))) : value;
      }
      this.state.set(param, entry);
    }
    saved.forEach((group, groupIndex) => {
      const current = this.paramGroups[groupIndex] as Record<string, unknown>;
      for (const key of Object.keys(current)) if (key !== 'params' && !(key in group)) delete current[key];
      for (const [key, value] of Object.entries(group)) {
        if (key !== 'params') current[key] = Array.isArray(value) ? value.slice() : value;
      }
    });
  }

  /** Frees the optimizer's state buffers (wasmtorch only: WebAssembly memory is not garbage-collected). */
  dispose(): void {
    this.#disposeState();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ------------------------------------------------------------------------------ checks

  #disposeState(): void {
    for (const values of this.state.values()) for (const value of Object.values(values)) if (value instanceof Tensor) value.dispose();
    this.state.clear();
  }

  #readDefaults(options: Partial<Options>): Partial<Options> {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new ArgumentError(`${this.#name}: options must be an object, got ${describeValue(options)}`);
    }
    const spec = this.#spec as Record<string, OptionSpec>;
    for (const key of Object.keys(options)) {
      if (!(key in spec)) throw new ArgumentError(`${this.#name}: unknown option '${key}'${this.#hint(key)}`);
    }
    const defaults: Record<string, unknown> = {};
    for (const [key, option] of Object.entries(spec)) {
      const value = (options as Record<string, unknown>)[key] ?? option.default;
      if (value !== undefined) defaults[key] = Array.isArray(value) ? value.slice() : value;
    }
    // Defaults are checked as PyTorch checks them, even when every group overrides them.
    this.#checkOptions(defaults as Options, 'options', this.#name, true);
    return defaults as Partial<Options>;
  }

  #hint(key: string): string {
    const spec = this.#spec as Record<string, OptionSpec>;
    const camel = snakeToCamel(key);
    if (camel !== key && camel in spec) return ` (did you mean '${camel}'? options are camelCased)`;
    return ` (${this.#name} takes ${Object.keys(spec).join(', ')})`;
  }

  /** Type and range checks of every option of a group (PyTorch's messages); missing required options included. */
  #checkOptions(options: Options, what: string, where = this.#name, allowMissing = false): void {
    for (const [key, option] of Object.entries(this.#spec as Record<string, OptionSpec>)) {
      const value = (options as Record<string, unknown>)[key];
      if (value === undefined) {
        if (allowMissing) continue;
        throw new ArgumentError(`${where}: ${what} didn't specify a value of required optimization parameter ${key}`);
      }
      const wrongKind = option.kind === 'number' ? typeof value !== 'number' || Number.isNaN(value)
        : option.kind === 'boolean' ? typeof value !== 'boolean'
          : !Array.isArray(value) || value.length !== 2 || value.some((item) => typeof item !== 'number');
      if (wrongKind) {
        const expected = option.kind === 'pair' ? 'an array of two numbers' : `a ${option.kind}`;
        throw new ArgumentError(`${where}: ${what}: ${key} must be ${expected}, got ${describeValue(value)}`);
      }
      const message = option.check?.(value as never);
      if (message) throw new ArgumentError(`${where}: ${message}`);
    }
    if (!allowMissing || Object.keys(this.#spec).every((key) => (options as Record<string, unknown>)[key] !== undefined)) {
      const message = this.crossCheck(options);
      if (message) throw new ArgumentError(`${where}: ${message}`);
    }
  }

  #prepareGroup(input: ParamGroupInput<Options>, seen: Set<Tensor>, what: string): ParamGroup<Options> {
    if (input === null || typeof input !== 'object' || input instanceof Tensor || !('params' in input)) {
      throw new ArgumentError(`${this.#name}: ${what} must be an object with params (a tensor or an iterable of tensors), got ${describeValue(input)}`);
    }
    const spec = this.#spec as Record<string, OptionSpec>;
    for (const key of Object.keys(input)) {
      const camel = snakeToCamel(key);
      if (camel !== key && (camel in spec || groupKeysOfOptimizer.has(camel))) {
        throw new ArgumentError(`${this.#name}: ${what} has option '${key}': did you mean '${camel}'? options are camelCased`);
      }
    }
    const raw = input.params;
    const params = raw instanceof Tensor ? [raw]
      : raw !== null && typeof raw === 'object' && Symbol.iterator in raw ? [...raw as Iterable<unknown>] : null;
    if (!params) throw new ArgumentError(`${this.#name}: ${what}: params must be a tensor or an iterable of tensors, got ${describeValue(raw)}`);
    const inGroup = new Set<Tensor>();
    params.forEach((param, index) => {
      const label = `${what}, parameter ${index}`;
      if (!(param instanceof Tensor)) {
        throw new ArgumentError(`${this.#name}: optimizer can only optimize Tensors, but ${label} is ${describeValue(param)}`);
      }
      void param.storage;
      if (!param.isLeaf) {
        throw new AutogradError(`${this.#name}: can't optimize a non-leaf Tensor (${label}, shape ${formatShape(param.shape)}); ` +
          'optimize the leaf it was computed from, or detach() it and set requiresGrad');
      }
      if (param.dtype !== 'float32') {
        throw new DtypeError(`${this.#name}: optimizers update float32 parameters only, but ${label} is ${param.dtype}`);
      }
      if (!isContiguous(param)) {
        throw new ShapeError(`${this.#name}: ${label} (shape ${formatShape(param.shape)}, strides ${formatShape(param.strides)}) is not contiguous; ` +
          'the fused updates write parameters in place: pass a contiguous leaf (x.contiguous().detach().requiresGrad_())');
      }
      if (inGroup.has(param)) throw new ArgumentError(`${this.#name}: ${what} contains the same parameter twice (parameter ${index})`);
      if (seen.has(param)) throw new ArgumentError(`${this.#name}: some parameters appear in more than one parameter group (${label})`);
      inGroup.add(param);
    });
    const group: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(input)) {
      if (key !== 'params') group[key] = Array.isArray(value) ? value.slice() : value;
    }
    for (const [key, value] of Object.entries(this.defaults)) {
      if (group[key] === undefined) group[key] = Array.isArray(value) ? value.slice() : value;
    }
    this.#checkOptions(group as Options, what);
    for (const param of inGroup) seen.add(param);
    group.params = params as Tensor[];
    return group as ParamGroup<Options>;
  }
}
