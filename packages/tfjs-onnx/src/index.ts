export { convertGraphModel, type ConvertResult, type TensorSignature, type ElementType } from './convert.js';
export { importTfjs, type ImportTfjsOptions, type ImportTfjsResult } from './import-cli.js';
export { loadTfjsGraphModel, decodeWeight, halfToFloat, type ConstTensor, type LoadedTfjsModel, type TfjsGraphModelJson } from './tfjs-model.js';
