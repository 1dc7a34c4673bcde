import { promisify } from 'node:util';
import { brotliDecompress } from 'node:zlib';
import { LoupeError, SERVICE_APIS, STAGES, canvasOfTarget, defineHandler, isStageName, type Annotation, type Logger, type ServiceDefinition } from '@loupe/contracts';
import { createClient, decode, type Bus } from '@loupe/bus';
import { harvest, isHttpSource, type DerivedImages, type DocumentLoader, type HarvestLimits } from '@loupe/iiif';
import type { Job, JobStore, KeptManifest } from '@loupe/store';
import { derivedImageHandler } from './derived-images.js';
import { JobRunner, stageOptionsOf, type RecoverJobs } from './jobs.js';
import { enrichManifest, loupeContext } from './enrich.js';
import { REVIEW_PAGES } from './review/review.pages.js';

export interface GatewayDeps {
  readonly bus: Bus;
  readonly jobs: JobStore;
  readonly load: DocumentLoader;
  readonly publicUrl: string;
  readonly log: Logger;
  /**
   * What to do at start with jobs a stopped process left unfinished (LOUPE_RECOVER_JOBS); absent:
   * leave them. Give it only to the one gateway that owns the job store (see JobRunner.recover).
   */
  readonly recoverJobs?: RecoverJobs;
  /** Whether a job's source may be a local path (the CLI's own argument); servers take http(s) only. */
  readonly localSources?: boolean;
  /** Images preprocess derived (the data directory's), served by id. */
  readonly derived?: DerivedImages;
}

const ANNOTATION_PAGE_SIZE = 10_000;

const unpack = promisify(brotliDecompress);
/**
 * Most bytes a kept manifest may unpack to: a document is at most 20 MiB as fetched (the fetcher's
 * maxJsonBytes), and its JSON as kept is no longer; the margin is for escapes. Past it (a damaged
 * row) the source is read instead.
 */
const MAX_KEPT_JSON_BYTES = 64 * 1024 * 1024;

async function v3Among(source: string, load: DocumentLoader, wanted: string, limits?: Partial<HarvestLimits>): Promise<Record<string, unknown> | undefined> {
  for await (const event of harvest(source, load, limits)) {
    if (event.type === 'manifest' && event.manifest.id === wanted) return await event.manifest.v3InSlices();
  }
  return undefined;
}

async function unpackJson(kept: KeptManifest): Promise<unknown> {
  const text = await unpack(kept.jsonBrotli, { maxOutputLength: MAX_KEPT_JSON_BYTES });
  return JSON.parse(text.toString('utf8'));
}

