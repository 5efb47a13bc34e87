// torch.optim.lr_scheduler: StepLR, CosineAnnealingLR, LambdaLR, computing PyTorch 1.13's values step by step (recursive forms included).
import { ArgumentError } from '../errors.js';
import { describeValue } from '../ops/support.js';
import { Optimizer } from './optimizer.js';

type AnyOptimizer = Optimizer<{ lr: number }>;

/** PyTorch's `%`: the result takes the divisor's sign (JavaScript's takes the dividend's). */
function pythonModulo(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor;
}

export interface SchedulerStateDict {
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
  stepCount: number;
  [extra: string]: unknown;
}

/**
 * The base of the schedulers (PyTorch's _LRScheduler): the constructor records each group's `initialLr` and takes
 * the first step (lastEpoch -1 → 0), each step() writes the new rates into the optimizer's groups.
 */
export abstract class LRScheduler {
  readonly optimizer: AnyOptimizer;
  /** The base rates: each group's `initialLr`. */
  baseLrs: number[];
  /** The epoch of the last step(), -1 before the first. */
  lastEpoch: number;
  protected stepCount = 0;
  #lastLr: number[] = [];
  protected readonly name: string;

  protected constructor(name: string, optimizer: AnyOptimizer, lastEpoch: number) {
    this.name = name;
    if (!(optimizer instanceof Optimizer)) throw new ArgumentError(`${name}: ${describeValue(optimizer)} is not an Optimizer`);
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) throw new ArgumentError(`${name}: lastEpoch must be an integer >= -1, got ${describeValue(lastEpoch)}`);
    if (lastEpoch === -1) {
      for (const group of optimizer.paramGroups) group.initialLr ??= group.lr;
    } else {
      optimizer.paramGroups.forEach((group, index) => {
        if (group.initialLr === undefined) {
          throw new ArgumentError(`${name}: param 'initialLr' is not specified in paramGroups[${index}] when resuming an optimizer`);
        }
      });
    }
    this.optimizer = optimizer;
    this.baseLrs = optimizer.paramGroups.map((group) => group.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** The constructor's first step: subclasses call it once their own fields are set. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The rates for `lastEpoch` (already advanced), from the groups' current rates as PyTorch's get_lr(). */
  protected abstract computeLr(): number[];

  /** Advances one epoch and writes the new rates into the optimizer's groups. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    let values: number[];
    try {
      values = this.computeLr();
    } catch (error) {
      // A throwing lrLambda leaves the scheduler where it was.
      this.stepCount--;
      this.lastEpoch--;
      throw error;
    }
    // PyTorch zips the rates with the groups: a group added after the scheduler, which has no base rate,
    // keeps its own rate when a rule only covers the groups it knows.
    this.optimizer.paramGroups.forEach((group, index) => { if (index < values.length) group.lr = values[index]; });
    this.#lastLr = this.optimizer.paramGroups.map((group) => group.lr);
  }

  /** The rates the last step() set, one per group. */
  getLastLr(): number[] {
    return this.#lastLr.slice();
  }

  protected currentLrs(): number[] {
    return this.optimizer.paramGroups.map((group) => group.lr);
  }

  /** Everything but the optimizer (and functions), as PyTorch's state_dict(). */
  stateDict(): SchedulerStateDict {
    return { ...this.extraState(), lastEpoch: this.lastEpoch, baseLrs: this.baseLrs.slice(), lastLr: this.#lastLr.slice(), stepCount: this.stepCount };
  }

  loadStateDict(stateDict: SchedulerStateDict): void {
    const where = `${this.name}.loadStateDict`;
    if (stateDict === null || typeof stateDict !== 'object') throw new ArgumentError(`${where}: expected an object as stateDict() returns, got ${describeValue(stateDict)}`);
    const groups = this.optimizer.paramGroups.length;
    const numbers = (value: unknown, key: string): number[] => {
      if (!Array.isArray(value) || value.length !== groups || value.some((item) => typeof item !== 'number')) {
        throw new ArgumentError(`${where}: ${key} must be an array of ${groups} numbers (one per parameter group), got ${describeValue(value)}`);
      }
      return value.slice();
    };
    const integer = (value: unknown, key: string): number => {
      if (!Number.isInteger(value)) throw new ArgumentError(`${where}: ${key} must be an integer, got ${describeValue(value)}`);
      return value as number;
    };
    const lastEpoch = integer(stateDict.lastEpoch, 'lastEpoch'), stepCount = integer(stateDict.stepCount, 'stepCount');
    const baseLrs = numbers(stateDict.baseLrs, 'baseLrs'), lastLr = numbers(stateDict.lastLr, 'lastLr');
    this.checkExtraState(stateDict, where);
    this.lastEpoch = lastEpoch;
    this.stepCount = stepCount;
    this.baseLrs = baseLrs;
    this.#lastLr = lastLr;
    this.loadExtraState(stateDict);
  }

  protected extraState(): Record<string, unknown> {
    return {};
  }
  protected checkExtraState(_stateDict: SchedulerStateDict, _where: string): void {}
  protected loadExtraState(_stateDict: SchedulerStateDict): void {}
}

function checkNumber(value: unknown, name: string, where: string, test: (n: number) => boolean, expected: string): number {
  if (typeof value !== 'number' || !test(value)) throw new ArgumentError(`${where}: ${name} must be ${expected}, got ${describeValue(value)}`);
  return value;
}

/** Multiplies each group's rate by gamma every stepSize epochs. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: { stepSize: number; gamma?: number; lastEpoch?: number }) {
    const { stepSize, gamma = 0.1, lastEpoch = -1 } = options ?? ({} as never);
    checkNumber(stepSize, 'stepSize', 'StepLR', (n) => Number.isInteger(n) && n > 0, 'a positive integer');
    checkNumber(gamma, 'gamma', 'StepLR', Number.isFinite, 'a finite number');
    super('StepLR', optimizer, lastEpoch);
    this.stepSize = stepSize;
    this.gamma = gamma;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const lrs = this.currentLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }

  protected override extraState(): Record<string, unknown> {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }
  protected override checkExtraState(stateDict: SchedulerStateDict, where: string): void {
    checkNumber(stateDict.stepSize, 'stepSize', where, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
    checkNumber(stateDict.gamma, 'gamma', where, Number.isFinite, 'a finite number');
  }
  protected override loadExtraState(stateDict: SchedulerStateDict): void {
    this.stepSize = stateDict.stepSize as number;
    this.gamma = stateDict.gamma as number;
  }
}

/**
 * Cosine annealing from each base rate to etaMin over TMax epochs, in PyTorch's recursive form (each rate is
 * derived from the group's current one), so the values match PyTorch step by step and follow manual changes.
 */
export class CosineAnnealingLR extends LRScheduler {
  TMax: number;
  etaMin: number;

  constructor(optimizer: AnyOptimizer, options: { TMax: number; etaMin?: number; lastEpoch?: number }) {
    const { TMax, etaMin = 0, lastEpoch = -1 } = options ?? ({} as never);
    checkNumber(TMax, 'TMax', 'CosineAnnealingLR', (n) => Number.isInteger(n) && n > 0, 'a positive integer');
    checkNumber(etaMin, 'etaMin', 'CosineAnnealingLR', Number.isFinite, 'a finite number');
    super('CosineAnnealingLR', optimizer, lastEpoch);
    this.TMax = TMax;
    this.etaMin = etaMin;
    this.initialStep();
  }

  protected computeLr(): number[] {
    const { lastEpoch, TMax, etaMin } = this;
    const lrs = this.currentLrs();
    if (lastEpoch === 0) return lrs;
    if (this.stepCount === 1 && lastEpoch > 0) {
      return this.baseLrs.map((base) => etaMin + (base - etaMin) * (1 + Math.cos((lastEpoch * Math.PI) / TMax)) / 2);
    }
    if (pythonModulo(lastEpoch - 1 - TMax, 2 * TMax) === 0) {
      return this.baseLrs.slice(0, lrs.length).map((base, index) => lrs[index] + (base - etaMin) * (1 - Math.cos(Math.PI / TMax)) / 2);
    }
    return lrs.map((lr) => (1 + Math.cos((Math.PI * lastEpoch) / TMax)) / (1 + Math.cos((Math.PI * (lastEpoch - 1)) / TMax)) * (lr - etaMin) + etaMin);
  }

  protected override extraState(): Record<string, unknown> {
    return { TMax: this.TMax, etaMin: this.etaMin };
  }
  protected override checkExtraState(stateDict: SchedulerStateDict, where: string): void {
    checkNumber(stateDict.TMax, 'TMax', where, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
    checkNumber(stateDict.etaMin, 'etaMin', where, Number.isFinite, 'a finite number');
  }
  protected override loadExtraState(stateDict: SchedulerStateDict): void {
    this.TMax = stateDict.TMax as number;
    this.etaMin = stateDict.etaMin as number;
  }
}

export type LrLambda = (epoch: number) => number;

/** Each group's rate is its base rate times lrLambda(epoch) (one function for all groups, or one per group). */
export class LambdaLR extends LRScheduler {
  readonly lrLambdas: LrLambda[];

  constructor(optimizer: AnyOptimizer, lrLambda: LrLambda | LrLambda[], options: { lastEpoch?: number } = {}) {
    const groups = optimizer instanceof Optimizer ? optimizer.paramGroups.length : 0;
    const lambdas = Array.isArray(lrLambda) ? lrLambda.slice() : new Array<LrLambda>(groups).fill(lrLambda);
    if (Array.isArray(lrLambda) && lrLambda.length !== groups) throw new ArgumentError(`LambdaLR: Expected ${groups} lrLambdas, but got ${lrLambda.length}`);
    lambdas.forEach((fn, index) => {
      if (typeof fn !== 'function') throw new ArgumentError(`LambdaLR: lrLambda ${index} must be a function of the epoch, got ${describeValue(fn)}`);
    });
    super('LambdaLR', optimizer, options.lastEpoch ?? -1);
    this.lrLambdas = lambdas;
    this.initialStep();
  }

  protected computeLr(): number[] {
    return this.baseLrs.map((base, index) => {
      const factor = this.lrLambdas[index](this.lastEpoch);
      if (typeof factor !== 'number') throw new ArgumentError(`LambdaLR: lrLambda ${index} returned ${describeValue(factor)} for epoch ${this.lastEpoch}, expected a number`);
      return base * factor;
    });
  }
}
