// The lecture's computational graph (CS231n lecture 6, "Computational graphs"): c = sum(x * y + z),
// first with the backward pass written by hand, as the numpy version does, then with autograd.
//
//   node examples/computational-graph.mjs
//
//        x ──┐
//            (*)── a ──┐
//        y ──┘         (+)── b ── (sum) ── c
//        z ────────────┘
import { pathToFileURL } from 'node:url';
import * as torch from 'wasmtorch';

/** The numpy version: forward pass, then the gradients of c written by hand. Inputs are not modified. */
export function handWritten({ x, y, z }) {
  const [N, D] = x.shape;
  // Forward pass
  const a = x.mul(y);
  const b = a.add(z);
  const c = b.sum();

  // Backward pass: compute gradients by hand
  const gradC = 1.0;
  const gradB = torch.ones(N, D).mul(gradC);
  const gradA = gradB.clone();
  const gradZ = gradB.clone();
  const gradX = gradA.mul(y);
  const gradY = gradA.mul(x);
  return { c, gradX, gradY, gradZ };
}

/**
 * The PyTorch version: the same forward pass on tensors with requiresGrad, then c.backward(). Works on
 * detached leaves sharing x, y and z's storage, so the caller's tensors are not modified.
 */
export function withAutograd({ x, y, z }) {
  x = x.detach().requiresGrad_();
  y = y.detach().requiresGrad_();
  z = z.detach().requiresGrad_();
  // Forward pass: records the graph
  const a = x.mul(y);
  const b = a.add(z);
  const c = torch.sum(b);

  // Backward pass: autograd computes the gradient of c with respect to every input with requiresGrad
  c.backward();
  return { c: c.detach(), gradX: x.grad, gradY: y.grad, gradZ: z.grad };
}

/** Exact equality of two tensors' shapes and values (PyTorch's torch.equal). */
export function equal(a, b) {
  if (a.shape.length !== b.shape.length || a.shape.some((size, i) => size !== b.shape[i])) return false;
  const [p, q] = [a.toArray(), b.toArray()];
  return p.every((value, i) => Object.is(value, q[i]) || value === q[i]);
}

export function main() {
  torch.manualSeed(0);
  const [N, D] = [3, 4];
  const x = torch.randn(N, D);
  const y = torch.randn(N, D);
  const z = torch.randn(N, D);

  return torch.tidy(() => {
    const hand = handWritten({ x, y, z });
    const auto = withAutograd({ x, y, z });
    console.log(`c = ${hand.c.item()} (by hand), ${auto.c.item()} (autograd)`);
    for (const name of ['gradX', 'gradY', 'gradZ']) {
      console.log(`${name} by hand:\n${hand[name]}\n${name} with autograd:\n${auto[name]}`);
      if (!equal(hand[name], auto[name])) throw new Error(`${name}: the hand-written gradient differs from autograd's`);
    }
    console.log('hand-written gradients == autograd gradients');
    torch.dispose(x, y, z);
    return { hand, auto };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) torch.dispose(main());
