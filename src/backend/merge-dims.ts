// Dim merging shared by both devices' strided kernels: the CPU descriptor and the WebGPU parameter block.

/**
 * Drops size-1 dims and merges neighbouring dims that are contiguous in every operand, so kernels see the
 * fewest dims and the longest rows possible. An all-size-1 shape merges to no dims at all.
 */
export function mergeDims(shape: readonly number[], operandStrides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const keptShape: number[] = [];
  const keptStrides: number[][] = operandStrides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = keptShape.length - 1;
    if (last >= 0 && operandStrides.every((strides, k) => keptStrides[k][last] === strides[d] * shape[d])) {
      keptShape[last] *= shape[d];
      for (let k = 0; k < operandStrides.length; k++) keptStrides[k][last] = operandStrides[k][d];
      continue;
    }
    keptShape.push(shape[d]);
    for (let k = 0; k < operandStrides.length; k++) keptStrides[k].push(operandStrides[k][d]);
  }
  return { shape: keptShape, strides: keptStrides };
}
