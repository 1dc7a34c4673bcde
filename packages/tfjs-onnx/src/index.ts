export { convertGraphModel, type ConvertOptions, type ConvertResult, type TensorSignature, type ElementType } from './convert.js';
export { convertLayersModel } from './layers.js';
export { convertTfjsModel, detectTfjsFormat } from './convert-tfjs.js';
export { readKerasModel, type KerasModel, type LayerCall, type KerasInput } from './keras-topology.js';
export { readBundleData } from './umd-bundle.js';
export { importTfjs, type ImportTfjsOptions, type ImportTfjsResult } from './import-cli.js';
export {
  loadTfjsGraphModel, loadTfjsArtifacts, readTfjsModelJson, tfjsFormatOf, isBundlePath, decodeWeight, halfToFloat,
  type ConstTensor, type LoadedTfjsModel, type LoadedTfjsArtifacts, type TfjsGraphModelJson, type TfjsLayersModelJson,
  type KerasLayerJson, type TfjsFormat, type WeightSpec,
} from './tfjs-model.js';
