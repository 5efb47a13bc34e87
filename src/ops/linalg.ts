// Matrix products: mm, bmm and matmul's 1-D/2-D/batched rules, on the packed GEMM kernel (CPU) or the tiled WGSL GEMM (webgpu); transposes are read in place.
import { wasm } from '../backend/wasm/device.js';
import * as gpu from '../backend/webgpu/matmul.js';
import { torchName } from '../dtype.js';
import { ArgumentError, DtypeError, ShapeError } from '../errors.js';
import { Tensor } from '../tensor.js';
import { fill_ } from './elementwise.js';
import { reshape, squeeze, unsqueeze } from './shape.js';
import { record } from '../autograd/engine.js';
import { derivatives } from '../autograd/derivatives.js';
import { addressOf, broadcastShapes, describeValue, emptyTensor, formatShape, numelOf, sameDevice } from './support.js';

function checkMatrixOperand(x: unknown, where: string, name: string): Tensor {
  if (!(x instanceof Tensor)) throw new ArgumentError(`${where}: ${name} must be a tensor, got ${describeValue(x)}`);
  void x.storage;
  if (x.dtype !== 'float32') throw new DtypeError(`${where}: expected float32 tensors, got ${torchName(x.dtype)} for ${name}; convert with .float()`);
  return x;
}

/** C[m,n] = A[m,k] B[k,n] for matrices given by address and strides (the runtime shares it among threads, same bits for any count). */
function gemm(m: number, n: number, k: number, a: number, aRow: number, aCol: number, b: number, bRow: number, bCol: number, c: number, cRow: number): void {
  wasm.gemm(m, n, k, a, aRow, aCol, b, bRow, bCol, c, cRow);
}

export function mm(a: unknown, b: unknown): Tensor {
  const left = checkMatrixOperand(a, 'mm', 'input'), right = checkMatrixOperand(b, 'mm', 'mat2');
  if (left.dim() !== 2) throw new ShapeError(`mm: self must be a matrix, got a ${left.dim()}-D tensor of shape ${formatShape(left.shape)}`);
  if (right.dim() !== 2) throw new ShapeError(`mm: mat2 must be a matrix, got a ${right.dim()}-D tensor of shape ${formatShape(right.shape)}`);
  const [m, k] = left.shape, [k2, n] = right.shape;
  if (k !== k2) throw new ShapeError(`mat1 and mat2 shapes cannot be multiplied (${m}x${k} and ${k2}x${n})`);
  const device = sameDevice('mm', left, right);
  const out = emptyTensor([m, n], 'float32', device);
  if (device === 'webgpu') gpu.matmul(out, left, right);
  else if (k === 0) fill_(out, 0);
  else if (m > 0 && n > 0) gemm(m, n, k, addressOf(left), left.strides[0], left.strides[1], addressOf(right), right.strides[0], right.strides[1], addressOf(out), n);
  record('MmBackward0', [left, right], [out], () => derivatives.matmul(left.shape, right.shape), () => [left, right]);
  return out;
}

/** Batched product of [..., m, k] and [..., k, n] with broadcast batch dims (operands at least 2-D). */
function batchedProduct(left: Tensor, right: Tensor, where: string): Tensor {
  const m = left.shape[left.dim() - 2], k = left.shape[left.dim() - 1];
  const k2 = right.shape[right.dim() - 2], n = right.shape[right.dim() - 1];
  if (k !== k2) {
    throw new ShapeError(`${where}: shapes ${formatShape(left.shape)} and ${formatShape(right.shape)} cannot be multiplied (${m}x${k} and ${k2}x${n})`);
  }
  const leftBatch = left.shape.slice(0, -2), rightBatch = right.shape.slice(0, -2);
  const batch = broadcastShapes(leftBatch, rightBatch);
  const device = sameDevice(where, left, right);
  const out = emptyTensor([...batch, m, n], 'float32', device);
  record(where === 'bmm' ? 'BmmBackward0' : 'MatmulBackward0', [left, right], [out], () => derivatives.matmul(left.shape, right.shape), () => [left, right]);
  // One dispatch walks the whole (broadcast) batch; k = 0 writes zeros there too.
  if (device === 'webgpu') { gpu.matmul(out, left, right); return out; }
  const batches = numelOf(batch);
  if (k === 0) { fill_(out, 0); return out; }
  if (batches === 0 || m === 0 || n === 0) return out;
  const batchOffset = (tensor: Tensor, tensorBatch: readonly number[], flat: number) => {
    let offset = 0;
    for (let d = batch.length - 1, rest = flat; d >= 0; d--) {
      const coordinate = rest % batch[d];
      rest = Math.floor(rest / batch[d]);
      const own = d - (batch.length - tensorBatch.length);
      if (own >= 0 && tensorBatch[own] !== 1) offset += coordinate * tensor.strides[own];
    }
    return offset;
  };
  const la = left.dim(), ra = right.dim();
  for (let index = 0; index < batches; index++) {
    gemm(m, n, k,
      addressOf(left) + 4 * batchOffset(left, leftBatch, index), left.strides[la - 2], left.strides[la - 1],
      addressOf(right) + 4 * batchOffset(right, rightBatch, index), right.strides[ra - 2], right.strides[ra - 1],
      addressOf(out) + 4 * index * m * n, n);
  }
  return out;
}

