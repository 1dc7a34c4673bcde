// A sample IIIF collection that needs no network: a local Image API server (v2 and v3, levels 0
// to 2), printed pages with known text, and Presentation documents. `loupe demo` runs on these,
// and @loupe/testing hands the same parts to the tests.
export {
  type Fault,
  type IiifImageServer,
  type IiifImageServerOptions,
  type ImageRegistration,
  type ImageSource,
  startIiifImageServer,
} from './iiif-image.server.js';
export { type ImageProfile, type ResolvedProfile, type Size, type TileSpec } from './image-profile.js';
export {
  type CanvasSpec,
  type CollectionItemSpec,
  type CollectionSpec,
  collectionV2,
  collectionV3,
  type ImageSpec,
  type LabelSpec,
  type ManifestSpec,
  manifestV2,
  manifestV3,
} from './manifest.builders.js';
export { type PageFont, type TextPage, type TextPageLine, type TextPageOptions, renderTextPage, SAMPLE_TEXTS } from './text-pages.js';
export { FOLDER_IMAGE_EXTENSIONS, type ImageFolderServer, type ImageFolderServerOptions, type ServedImage, serveImageFolder } from './image-folder.server.js';
