import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { annotationContexts, LOUPE_CONTEXT_PATH, LoupeError, type AnnotationPage, type ClassifyOptions, type CreateJobInput, type JobView, type OcrJobOptions, type PipelineName } from '@loupe/contracts';
import type { EngineReadiness, ModelReadiness } from '@loupe/inference';
import type { JobStore, UnfinishedJob } from '@loupe/store';
import type { LoupeConfig } from '../config.js';
import type { Embedded } from '../embedded.js';
import type { Progress } from '../progress.js';
import { groupFailures, type FailureCause } from '../run-outcome.js';
import { isUrl, resolveSource } from '../source-path.js';

export interface RunReport {
  job: string;
  state: JobView['state'];
  manifests: string[];
  canvases: number;
  images: number;
  annotations: number;
  /** Canvas images: how many were harvested, done and failed. */
  tasks: JobView['tasks'];
  failures: { canvas: string | null; stage: string; code: string; message: string }[];
  /** The failures grouped by code: how many, temporary or permanent, the fix, a few canvases. */
  causes: FailureCause[];
  stages: Record<string, { ms: number; done: number; failed: number }>;
  /** Per model: session runs, requests, time in them (total and mean, ms), batch sizes and queue time. */
  models: Record<string, NonNullable<ModelReadiness['timing']>>;
  /** `ocr`: the ALTO and hOCR files, two per canvas Loupe read text on. */
  outputs: { manifests: string[]; annotations: string; ocr: string[] };
}

export interface RunOptions {
  readonly source: string;
  readonly outDir: string;
  /** Which pipeline runs on every canvas image (default: text). */
  readonly pipeline?: PipelineName;
  /** pipeline classify: head, vocabulary (zero-shot), mode, k. */
  readonly classify?: ClassifyOptions;
  /** pipelines text and enrich: the engine that reads text, and its languages. */
  readonly ocr?: OcrJobOptions;
  /** pipelines caption and enrich: the composed caption's language, or a captioning model (and its beams) instead. */
  readonly caption?: CreateJobInput['caption'];
  /** Deblur and/or upscale in preprocess; later stages read the derived image. */
  readonly enhance?: CreateJobInput['enhance'];
  /** pipeline classify: explain each canvas's top concept as it is stored. */
  readonly explain?: CreateJobInput['explain'];
  /** Parts of the pipeline to turn off (the gateway names the ones each pipeline has). */
  readonly skip?: readonly string[];
  readonly progress?: Progress | undefined;
  readonly pollMs?: number;
  /** Continue the run interrupted in `outDir` (its images already done are not redone). */
  readonly resume?: boolean;
  /** Checks made once the run knows it will run (not refused by the folder), before it harvests: a failure stops it. */
  readonly beforeHarvest?: () => Promise<void>;
  /** Where the run says what it found in `outDir` (resuming, nothing to resume). */
  readonly say?: (line: string) => void;
}

type Json = Record<string, unknown>;

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'canvas';
}

/**
 * A whole pipeline in one process (text by default: harvest, preprocess, detect text, store);
 * then writes the enriched manifest(s), one AnnotationPage per canvas and a report.
 */
export async function runPipeline(config: LoupeConfig, opts: RunOptions): Promise<RunReport> {
  const source = resolveSource(opts.source);
  const pipeline = opts.pipeline ?? 'text';
  const jobs = await openRunJobStore(opts.outDir);
  try {
    const interrupted = await findInterrupted(jobs, { ...opts, source, pipeline });
    await opts.beforeHarvest?.();
    // The run's own store holds no job but its own, so the gateway's recovery at start resumes
    // exactly the interrupted run. A local manifest may name its neighbours (a collection of
    // files): its folder is readable, nothing else.
    // Loaded here, not at the top: `loupe run --help` and the run's checks stay light.
    const { createEmbedded } = await import('../embedded.js');
    const embedded = await createEmbedded({ ...config, recoverJobs: 'resume' }, { jobs, ...(!isUrl(source) && { localSources: [path.dirname(source)] }) });
    try {
      const start = interrupted ?? {
        manifest: source,
        pipeline,
        ...(opts.classify && { classify: opts.classify }),
        ...(opts.ocr && { ocr: opts.ocr }),
        ...(opts.caption && { caption: opts.caption }),
        ...(opts.enhance && { enhance: opts.enhance }),
        ...(opts.explain && { explain: opts.explain }),
        ...(opts.skip && { skip: [...opts.skip] }),
      };
      return await runJob(embedded.app, config, opts, start);
    } finally {
      await embedded.close();
    }
  } finally {
    await jobs.close();
  }
}

