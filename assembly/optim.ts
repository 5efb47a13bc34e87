// Fused optimizer updates (SGD, Adam/AdamW, RMSprop, Adagrad): one pass over [begin, end) updates the parameter and its state in place.
//
// Each kernel follows PyTorch 1.13's single-tensor algorithm operation by operation, rounding to float32
// after every operation as PyTorch's eager ops do. PyTorch's CPU kernels fuse `a + alpha * b` (add_ with
// alpha, addcmul_) into one FMA; the relaxed-SIMD build does too (relaxed_madd), and then matches PyTorch's
// trajectories bit for bit; the plain SIMD build rounds twice (a few ulps apart). Vector and tail
// elements go through the same vector function, so results do not depend on alignment or on how a tensor
// is split across threads. Flags are bit masks; the scalars arrive already rounded to float32, as PyTorch
// rounds its Python-float hyperparameters when it passes them to a float32 kernel.

import { madd } from './simd';

// Flag bits shared by the kernels: mirrored in src/optim/optimizer.ts (UpdateFlag).
const MAXIMIZE = 1, WEIGHT_DECAY = 2, MOMENTUM = 4, NESTEROV = 8, FIRST_STEP = 16, DECOUPLED_DECAY = 32, AMSGRAD = 64, CENTERED = 128;

/** Loads 4 lanes, or 1 lane (the others zero) for tail elements, so one vector body serves both. */
@inline function loadLanes(address: usize, full: bool): v128 {
  return full ? v128.load(address) : f32x4.splat(load<f32>(address));
}

@inline function storeLanes(address: usize, value: v128, full: bool): void {
  if (full) v128.store(address, value);
  else store<f32>(address, f32x4.extract_lane(value, 0));
}

/** The gradient PyTorch's step starts from: negated when maximizing, plus weightDecay * param (L2). */
@inline function effectiveGradient(grad: v128, param: v128, weightDecay: v128, flags: i32): v128 {
  let g = (flags & MAXIMIZE) ? f32x4.neg(grad) : grad;
  if (flags & WEIGHT_DECAY) g = madd(weightDecay, param, g);
  return g;
}

@inline function sgdLanes(param: usize, grad: usize, buffer: usize, lr: v128, momentum: v128, dampeningComplement: v128,
  weightDecay: v128, flags: i32, full: bool): void {
  const p = loadLanes(param, full);
  let d = effectiveGradient(loadLanes(grad, full), p, weightDecay, flags);
  if (flags & MOMENTUM) {
    // buf = clone(d) on the first step, else buf * momentum + (1 - dampening) * d.
    const b = (flags & FIRST_STEP) ? d : madd(dampeningComplement, d, f32x4.mul(loadLanes(buffer, full), momentum));
    storeLanes(buffer, b, full);
    d = (flags & NESTEROV) ? madd(momentum, b, d) : b;
  }
  storeLanes(param, madd(lr, d, p), full);
}

/**
 * SGD: param += negativeLr * d, where d is the (maximized, weight-decayed) gradient, through the momentum
 * buffer when MOMENTUM is set (FIRST_STEP: the buffer takes d itself), Nesterov's look-ahead when NESTEROV.
 */
export function sgd_f32(param: usize, grad: usize, buffer: usize, negativeLr: f32, momentum: f32, dampeningComplement: f32,
  weightDecay: f32, flags: i32, begin: i32, end: i32): void {
  const lr = f32x4.splat(negativeLr), mom = f32x4.splat(momentum), damp = f32x4.splat(dampeningComplement), decay = f32x4.splat(weightDecay);
  let i = begin;
  for (; i + 4 <= end; i += 4) {
    const at = <usize>i << 2;
    sgdLanes(param + at, grad + at, buffer + at, lr, mom, damp, decay, flags, true);
  }
  for (; i < end; i++) {
    const at = <usize>i << 2;
    sgdLanes(param + at, grad + at, buffer + at, lr, mom, damp, decay, flags, false);
  }
}

@inline function adamLanes(param: usize, grad: usize, expAvg: usize, expAvgSq: usize, maxExpAvgSq: usize,
  beta1: v128, oneMinusBeta1: v128, beta2: v128, oneMinusBeta2: v128, weightDecay: v128, decayScale: v128,
  negativeStepSize: v128, biasCorrection2Sqrt: v128, eps: v128, flags: i32, full: bool): void {
  let p = loadLanes(param, full);
  const g = effectiveGradient(loadLanes(grad, full), p, weightDecay, flags);
  // AdamW: param.mul_(1 - lr * weightDecay) before the moments (the gradient does not see it).
  if (flags & DECOUPLED_DECAY) p = f32x4.mul(p, decayScale);
  const m = madd(oneMinusBeta1, g, f32x4.mul(loadLanes(expAvg, full), beta1));
  const v = madd(f32x4.mul(oneMinusBeta2, g), g, f32x4.mul(loadLanes(expAvgSq, full), beta2));
  storeLanes(expAvg, m, full);
  storeLanes(expAvgSq, v, full);
  let second = v;
  if (flags & AMSGRAD) {
    second = f32x4.max(loadLanes(maxExpAvgSq, full), v);
    storeLanes(maxExpAvgSq, second, full);
  }
  // denom = sqrt(v) / sqrt(bias_correction2) + eps; param.addcdiv_(m, denom, value=-step_size).
  const denom = f32x4.add(f32x4.div(f32x4.sqrt(second), biasCorrection2Sqrt), eps);
  storeLanes(param, f32x4.add(p, f32x4.div(f32x4.mul(negativeStepSize, m), denom)), full);
}

