// Bad input gets an error a person can act on, thrown before any state changes; the runtime stays usable.
import { beforeAll, describe, expect, it } from 'vitest';
import * as torch from '../src/index.js';

let x: torch.Tensor, y: torch.Tensor, ints: torch.Tensor;
beforeAll(() => {
  x = torch.ones(64, 1000);
  y = torch.ones(100, 10);
  ints = torch.arange(12).reshape(3, 4);
});

const cases: [string, () => unknown, new (...args: never[]) => Error, RegExp][] = [
  ['mm names both shapes', () => x.mm(y), torch.ShapeError, /mat1 and mat2 shapes cannot be multiplied \(64x1000 and 100x10\)/],
  ['matmul names both shapes', () => torch.ones(2, 3, 4).matmul(torch.ones(5, 6)), torch.ShapeError, /\[2, 3, 4\] and \[5, 6\]/],
  ['broadcasting names both shapes', () => torch.ones(2, 3).add(torch.ones(4, 3)), torch.ShapeError, /shapes \[2, 3\] and \[4, 3\] cannot be broadcast/],
  ['in-place broadcast names the output shape', () => torch.ones(3, 1).add_(torch.ones(3, 4)), torch.ShapeError, /output with shape \[3, 1\] doesn't match the broadcast shape \[3, 4\]/],
  ['a bad dim gives the valid range', () => x.sum(2), torch.IndexError, /expected to be in range of \[-2, 1\], but got 2/],
  ['a bad dim on softmax', () => x.softmax(-3), torch.IndexError, /\[-2, 1\], but got -3/],
  ['a bad dim on transpose', () => x.transpose(0, 5), torch.IndexError, /\[-2, 1\], but got 5/],
  ['in-place dtype mismatch names both dtypes', () => ints.add_(0.5), torch.DtypeError, /torch.float32 can't be cast to the desired output type torch.int32/],
  ['mask dtype names both dtypes', () => x.maskedFill(x, 0), torch.DtypeError, /expected mask to have dtype torch.bool, but got torch.float32/],
  ['scatter dtype mismatch names both', () => ints.scatter(0, torch.zeros(1, 4, { dtype: 'int32' }), torch.ones(1, 4)), torch.DtypeError, /torch.int32 and torch.float32/],
  ['mm on integers names the dtype', () => ints.mm(ints.t()), torch.DtypeError, /expected float32 tensors, got torch.int32/],
  ['view on incompatible strides says reshape', () => x.t().view(-1), torch.ShapeError, /Use \.reshape\(\.\.\.\) instead/],
  ['view with a wrong size', () => x.view(3, -1), torch.ShapeError, /shape '\[3, -1\]' is invalid for input of size 64000/],
  ['an index out of range', () => x.indexSelect(0, torch.tensor([0, 64], { dtype: 'int32' })), torch.IndexError, /index 64 is out of bounds for dimension 0 with size 64/],
  ['gather index out of range', () => ints.gather(1, torch.tensor([[4]], { dtype: 'int32' })), torch.IndexError, /index 4 is out of bounds/],
  ['float index tensor', () => x.indexSelect(0, torch.tensor([0])), torch.DtypeError, /Expected dtype int32 for index/],
  ['negative size', () => torch.zeros(2, -1), torch.ArgumentError, /sizes must be non-negative, got -1/],
  ['non-integer size', () => torch.ones(2.5), torch.ArgumentError, /sizes must be integers, got 2.5/],
  ['unknown dtype', () => torch.zeros(2, { dtype: 'float64' as never }), torch.ArgumentError, /unknown dtype "float64".*use 'float32'/],
  ['cat of mismatched shapes', () => torch.cat([torch.ones(2, 3), torch.ones(2, 4)]), torch.ShapeError, /Sizes of tensors must match except in dimension 0/],
  ['expand a non-singleton dim', () => torch.ones(2, 3).expand(2, 4), torch.ShapeError, /expanded size of the tensor \(4\) must match the existing size \(3\)/],
  ['item of many elements', () => x.item(), torch.ArgumentError, /a Tensor with 64000 elements cannot be converted to Scalar/],
  ['a ragged nested array', () => torch.tensor([[1, 2], [3]]), torch.ShapeError, /expected sequence of length 2 at dim 1 \(got 1\)/],
  ['a string operand', () => x.add('1' as never), torch.ArgumentError, /other must be a tensor or a number, got "1"/],
  ['narrow past the end', () => x.narrow(0, 60, 10), torch.IndexError, /start \(60\) \+ length \(10\) exceeds dimension size \(64\)/],
  ['bool subtraction', () => torch.tensor([true]).sub(torch.tensor([false])), torch.DtypeError, /Subtraction, the `-` operator, with two bool tensors is not supported/],
  ['mean of integers', () => ints.mean(), torch.DtypeError, /Input dtype must be either a floating point/],
  ['max over an empty dim', () => torch.zeros(0, 3).max(0), torch.IndexError, /Expected reduction dim 0 to have non-zero size/],
];

describe('errors name what was wrong and what was expected', () => {
  for (const [name, run, errorClass, message] of cases) {
    it(name, () => {
      const before = torch.memory();
      const snapshot = ints.tolist();
      // tidy frees the operands a case creates (and any tensor the op made before throwing, as a collection
      // would), so no synchronous GC is needed and this file runs in browsers too. A block the allocator
      // handed out without a tensor would still show in torch.memory().
      const guarded = () => torch.tidy(run);
      expect(guarded).toThrow(errorClass);
      expect(guarded).toThrow(message);
      expect(guarded).toThrow(torch.TorchError);
      expect(torch.memory()).toMatchObject({ tensors: before.tensors, storages: before.storages, bytes: before.bytes });
      expect(ints.tolist()).toEqual(snapshot); // nothing half-written
      expect(torch.tidy(() => x.sum().item())).toBe(64000); // the runtime still works
    });
  }
});