/**
 * Where `loupe run` keeps its job: in the output folder, so that a rerun into it finds an
 * interrupted run, and no server's recovery ever takes it (its source may be a local file).
 */
function runJobStorePath(outDir: string): string {
  return path.join(outDir, '.loupe', 'jobs.db');
}

/** Held for the whole run: a second run into the same folder is refused, not interleaved. */
async function openRunJobStore(outDir: string): Promise<JobStore> {
  const { openSqliteJobStore } = await import('@loupe/store');
  try {
    return openSqliteJobStore({ path: runJobStorePath(outDir), exclusive: true });
  } catch (err) {
    if (err instanceof LoupeError && err.details?.inUse) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `another loupe run is writing into ${outDir}: let it finish, or choose another --out`, { details: { outDir } });
    }
    throw err;
  }
}

/** The run a crash left unfinished in the folder, when the caller asked to resume it; refused otherwise. */
async function findInterrupted(
  jobs: JobStore,
  want: { outDir: string; source: string; pipeline: PipelineName; resume?: boolean; say?: (line: string) => void },
): Promise<UnfinishedJob | undefined> {
  const job = (await jobs.unfinished()).at(-1);
  if (!job) {
    if (want.resume) want.say?.(`nothing to resume in ${want.outDir}: starting a new run`);
    return undefined;
  }
  const { done, failed, total } = job.tasks;
  const progress = job.state === 'running' ? `${done + failed} of ${total} images done` : 'stopped while harvesting';
  if (!want.resume) {
    throw new LoupeError(
      'LOUPE_ERR_VALIDATION',
      `${want.outDir} holds an interrupted run of ${job.source} (${progress}): pass --resume to continue it, or choose another --out`,
      { details: { outDir: want.outDir, job: job.id } },
    );
  }
  if (job.source !== want.source || job.spec?.pipeline !== want.pipeline) {
    throw new LoupeError(
      'LOUPE_ERR_VALIDATION',
      `the run interrupted in ${want.outDir} is of ${job.source} with --pipeline ${job.spec?.pipeline ?? 'unknown'}: resume it with the same source and pipeline, or choose another --out`,
      { details: { outDir: want.outDir, job: job.id } },
    );
  }
  want.say?.(`resuming the run interrupted in ${want.outDir} (${progress})`);
  return job;
}

/** Where inference time went, per model: the engine's own count, as /readyz shows it. */
function modelTimings(app: Embedded['app']): RunReport['models'] {
  const engine = app.readiness().process?.inference as EngineReadiness | undefined;
  return Object.fromEntries((engine?.models ?? []).flatMap((m) => (m.timing ? [[m.id, m.timing]] : [])));
}

