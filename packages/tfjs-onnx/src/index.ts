export { convertGraphModel, type ConvertOptions, type ConvertResult, type TensorSignature, type ElementType } from './convert.js';
export { convertLayersModel } from './layers.js';
export { convertTfjsModel, detectTfjsFormat } from './convert-tfjs.js';
export { importTfjs, type ImportTfjsOptions, type ImportTfjsResult } from './import-cli.js';
export { loadTfjsGraphModel, decodeWeight, halfToFloat, type ConstTensor, type LoadedTfjsModel, type TfjsFormat, type TfjsGraphModelJson } from './tfjs-model.js';