export function bmm(a: unknown, b: unknown): Tensor {
  const left = checkMatrixOperand(a, 'bmm', 'input'), right = checkMatrixOperand(b, 'bmm', 'mat2');
  if (left.dim() !== 3) throw new ShapeError(`batch1 must be a 3D tensor, got shape ${formatShape(left.shape)}`);
  if (right.dim() !== 3) throw new ShapeError(`batch2 must be a 3D tensor, got shape ${formatShape(right.shape)}`);
  if (left.shape[0] !== right.shape[0]) {
    throw new ShapeError(`batch1 and batch2 must have same number of batches, got ${left.shape[0]} and ${right.shape[0]}`);
  }
  return batchedProduct(left, right, 'bmm');
}

/** torch.matmul: dot, matrix-vector, vector-matrix, mm, and batched products with broadcasting. */
export function matmul(a: unknown, b: unknown): Tensor {
  const left = checkMatrixOperand(a, 'matmul', 'input'), right = checkMatrixOperand(b, 'matmul', 'other');
  if (left.dim() === 0 || right.dim() === 0) {
    throw new ShapeError(`both arguments to matmul need to be at least 1D, but they are ${left.dim()}D and ${right.dim()}D`);
  }
  if (left.dim() === 1 && right.dim() === 1) {
    if (left.shape[0] !== right.shape[0]) {
      throw new ShapeError(`inconsistent tensor size, expected tensor [${left.shape[0]}] and src [${right.shape[0]}] to have the same number of elements, but got ${left.shape[0]} and ${right.shape[0]} elements respectively`);
    }
  }
  if (left.dim() <= 2 && right.dim() <= 2) {
    const matrixLeft = left.dim() === 1 ? unsqueeze(left, 0) : left;
    const matrixRight = right.dim() === 1 ? unsqueeze(right, 1) : right;
    if (matrixLeft.shape[1] !== matrixRight.shape[0]) {
      for (const t of [matrixLeft, matrixRight]) if (t !== left && t !== right) t.dispose();
      throw new ShapeError(`mat1 and mat2 shapes cannot be multiplied (${matrixLeft.shape[0]}x${matrixLeft.shape[1]} and ${matrixRight.shape[0]}x${matrixRight.shape[1]})`);
    }
    const product = mm(matrixLeft, matrixRight);
    if (matrixLeft !== left) matrixLeft.dispose();
    if (matrixRight !== right) matrixRight.dispose();
    if (left.dim() === 2 && right.dim() === 2) return product;
    const shape = left.dim() === 1 && right.dim() === 1 ? [] : left.dim() === 1 ? [product.shape[1]] : [product.shape[0]];
    const result = reshape(product, [shape]);
    product.dispose();
    return result;
  }
  // Batched: vectors become matrices, and the added dim is removed from the result.
  const batchedLeft = left.dim() === 1 ? unsqueeze(left, 0) : left;
  const batchedRight = right.dim() === 1 ? unsqueeze(right, 1) : right;
  let product: Tensor;
  try {
    product = batchedProduct(batchedLeft, batchedRight, 'matmul');
  } finally {
    if (batchedLeft !== left) batchedLeft.dispose();
    if (batchedRight !== right) batchedRight.dispose();
  }
  if (left.dim() !== 1 && right.dim() !== 1) return product;
  const result = squeeze(product, left.dim() === 1 ? -2 : -1);
  product.dispose();
  return result;
}

/** The packed GEMM on addresses and element strides (rows or columns split across threads), for other ops built on it. */
export { gemm };