/** Starts the job (or follows the resumed one) to its end, then writes what it produced. */
async function runJob(
  app: Embedded['app'],
  config: LoupeConfig,
  opts: RunOptions,
  start: UnfinishedJob | { manifest: string; pipeline: PipelineName; classify?: ClassifyOptions; ocr?: OcrJobOptions; caption?: CreateJobInput['caption']; skip?: string[] },
): Promise<RunReport> {
  await app.start();
  const { apiCaller } = await import('../embedded.js');
  const call = apiCaller(app);
  let job = 'id' in start ? await call<JobView>('GET', `/v1/jobs/${start.id}`) : await call<JobView>('POST', '/v1/jobs', start);
  while (job.state === 'queued' || job.state === 'harvesting' || job.state === 'running') {
    opts.progress?.update(job);
    await sleep(opts.pollMs ?? 200);
    job = await call<JobView>('GET', `/v1/jobs/${job.id}`);
  }
  opts.progress?.update(job);
  opts.progress?.end();

  await fs.mkdir(path.join(opts.outDir, 'annotations'), { recursive: true });
  const report: RunReport = {
    job: job.id,
    state: job.state,
    manifests: job.manifests,
    canvases: 0,
    images: job.tasks.total,
    annotations: 0,
    tasks: job.tasks,
    failures: job.failures,
    causes: groupFailures(job.failures),
    stages: Object.fromEntries(Object.entries(job.stages).map(([k, s]) => [k, { ms: Math.round(s.ms), done: s.done, failed: s.failed }])),
    models: modelTimings(app),
    outputs: { manifests: [], annotations: path.join(opts.outDir, 'annotations'), ocr: [] },
  };
  const several = job.manifests.length > 1;
  for (const [m, manifestId] of job.manifests.entries()) {
    const manifest = await call<Json>('GET', `/v1/jobs/${job.id}/manifest?manifest=${encodeURIComponent(manifestId)}`);
    const file = several ? path.join(opts.outDir, 'manifests', `${String(m + 1).padStart(3, '0')}.json`) : path.join(opts.outDir, 'manifest.json');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, JSON.stringify(manifest, null, 2));
    report.outputs.manifests.push(file);
    const canvases = (manifest.items as Json[] | undefined) ?? [];
    report.canvases += canvases.length;
    for (const [c, canvas] of canvases.entries()) {
      const pages = ((canvas.annotations as Json[] | undefined) ?? []).filter((p) => String(p.id).includes('/v1/annotations'));
      const items = pages.flatMap((p) => (p.items as AnnotationPage['items']) ?? []);
      report.annotations += items.length;
      const label = typeof canvas.label === 'object' && canvas.label ? Object.values(canvas.label as Record<string, string[]>)[0]?.[0] : undefined;
      const stem = `${several ? `${String(m + 1).padStart(3, '0')}-` : ''}${String(c + 1).padStart(4, '0')}-${slug(label ?? String(canvas.id))}`;
      const name = `${stem}.json`;
      const page = pages[0] ?? { id: `${config.publicUrl}/v1/annotations?canvas=${encodeURIComponent(String(canvas.id))}`, type: 'AnnotationPage' };
      await fs.writeFile(
        path.join(opts.outDir, 'annotations', name),
        JSON.stringify({ '@context': annotationContexts(`${config.publicUrl}${LOUPE_CONTEXT_PATH}`, items), ...page, items }, null, 2),
      );
      report.outputs.ocr.push(...(await writeOcrDocuments(app, config.publicUrl, canvas, path.join(opts.outDir, 'ocr', stem))));
    }
  }
  await fs.writeFile(path.join(opts.outDir, 'report.json'), JSON.stringify(report, null, 2));
  // What this run measured is what the next `loupe run --dry-run` estimates from.
  const { recordTimings } = await import('../run-plan.js');
  await recordTimings(config.dataDir, report.models, { images: report.tasks.done + report.tasks.failed });
  return report;
}

/** The file each OCR format Loupe links from a canvas is written to, after the annotation file's stem. */
const OCR_FILES: Readonly<Record<string, string>> = { 'application/xml': '.alto.xml', 'text/vnd.hocr+html': '.hocr.html' };

/**
 * Writes the ALTO and hOCR the enriched canvas links to (its seeAlso on Loupe's /v1/ocr/),
 * read from the API in process. Returns the files written: none for a canvas without text.
 */
async function writeOcrDocuments(app: Embedded['app'], publicUrl: string, canvas: Json, stem: string): Promise<string[]> {
  const links = [canvas.seeAlso ?? []].flat() as Json[];
  const written: string[] = [];
  for (const link of links) {
    const url = String(link.id);
    const suffix = OCR_FILES[String(link.format)];
    if (suffix === undefined || !url.startsWith(`${publicUrl}/v1/ocr/`)) continue;
    // apiCaller reads JSON answers; these are documents, taken as the text they are.
    const res = await app.inject({ method: 'GET', url: url.slice(publicUrl.length), headers: { authorization: app.localAuthorization } });
    if (res.statusCode >= 400) throw LoupeError.fromJSON(res.json());
    await fs.mkdir(path.dirname(stem), { recursive: true });
    await fs.writeFile(`${stem}${suffix}`, res.body);
    written.push(`${stem}${suffix}`);
  }
  return written;
}
