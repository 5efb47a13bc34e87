// torch.nn: modules, parameters, layers, losses, nn.functional and nn.init.
export {
  Module, StateDictError, type RemovableHandle, type ForwardHook, type ForwardPreHook, type FullBackwardHook, type StateDict, type IncompatibleKeys,
} from './module.js';
export { Parameter } from './parameter.js';
export { Linear, Identity } from './linear.js';
export { Conv1d, Conv2d, ConvTranspose2d, type ConvLayerOptions, type ConvTransposeLayerOptions } from './convolution.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type MaxPoolLayerOptions, type AvgPoolLayerOptions } from './pooling.js';
export { ReLU, LeakyReLU, GELU, SiLU, Sigmoid, Tanh, Softmax, LogSoftmax } from './activation.js';
export { Flatten } from './flatten.js';
export { Dropout } from './dropout.js';
export { Embedding, type EmbeddingLayerOptions } from './embedding.js';
export { BatchNorm, BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, type BatchNormLayerOptions } from './normalization.js';
export { Sequential, ModuleList, ModuleDict } from './container.js';
export { MSELoss, L1Loss, SmoothL1Loss, NLLLoss, CrossEntropyLoss, BCELoss, BCEWithLogitsLoss } from './loss.js';
export * as functional from './functional.js';
export * as init from './init.js';
