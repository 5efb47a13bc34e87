// The kernel module's entry: every export here is a kernel with a numbers-only ABI (pointers, sizes, begin/end).
export * from './elementwise';
export * from './reduce';
export * from './indexing';
export * from './random';
export * from './matmul';
export * from './optim';
export * from './convolution';
export * from './winograd';
export * from './pooling';
