// torch.autograd: the engine's public face (grad, Function, gradcheck, grad mode).
export { grad, type GradOptions } from './backward.js';
export { Function, Ctx } from './function.js';
export { gradcheck, gradgradcheck, GradcheckError, type GradcheckOptions } from './gradcheck.js';
export { AutogradError, Node, AccumulateGrad } from './engine.js';
export { noGrad, enableGrad, setGradEnabled, isGradEnabled } from './grad-mode.js';
