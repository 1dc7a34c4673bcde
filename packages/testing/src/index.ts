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
export { makeTestImage, type TestImageOptions } from './test-image.js';
export * from './text-pages.js';
export { DRAWINGS, type Drawing, type DrawingKind, type DrawingOptions, renderLineDrawing, renderPhotoLike, renderPrintedPage } from './drawings.js';
export { natsServerAvailable, type NatsServer, type NatsServerOptions, requireNatsOrSkip, type SkippableTest, startNatsServer } from './nats-server.js';
export * from './onnx-builder.js';
export { ManualClock, tick } from './manual-clock.js';
export { type CountingServer, startCountingServer } from './counting.server.js';
