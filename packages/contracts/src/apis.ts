import type { ApiDeclaration } from './apis/api-declaration.js';
import { CAPTION_API } from './apis/caption.api.js';
import { CLASSIFY_API } from './apis/classify.api.js';
import { DETECT_API } from './apis/detect.api.js';
import { EMBED_API } from './apis/embed.api.js';
import { ANNOTATION_EXPLANATION_API, CLASSIFY_EXPLAIN_API, DETECT_EXPLAIN_API } from './apis/explain.api.js';
import { DERIVED_API } from './apis/derived.api.js';
import { GATEWAY_API } from './apis/gateway.api.js';
import { GROUND_TRUTH_API } from './apis/ground-truth.api.js';
import { CONTENT_SEARCH_API } from './apis/content-search.api.js';
import { LAYERS_API } from './apis/layers.api.js';
import { TEXT_RANKING_API } from './apis/text-ranking.api.js';
import { IIIF_FETCHER_API } from './apis/iiif-fetcher.api.js';
import { PREPROCESS_API } from './apis/preprocess.api.js';
import { PEOPLE_API } from './apis/people.api.js';
import { PEOPLE_NAMES_API, PEOPLE_SYNC_API } from './apis/people-names.api.js';

export type { ApiDeclaration } from './apis/api-declaration.js';
export { EmbedCanvasOutput, EmbedImageInput, EmbedImageOutput } from './apis/embed.api.js';
export { StoredResultsOutput } from './apis/ground-truth.api.js';
export { EnhanceInput, EnhanceOutput } from './apis/preprocess.api.js';

/**
 * Every handler of every service, declared once: request/reply and work queue alike, by owning
 * service. Each service implements its own (`defineHandler({ ...SERVICE_APIS.x.y, handler })`),
 * and calls the others' through the typed client. A gateway process that does not run a service
 * mounts that service's request/reply routes as proxies over the bus (work queues are reached by
 * their stage routes in the process that consumes them), so the public HTTP API is the same in
 * one process and in many.
 */
export const SERVICE_APIS = {
  gateway: { ...GATEWAY_API, ...DERIVED_API },
  'iiif-fetcher': IIIF_FETCHER_API,
  preprocess: PREPROCESS_API,
  detect: { ...DETECT_API, ...DETECT_EXPLAIN_API },
  embed: { ...EMBED_API, ...PEOPLE_API, ...PEOPLE_SYNC_API },
  classify: { ...CLASSIFY_API, ...CLASSIFY_EXPLAIN_API },
  caption: CAPTION_API,
  'ground-truth': { ...GROUND_TRUTH_API, ...CONTENT_SEARCH_API, ...LAYERS_API, ...TEXT_RANKING_API, ...PEOPLE_NAMES_API, ...ANNOTATION_EXPLANATION_API },
} as const satisfies Record<string, Record<string, ApiDeclaration>>;
