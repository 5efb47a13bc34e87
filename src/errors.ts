// The error classes wasmtorch throws: each names what was wrong and what was expected.

/** Base class: catch this to catch every wasmtorch error. */
export class TorchError extends Error {
  override name = 'TorchError';
}
/** Shapes that do not fit together (broadcasting, matmul, views, cat). */
export class ShapeError extends TorchError {
  override name = 'ShapeError';
}
/** A dim or index outside its valid range. */
export class IndexError extends TorchError {
  override name = 'IndexError';
}
/** A dtype an op cannot take, or a result that cannot be cast to the output's dtype. */
export class DtypeError extends TorchError {
  override name = 'DtypeError';
}
/** An argument of the wrong kind or value (not a shape, not an integer, negative size...). */
export class ArgumentError extends TorchError {
  override name = 'ArgumentError';
}
/** A tensor used after dispose(). */
export class DisposedError extends TorchError {
  override name = 'DisposedError';
}
/** The WebAssembly memory cannot grow to hold a new tensor. */
export class OutOfMemoryError extends TorchError {
  override name = 'OutOfMemoryError';
}
/** Tensors on different devices in one op, or a synchronous read of a device that is only read asynchronously. */
export class DeviceError extends TorchError {
  override name = 'DeviceError';
}
