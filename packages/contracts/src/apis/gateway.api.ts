import { Type } from '@sinclair/typebox';
import { CreateJobInput, DeadLetterView, JobView } from '../jobs.js';
import { SUBJECTS } from '../subjects.js';
import type { ApiDeclaration } from './api-declaration.js';

const JobParams = Type.Object({ id: Type.String({ minLength: 1 }) });
const ManifestParams = Type.Object({
  id: Type.String({ minLength: 1 }),
  manifest: Type.Optional(Type.String({ description: 'Which manifest of a collection job (default: the first)' })),
});
const SeqParams = Type.Object({ seq: Type.Integer({ minimum: 0 }) });

export const GATEWAY_API = {
  createJob: {
    name: 'jobs.create',
    summary: 'Start enriching a IIIF manifest or collection; answers at once with the job id',
    subject: SUBJECTS.jobsCreate,
    mode: 'request',
    route: { method: 'POST', url: '/v1/jobs' },
    role: 'operator',
    input: CreateJobInput,
    output: JobView,
    errors: ['LOUPE_ERR_VALIDATION', 'LOUPE_ERR_SOURCE_UNSUPPORTED'],
  },
  job: {
    name: 'jobs.get',
    summary: 'State of a job: per-stage progress and every failure with its reason',
    subject: SUBJECTS.jobsGet,
    mode: 'request',
    route: { method: 'GET', url: '/v1/jobs/:id' },
    role: 'reader',
    input: JobParams,
    output: JobView,
    errors: ['LOUPE_ERR_JOB_NOT_FOUND'],
  },
  jobManifest: {
    name: 'jobs.manifest',
    summary: "The job's manifest as IIIF Presentation 3, with an AnnotationPage of Loupe's annotations on each canvas",
    subject: SUBJECTS.jobsManifest,
    mode: 'request',
    route: { method: 'GET', url: '/v1/jobs/:id/manifest' },
    role: 'reader',
    iiif: true,
    input: ManifestParams,
    output: Type.Object({}, { additionalProperties: true }),
    errors: ['LOUPE_ERR_JOB_NOT_FOUND', 'LOUPE_ERR_NOT_FOUND'],
  },
  deadLetters: {
    name: 'dead-letters.list',
    summary: 'Messages a stage gave up on after its last delivery, with the stage and the last error',
    subject: SUBJECTS.deadLettersList,
    mode: 'request',
    route: { method: 'GET', url: '/v1/dead-letters' },
    role: 'operator',
    input: Type.Object({ subject: Type.Optional(Type.String()) }),
    output: Type.Object({ items: Type.Array(DeadLetterView) }),
    errors: [],
  },
  retryDeadLetter: {
    name: 'dead-letters.retry',
    summary: 'Put a dead letter back on its queue with fresh deliveries',
    subject: SUBJECTS.deadLettersRetry,
    mode: 'request',
    route: { method: 'POST', url: '/v1/dead-letters/:seq/retry' },
    role: 'operator',
    input: SeqParams,
    output: Type.Object({ seq: Type.Integer(), retried: Type.Boolean() }),
    errors: ['LOUPE_ERR_NOT_FOUND'],
  },
  dropDeadLetter: {
    name: 'dead-letters.drop',
    summary: 'Delete a dead letter',
    subject: SUBJECTS.deadLettersDrop,
    mode: 'request',
    route: { method: 'DELETE', url: '/v1/dead-letters/:seq' },
    role: 'operator',
    input: SeqParams,
    output: Type.Object({ seq: Type.Integer(), dropped: Type.Boolean() }),
    errors: ['LOUPE_ERR_NOT_FOUND'],
  },
  context: {
    name: 'context',
    summary: "Loupe's JSON-LD extension context (loupe:confidence, loupe:reviewState, ...)",
    subject: SUBJECTS.context,
    mode: 'request',
    route: { method: 'GET', url: '/ns/loupe/v1.jsonld' },
    // Vocabulary only, no data: JSON-LD processors fetch it without credentials.
    role: 'public',
    iiif: true,
    input: Type.Object({}),
    output: Type.Object({}, { additionalProperties: true }),
    errors: [],
  },
} as const satisfies Record<string, ApiDeclaration>;
