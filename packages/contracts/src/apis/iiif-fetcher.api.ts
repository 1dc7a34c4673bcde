import { HarvestInput, HarvestOutput } from '../harvest.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

export const IIIF_FETCHER_API = {
  harvest: {
    name: 'harvest',
    summary: 'Harvest a IIIF manifest or collection into one task per canvas image',
    subject: SUBJECTS.harvest,
    mode: 'request',
    route: { method: 'POST', url: '/v1/harvest' },
    input: HarvestInput,
    output: HarvestOutput,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_SOURCE_UNSUPPORTED', 'LOUPE_ERR_IIIF_NOT_IIIF', 'LOUPE_ERR_IIIF_NOT_JSON', 'LOUPE_ERR_IIIF_LIMIT', 'LOUPE_ERR_FETCH_HTTP', 'LOUPE_ERR_FETCH_DNS', 'LOUPE_ERR_FETCH_TLS', 'LOUPE_ERR_FETCH_NOT_FOUND', 'LOUPE_ERR_FETCH_AUTH_REQUIRED', 'LOUPE_ERR_FETCH_EGRESS_REFUSED'],
    role: 'operator',
  },
} as const satisfies Record<string, ApiDeclaration>;
