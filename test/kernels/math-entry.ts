// Test-only AssemblyScript entry: loops the inlined f32x4 helpers of assembly/math.ts over arrays so tests can call them.
import { cos4, erf4, exp4, log4, pow4, sigmoid4, sin4, tanh4 } from '../../assembly/math';

// n must be a multiple of 4 (tests pad); op numbers are the test's table: exp, log, tanh, sigmoid, sin, cos, erf.
export function math_unary(op: i32, out: usize, x: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const p = <usize>i << 2;
    const v = v128.load(x + p);
    let r: v128;
    switch (op) {
      case 0: r = exp4(v); break;
      case 1: r = log4(v); break;
      case 2: r = tanh4(v); break;
      case 3: r = sigmoid4(v); break;
      case 4: r = sin4(v); break;
      case 5: r = cos4(v); break;
      default: r = erf4(v); break;
    }
    v128.store(out + p, r);
  }
}

export function math_pow(out: usize, x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i += 4) {
    const p = <usize>i << 2;
    v128.store(out + p, pow4(v128.load(x + p), v128.load(y + p)));
  }
}
