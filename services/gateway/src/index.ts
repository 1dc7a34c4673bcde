export { createGatewayService, type GatewayDeps } from './gateway.service.js';
export { PIPELINES, partsOf, routeOf, stageOptionsOf, type RecoverJobs } from './jobs.js';
export { enrichManifest, loupeContext } from './enrich.js';
export { gatewayServiceFromConfig, type GatewayParts } from './gateway.factory.js';
