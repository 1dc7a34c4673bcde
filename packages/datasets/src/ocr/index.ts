export { ALTO_NAMESPACE, ALTO_SCHEMA_LOCATION, toAlto, type OcrWriterOptions } from './alto.writer.js';
export { HOCR_CAPABILITIES, toHocr } from './hocr.writer.js';
export { languageTag } from '@loupe/contracts';
