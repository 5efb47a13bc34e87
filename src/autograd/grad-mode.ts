// Grad mode: whether ops record the graph (torch.noGrad, enableGrad, setGradEnabled).
import { ArgumentError } from '../errors.js';

let enabled = true;

export function isGradEnabled(): boolean {
  return enabled;
}

export function setGradEnabled(mode: boolean): void {
  if (typeof mode !== 'boolean') throw new ArgumentError(`setGradEnabled expects a boolean, got ${typeof mode}`);
  enabled = mode;
}

/** Runs fn with grad mode set to `mode`, restoring the previous mode afterwards (also for async fn, once it settles). */
export function withGradMode<T>(mode: boolean, fn: () => T): T {
  if (typeof fn !== 'function') throw new ArgumentError(`expected a function, got ${typeof fn}`);
  const previous = enabled;
  enabled = mode;
  try {
    return fn();
  } finally {
    enabled = previous;
  }
}

/** torch.no_grad(): ops inside do not record the graph. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** torch.enable_grad(): ops inside record the graph even within noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
