// Reads the descriptors the runtime writes for kernels (word by word, or as strided shapes) and finds where each row starts.
//
// Layout (i32 words at `desc`): rank r, shape[r], then r strides (in elements) for each operand in turn.
// The runtime collapses mergeable dims first, so rank is small and the innermost dim is long where it can be.

/** Word `index` of a descriptor (each kernel file documents its own layout). */
@inline export function word(desc: usize, index: i32): i32 {
  return load<i32>(desc + (<usize>index << 2));
}

/** The address of float32 or int32 element `index` of an array at `base`. */
@inline export function at(base: usize, index: i32): usize {
  return base + (<usize>index << 2);
}

@inline export function rankOf(desc: usize): i32 {
  return load<i32>(desc);
}

@inline export function dimSize(desc: usize, d: i32): i32 {
  return load<i32>(desc + ((<usize>(1 + d)) << 2));
}

@inline export function strideOf(desc: usize, operand: i32, d: i32): i32 {
  const rank = load<i32>(desc);
  return load<i32>(desc + ((<usize>(1 + rank + operand * rank + d)) << 2));
}

/** Element offset of operand's row `row` (all dims but the innermost), found by div/mod so any [begin, end) split works. */
export function rowOffset(desc: usize, operand: i32, row: i32): i32 {
  const rank = load<i32>(desc);
  let offset = 0;
  for (let d = rank - 2; d >= 0; d--) {
    const size = dimSize(desc, d);
    offset += (row % size) * strideOf(desc, operand, d);
    row /= size;
  }
  return offset;
}

@inline export function byteAt(base: usize, elementOffset: i32, shift: i32): usize {
  return base + ((<usize>elementOffset) << shift);
}