export function createGatewayService(deps: GatewayDeps): ServiceDefinition {
  const { bus, jobs, publicUrl } = deps;
  const runner = new JobRunner(bus, jobs, deps.log);
  const client = createClient(bus);
  const api = SERVICE_APIS.gateway;

  const view = async (job: Job) => {
    const queues: Record<string, { pending: number; inFlight: number; workers: number }> = {};
    for (const stage of Object.keys(job.stages)) {
      // A job's stages as stored: a name no pipeline has any more has no queue to show.
      if (!isStageName(stage)) continue;
      const stats = await bus.stats(STAGES[stage].subject);
      queues[stage] = { pending: stats.pending, inFlight: stats.inFlight, workers: stats.consumers };
    }
    return { ...job, queues, links: { self: `${publicUrl}/v1/jobs/${job.id}`, manifest: `${publicUrl}/v1/jobs/${job.id}/manifest` } };
  };
  const getJob = async (id: string): Promise<Job> => {
    const job = await jobs.get(id);
    if (!job) throw new LoupeError('LOUPE_ERR_JOB_NOT_FOUND', `no job with id ${id}`, { details: { id } });
    return job;
  };

  /** The manifest as Presentation 3, read from the JSON the job kept at harvest: the source is not read again. */
  const v3Of = async (job: Job, wanted: string): Promise<Record<string, unknown>> => {
    const kept = await jobs.keptManifest(job.id, wanted);
    if (kept) {
      // Its canvases passed the job's limit at harvest; the default limit must not refuse it now.
      const v3 = await v3Among(kept.document, () => unpackJson(kept), wanted, { maxCanvases: Number.MAX_SAFE_INTEGER });
      if (v3) return v3;
      deps.log.warn({ jobId: job.id, manifest: wanted }, 'the manifest kept at harvest cannot be read; reading its source again');
    }
    // No JSON kept: a job harvested before Loupe kept manifests, a 2.x manifest embedded in its
    // collection, or one past KEPT_JSON_BUDGET_BYTES. Those walk the source again, as jobs always did.
    const v3 = await v3Among(job.source, deps.load, wanted);
    if (!v3) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `manifest ${wanted} can no longer be loaded from ${job.source}`);
    return v3;
  };

  const createJob = defineHandler({
    ...api.createJob,
    async handler(input) {
      if (!deps.localSources && !isHttpSource(input.manifest)) {
        throw new LoupeError('LOUPE_ERR_SOURCE_UNSUPPORTED', 'the manifest must be an http or https URL', { details: { field: 'manifest' } });
      }
      const id = await runner.create(input.manifest, input.pipeline, stageOptionsOf(input));
      return await view(await getJob(id));
    },
  });

  const readJob = defineHandler({
    ...api.job,
    async handler({ id }) {
      return await view(await getJob(id));
    },
  });

  const jobManifest = defineHandler({
    ...api.jobManifest,
    async handler({ id, manifest }) {
      const job = await getJob(id);
      const wanted = manifest ?? job.manifests[0];
      if (!wanted) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `job ${id} harvested no manifest`, { details: { id } });
      if (!job.manifests.includes(wanted)) {
        throw new LoupeError('LOUPE_ERR_NOT_FOUND', `manifest ${wanted} is not part of job ${id}`, { details: { id, manifest: wanted } });
      }
      const v3 = await v3Of(job, wanted);
      const byCanvas = new Map<string, Annotation[]>();
      for (let offset = 0; ; offset += ANNOTATION_PAGE_SIZE) {
        const page = await client.request(SERVICE_APIS['ground-truth'].annotations, { manifest: wanted, limit: ANNOTATION_PAGE_SIZE, offset });
        for (const a of page.items) {
          const canvas = canvasOfTarget(a.target);
          const list = byCanvas.get(canvas);
          if (list) list.push(a);
          else byCanvas.set(canvas, [a]);
        }
        if (page.items.length < ANNOTATION_PAGE_SIZE) break;
      }
      const read = await client.request(SERVICE_APIS['ground-truth'].ocrPages, { manifest: wanted });
      return enrichManifest(v3, byCanvas, publicUrl, new Set(read.items.map((page) => page.canvas)));
    },
  });

  const deadLetters = defineHandler({
    ...api.deadLetters,
    async handler({ subject }) {
      const list = await bus.deadLetters.list(subject ? { subject } : {});
      return {
        items: list.map((d) => {
          let message: unknown;
          try {
            message = decode(d.data);
          } catch {
            message = null;
          }
          return { seq: d.seq, subject: d.subject, stage: d.stage, msgId: d.msgId, deliveries: d.deliveries, error: d.error, at: d.at, message };
        }),
      };
    },
  });
  const retryDeadLetter = defineHandler({
    ...api.retryDeadLetter,
    async handler({ seq }) {
      await bus.deadLetters.retry(seq);
      return { seq, retried: true };
    },
  });
  const dropDeadLetter = defineHandler({
    ...api.dropDeadLetter,
    async handler({ seq }) {
      await bus.deadLetters.drop(seq);
      return { seq, dropped: true };
    },
  });

  const context = defineHandler({
    ...api.context,
    async handler() {
      return loupeContext(publicUrl);
    },
  });

  return {
    name: 'gateway',
    version: '0.1.0',
    description: 'The public API: jobs, enriched manifests, and the JSON-LD context',
    handlers: [createJob, readJob, jobManifest, deadLetters, retryDeadLetter, dropDeadLetter, context, derivedImageHandler(deps.derived)],
    pages: REVIEW_PAGES,
    start: async () => {
      await runner.start();
      if (deps.recoverJobs) await runner.recover(deps.recoverJobs);
    },
    stop: () => runner.stop(),
  };
}
