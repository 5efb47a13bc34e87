// torch.optim: the optimizers (fused WebAssembly updates) and torch.optim.lrScheduler.
export { Optimizer, type OptimizerStateDict, type ParameterState, type ParamGroup, type ParamGroupInput, type ParamsInput } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, type AdamOptions } from './adam.js';
export { AdamW, type AdamWOptions } from './adamw.js';
export { RMSprop, type RMSpropOptions } from './rmsprop.js';
export { Adagrad, type AdagradOptions } from './adagrad.js';
export * as lrScheduler from './lr-scheduler.js';