/**
 * Adam and AdamW (DECOUPLED_DECAY: param *= decayScale first), with AMSGRAD's running maximum in
 * maxExpAvgSq. negativeStepSize is -lr / (1 - beta1^step), computed by the caller in float64 as PyTorch does.
 */
export function adam_f32(param: usize, grad: usize, expAvg: usize, expAvgSq: usize, maxExpAvgSq: usize,
  beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, weightDecay: f32, decayScale: f32,
  negativeStepSize: f32, biasCorrection2Sqrt: f32, eps: f32, flags: i32, begin: i32, end: i32): void {
  const b1 = f32x4.splat(beta1), c1 = f32x4.splat(oneMinusBeta1), b2 = f32x4.splat(beta2), c2 = f32x4.splat(oneMinusBeta2);
  const decay = f32x4.splat(weightDecay), scale = f32x4.splat(decayScale), stepSize = f32x4.splat(negativeStepSize);
  const correction = f32x4.splat(biasCorrection2Sqrt), epsilon = f32x4.splat(eps);
  let i = begin;
  for (; i + 4 <= end; i += 4) {
    const at = <usize>i << 2;
    adamLanes(param + at, grad + at, expAvg + at, expAvgSq + at, maxExpAvgSq + at, b1, c1, b2, c2, decay, scale, stepSize, correction, epsilon, flags, true);
  }
  for (; i < end; i++) {
    const at = <usize>i << 2;
    adamLanes(param + at, grad + at, expAvg + at, expAvgSq + at, maxExpAvgSq + at, b1, c1, b2, c2, decay, scale, stepSize, correction, epsilon, flags, false);
  }
}

@inline function rmspropLanes(param: usize, grad: usize, squareAvg: usize, gradAvg: usize, buffer: usize,
  alpha: v128, oneMinusAlpha: v128, eps: v128, weightDecay: v128, momentum: v128, negativeLr: v128, flags: i32, full: bool): void {
  const p = loadLanes(param, full);
  const g = effectiveGradient(loadLanes(grad, full), p, weightDecay, flags);
  const square = madd(f32x4.mul(oneMinusAlpha, g), g, f32x4.mul(loadLanes(squareAvg, full), alpha));
  storeLanes(squareAvg, square, full);
  let average: v128;
  if (flags & CENTERED) {
    const mean = madd(oneMinusAlpha, g, f32x4.mul(loadLanes(gradAvg, full), alpha));
    storeLanes(gradAvg, mean, full);
    // square_avg.addcmul(grad_avg, grad_avg, value=-1): (-1 * mean) * mean + square.
    average = f32x4.sqrt(madd(f32x4.neg(mean), mean, square));
  } else {
    average = f32x4.sqrt(square);
  }
  average = f32x4.add(average, eps);
  if (flags & MOMENTUM) {
    const b = f32x4.add(f32x4.mul(loadLanes(buffer, full), momentum), f32x4.div(g, average));
    storeLanes(buffer, b, full);
    storeLanes(param, madd(negativeLr, b, p), full);
  } else {
    storeLanes(param, f32x4.add(p, f32x4.div(f32x4.mul(negativeLr, g), average)), full);
  }
}

/** RMSprop, CENTERED (gradAvg) and MOMENTUM (buffer) as options; unused state pointers are never touched. */
export function rmsprop_f32(param: usize, grad: usize, squareAvg: usize, gradAvg: usize, buffer: usize,
  alpha: f32, oneMinusAlpha: f32, eps: f32, weightDecay: f32, momentum: f32, negativeLr: f32, flags: i32, begin: i32, end: i32): void {
  const a = f32x4.splat(alpha), c = f32x4.splat(oneMinusAlpha), epsilon = f32x4.splat(eps), decay = f32x4.splat(weightDecay);
  const mom = f32x4.splat(momentum), lr = f32x4.splat(negativeLr);
  let i = begin;
  for (; i + 4 <= end; i += 4) {
    const at = <usize>i << 2;
    rmspropLanes(param + at, grad + at, squareAvg + at, gradAvg + at, buffer + at, a, c, epsilon, decay, mom, lr, flags, true);
  }
  for (; i < end; i++) {
    const at = <usize>i << 2;
    rmspropLanes(param + at, grad + at, squareAvg + at, gradAvg + at, buffer + at, a, c, epsilon, decay, mom, lr, flags, false);
  }
}

@inline function adagradLanes(param: usize, grad: usize, sum: usize, weightDecay: v128, negativeClr: v128, eps: v128, flags: i32, full: bool): void {
  const p = loadLanes(param, full);
  const g = effectiveGradient(loadLanes(grad, full), p, weightDecay, flags);
  const total = madd(g, g, loadLanes(sum, full));
  storeLanes(sum, total, full);
  const std = f32x4.add(f32x4.sqrt(total), eps);
  storeLanes(param, f32x4.add(p, f32x4.div(f32x4.mul(negativeClr, g), std)), full);
}

/** Adagrad: sum += g*g; param += (-clr * g) / (sqrt(sum) + eps), clr = lr / (1 + (step - 1) * lrDecay) from the caller. */
export function adagrad_f32(param: usize, grad: usize, sum: usize, weightDecay: f32, negativeClr: f32, eps: f32, flags: i32, begin: i32, end: i32): void {
  const decay = f32x4.splat(weightDecay), clr = f32x4.splat(negativeClr), epsilon = f32x4.splat(eps);
  let i = begin;
  for (; i + 4 <= end; i += 4) {
    const at = <usize>i << 2;
    adagradLanes(param + at, grad + at, sum + at, decay, clr, epsilon, flags, true);
  }
  for (; i < end; i++) {
    const at = <usize>i << 2;
    adagradLanes(param + at, grad + at, sum + at, decay, clr, epsilon, flags, false);
  }
}
