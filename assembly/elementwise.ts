// Placeholder elementwise kernel (replaced shortly).
export function fill_f32(out: usize, value: f32, begin: i32, end: i32): void {
  for (let i = begin; i < end; i++) store<f32>(out + (<usize>i << 2), value);
}
