// wasmtorch: PyTorch's programming model for JavaScript.
export const version = '0.1.0';
