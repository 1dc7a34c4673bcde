import { Type } from '@sinclair/typebox';
import {
  AnnotationPage,
  CreateJobInput,
  JobView,
  LoupeError,
  SUBJECTS,
  defineHandler,
  type Annotation,
  type Logger,
  type ServiceDefinition,
} from '@loupe/contracts';
import { decode, encode, type Bus } from '@loupe/bus';
import { harvest, type DocumentLoader } from '@loupe/iiif';
import type { Job, JobStore } from '@loupe/store';
import { JobRunner } from './jobs.js';
import { enrichManifest, loupeContext } from './enrich.js';

export interface GatewayDeps {
  readonly bus: Bus;
  readonly jobs: JobStore;
  readonly load: DocumentLoader;
  readonly publicUrl: string;
  readonly log: Logger;
}

const JobParams = Type.Object({ id: Type.String({ minLength: 1 }) });
const ManifestParams = Type.Object({
  id: Type.String({ minLength: 1 }),
  manifest: Type.Optional(Type.String({ description: 'Which manifest of a collection job (default: the first)' })),
});

const ANNOTATION_PAGE_SIZE = 10_000;

export function createGatewayService(deps: GatewayDeps): ServiceDefinition {
  const { bus, jobs, publicUrl } = deps;
  const runner = new JobRunner(bus, jobs, deps.log);

  const view = (job: Job) => ({
    ...job,
    links: { self: `${publicUrl}/v1/jobs/${job.id}`, manifest: `${publicUrl}/v1/jobs/${job.id}/manifest` },
  });
  const getJob = async (id: string): Promise<Job> => {
    const job = await jobs.get(id);
    if (!job) throw new LoupeError('LOUPE_ERR_JOB_NOT_FOUND', `no job with id ${id}`, { details: { id } });
    return job;
  };

  const createJob = defineHandler({
    name: 'jobs.create',
    summary: 'Start enriching a IIIF manifest or collection; answers at once with the job id',
    subject: 'loupe.gateway.jobs-create.v1',
    mode: 'request',
    route: { method: 'POST', url: '/v1/jobs' },
    input: CreateJobInput,
    output: JobView,
    errors: ['LOUPE_ERR_VALIDATION'],
    async handler(input) {
      const id = await runner.create(input.manifest, input.pipeline);
      return view(await getJob(id));
    },
  });

  const readJob = defineHandler({
    name: 'jobs.get',
    summary: 'State of a job: per-stage progress and every failure with its reason',
    subject: 'loupe.gateway.jobs-get.v1',
    mode: 'request',
    route: { method: 'GET', url: '/v1/jobs/:id' },
    input: JobParams,
    output: JobView,
    errors: ['LOUPE_ERR_JOB_NOT_FOUND'],
    async handler({ id }) {
      return view(await getJob(id));
    },
  });

  const jobManifest = defineHandler({
    name: 'jobs.manifest',
    summary: "The job's manifest as IIIF Presentation 3, with an AnnotationPage of Loupe's annotations on each canvas",
    subject: 'loupe.gateway.jobs-manifest.v1',
    mode: 'request',
    route: { method: 'GET', url: '/v1/jobs/:id/manifest' },
    input: ManifestParams,
    output: Type.Object({}, { additionalProperties: true }),
    errors: ['LOUPE_ERR_JOB_NOT_FOUND', 'LOUPE_ERR_NOT_FOUND'],
    async handler({ id, manifest }) {
      const job = await getJob(id);
      const wanted = manifest ?? job.manifests[0];
      if (!wanted) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `job ${id} harvested no manifest`, { details: { id } });
      if (!job.manifests.includes(wanted)) {
        throw new LoupeError('LOUPE_ERR_NOT_FOUND', `manifest ${wanted} is not part of job ${id}`, { details: { id, manifest: wanted } });
      }
      // Walk the source again (documents come from the fetch cache) rather than keeping every v3 document.
      let v3: Record<string, unknown> | undefined;
      for await (const event of harvest(job.source, deps.load)) {
        if (event.type === 'manifest' && event.manifest.id === wanted) {
          v3 = event.manifest.v3;
          break;
        }
      }
      if (!v3) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `manifest ${wanted} can no longer be loaded from ${job.source}`);
      const byCanvas = new Map<string, Annotation[]>();
      for (let offset = 0; ; offset += ANNOTATION_PAGE_SIZE) {
        const reply = await bus.request(SUBJECTS.annotationsQuery, encode({ manifest: wanted, limit: ANNOTATION_PAGE_SIZE, offset }));
        const page = decode<AnnotationPage>(reply.data);
        for (const a of page.items) {
          const target = a.target;
          const canvas = typeof target === 'string' ? target.split('#')[0]! : typeof target.source === 'string' ? target.source : target.source.id;
          byCanvas.set(canvas, [...(byCanvas.get(canvas) ?? []), a]);
        }
        if (page.items.length < ANNOTATION_PAGE_SIZE) break;
      }
      return enrichManifest(v3, byCanvas, publicUrl);
    },
  });

  const context = defineHandler({
    name: 'context',
    summary: "Loupe's JSON-LD extension context (loupe:confidence, loupe:reviewState, ...)",
    subject: 'loupe.gateway.context.v1',
    mode: 'request',
    route: { method: 'GET', url: '/ns/loupe/v1.jsonld' },
    input: Type.Object({}),
    output: Type.Object({}, { additionalProperties: true }),
    errors: [],
    async handler() {
      return loupeContext(publicUrl);
    },
  });

  return {
    name: 'gateway',
    version: '0.1.0',
    description: 'The public API: jobs, enriched manifests, and the JSON-LD context',
    handlers: [createJob, readJob, jobManifest, context],
    start: () => runner.start(),
    stop: () => runner.stop(),
  };
}
