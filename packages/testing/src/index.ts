// The demo's sample collection (IIIF image server, printed pages, manifest builders) lives in
// @loupe/demo so that the CLI never depends on this package; tests reach it through here as before.
export * from '@loupe/demo';
export { makeTestImage, type TestImageOptions } from './test-image.js';
export { DRAWINGS, type Drawing, type DrawingKind, type DrawingOptions, renderLineDrawing, renderPhotoLike, renderPrintedPage } from './drawings.js';
export { natsServerAvailable, type NatsServer, type NatsServerOptions, requireNatsOrSkip, type SkippableTest, startNatsServer } from './nats-server.js';
export * from './onnx-builder.js';
export { ManualClock, tick } from './manual-clock.js';
export { type CountingServer, startCountingServer } from './counting.server.js';
