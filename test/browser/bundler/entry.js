// A consumer of the published package, bundled by esbuild as a user's app would be: bare imports, no paths, no .wasm or worker files.
import * as torch from 'wasmtorch';
import { tensorTransferHandler } from 'wasmtorch/worker';

const a = torch.tensor([[1, 2], [3, 4]]);
const product = a.mm(a);
const [wire] = tensorTransferHandler.serialize(product);
globalThis.bundlerResult = {
  product: product.tolist(),
  crossed: tensorTransferHandler.deserialize(wire).tolist(),
  info: torch.backend.info(),
};
