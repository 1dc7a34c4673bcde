export { createGatewayService, type GatewayDeps } from './gateway.service.js';
export { PIPELINES } from './jobs.js';
export { enrichManifest, annotationPage, loupeContext } from './enrich.js';
