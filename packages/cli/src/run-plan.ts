import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ClassifyOptions, CreateJobInput, OcrJobOptions, PipelineName, StageName } from '@loupe/contracts';
import type { ModelReadiness, TextRecognizer } from '@loupe/inference';
import type { LoupeConfig } from './config.js';
import { isUrl, resolveSource } from './source-path.js';

/** The size every pipeline's one image request fits inside (preprocess's shared fetch). */
const FETCH_FIT = { width: 2048, height: 2048 } as const;

/** One canvas image: the request a run would make for it and the pixels that request returns. */
export interface PlannedImage {
  readonly canvas: string;
  readonly label: string;
  /** The Image API request (or `N tiles of <service>`), or the file itself when it has no image service. */
  readonly request: string;
  readonly width: number;
  readonly height: number;
  /** `info.json`: planned from the service's info.json; `manifest`: a plain file, fetched whole, at the size the manifest gives. */
  readonly from: 'info.json' | 'manifest';
  /** Why a run could not fetch it (its info.json unreadable): the run would fail this canvas. */
  readonly problem?: string;
}

export interface PlannedModel {
  readonly id: string;
  /** Mean ms of one run, and how many runs one image takes (1 when no run has said). */
  readonly meanMs: number | undefined;
  readonly runsPerImage: number;
  /** `recorded`: from earlier runs on this machine ($LOUPE_DATA_DIR/timings.json); `measured now`: timed by the plan (measureNow); `unknown`: neither (not installed, or not an ONNX model). */
  readonly timing: 'recorded' | 'measured now' | 'unknown';
}

export interface RunPlan {
  readonly source: string;
  readonly pipeline: PipelineName;
  readonly skip: readonly string[];
  readonly manifests: readonly { readonly id: string; readonly label: string; readonly canvases: number }[];
  readonly images: readonly PlannedImage[];
  /** Advice that stops nothing, a line per manifest: the planner's upscaling offer (a run prints the same). */
  readonly hints: readonly string[];
  /** Documents and canvases the harvest could not read, as a run would report them. */
  readonly errors: readonly { readonly document: string; readonly code: string; readonly message: string }[];
  readonly stages: readonly { readonly stage: StageName; readonly options?: Readonly<Record<string, unknown>>; readonly models: readonly PlannedModel[] }[];
  /** Inference time only (fetching and decoding come on top): per image, and for every image, on `machine`. */
  readonly estimate: {
    readonly perImageMs: number;
    readonly totalMs: number;
    /** Models left out of the sums for want of a timing (Tesseract runs outside the engine that times models). */
    readonly untimed: readonly string[];
    readonly machine: { readonly cores: number; readonly cpu: string };
  };
}

export interface PlanOptions {
  readonly source: string;
  readonly pipeline: PipelineName;
  readonly ocr?: OcrJobOptions;
  readonly classify?: ClassifyOptions;
  readonly skip?: readonly string[];
  /** The job's enhancement, caption and explanation options: in the route as a run would have them. */
  readonly enhance?: CreateJobInput['enhance'];
  readonly caption?: CreateJobInput['caption'];
  readonly explain?: CreateJobInput['explain'];
  /** Measure a model no run has timed yet, once on a blank input (default true): it loads the model. */
  readonly measure?: boolean;
}

/** What `timings.json` keeps per model: what the last run measured. */
interface RecordedTiming {
  readonly meanMs: number;
  readonly runs: number;
  readonly runsPerImage?: number;
  readonly at: string;
}
interface TimingsFile {
  readonly machine: { readonly cores: number; readonly cpu: string };
  readonly models: Readonly<Record<string, RecordedTiming>>;
}

const timingsPath = (dataDir: string): string => path.join(dataDir, 'timings.json');
const thisMachine = () => ({ cores: os.cpus().length, cpu: os.cpus()[0]?.model.trim() ?? 'unknown' });

/**
 * Keeps what a run measured per model (report.json's `models`) for the next `--dry-run` to
 * estimate from. A model the run did not use keeps its earlier timing; `images` (the run's canvas
 * images) gives runs per image (text lines make several recognition runs per page).
 */
export async function recordTimings(dataDir: string, models: Readonly<Record<string, NonNullable<ModelReadiness['timing']>>>, opts: { images?: number } = {}): Promise<void> {
  const earlier = await readTimings(dataDir);
  const at = new Date().toISOString();
  const measured = Object.entries(models).filter(([, m]) => m.runs > 0);
  if (measured.length === 0) return;
  const next: TimingsFile = {
    machine: thisMachine(),
    models: {
      ...earlier?.models,
      ...Object.fromEntries(
        measured.map(([id, m]) => [id, { meanMs: m.meanMs, runs: m.runs, ...(opts.images && { runsPerImage: Math.round((m.runs / opts.images) * 100) / 100 }), at }]),
      ),
    },
  };
  await fs.mkdir(dataDir, { recursive: true });
  const file = timingsPath(dataDir);
  // Written aside and renamed: two runs ending together leave one whole file, never a torn one.
  await fs.writeFile(`${file}.${process.pid}`, JSON.stringify(next, null, 2));
  await fs.rename(`${file}.${process.pid}`, file);
}

async function readTimings(dataDir: string): Promise<TimingsFile | undefined> {
  try {
    return JSON.parse(await fs.readFile(timingsPath(dataDir), 'utf8')) as TimingsFile;
  } catch {
    // None yet, or unreadable: the plan measures what it needs.
    return undefined;
  }
}

/** The models a stage runs for its options, by card id (the engine's ids, as report.json names them). */
function modelsOf(config: LoupeConfig, stage: StageName, options: Readonly<Record<string, unknown>> | undefined, ocr: OcrJobOptions | undefined, linesFound: boolean): string[] {
  // Lines found in preprocess are read in detect; found nowhere else, detect.text finds them itself.
  const reader = ocr?.engine === 'ppocr' ? ['ppocr-v4-rec'] : ['tesseract-lstm'];
  const text = [...(linesFound ? [] : ['ppocr-v4-det', 'ppocr-mobile-v2-cls']), ...reader];
  switch (stage) {
    case 'preprocess':
      return [
        ...(options?.['orientation'] === 'text' ? ['ppocr-v4-det', 'ppocr-mobile-v2-cls'] : []),
        ...(options?.['orientation'] === 'model' && config.orientationModel ? [config.orientationModel] : []),
      ];
    case 'detect': {
      const kinds = (options?.['kinds'] as string[] | undefined) ?? ['objects', 'faces'];
      return [...(kinds.includes('objects') ? [config.objectModel] : []), ...(kinds.includes('faces') ? [config.faceModel] : []), ...(kinds.includes('text') ? text : [])];
    }
    case 'detect.text':
      return text;
    case 'embed':
      return [config.embedModel];
    case 'classify':
      // A head runs on its embedding (CLIP's image tower for the heads Loupe trains); its own matrix is not a model run.
      return ['clip-vit-b32-image'];
    default:
      return [];
  }
}

/**
 * What `loupe run` would do, without doing it: harvests the source under the same rules as a run
 * (its folder readable for a local manifest, LOUPE_MAX_CANVASES), plans each canvas image's
 * request from its service's info.json (the only requests made: no image bytes are fetched), and
 * estimates inference time from the models' timings recorded on this machine.
 */
export async function planRun(config: LoupeConfig, opts: PlanOptions): Promise<RunPlan> {
  const [{ createDocumentLoader, harvest, parseImageInfo, planImageRequest }, { routeOf, stageOptionsOf }, { fetcherFromConfig }, { upscaleHinter }] = await Promise.all([
    import('@loupe/iiif'),
    import('@loupe/service-gateway'),
    import('./fetcher.js'),
    import('./preflight-upscale.js'),
  ]);
  const source = resolveSource(opts.source);
  const skip = opts.skip ?? [];
  // The job's route, as the gateway makes it: a skip the pipeline refuses is refused here too.
  const { ocr, classify, enhance, caption, explain } = opts;
  const asked = { ...(ocr && { ocr }), ...(classify && { classify }), ...(enhance && { enhance }), ...(caption && { caption }), ...(explain && { explain }) };
  const route = routeOf(opts.pipeline, stageOptionsOf({ pipeline: opts.pipeline, skip: skip as never, ...asked }));
  const fetcher = fetcherFromConfig(config, { warn: () => {} });
  const load = createDocumentLoader(fetcher, { files: isUrl(source) ? 'none' : [path.dirname(source)] });

  const manifests: RunPlan['manifests'][number][] = [];
  const images: PlannedImage[] = [];
  const errors: RunPlan['errors'][number][] = [];
  const hints: string[] = [];
  const offer = upscaleHinter(config, opts.pipeline, opts.enhance, fetcher);
  for await (const event of harvest(source, load, { maxCanvases: config.maxCanvasesPerJob })) {
    if (event.type === 'error') {
      errors.push({ document: event.error.document, code: event.error.code, message: event.error.message });
      continue;
    }
    const { manifest } = event;
    manifests.push({ id: manifest.id, label: manifest.label, canvases: manifest.canvases.length });
    const hint = await offer(manifest);
    if (hint) hints.push(hint);
    for (const canvas of manifest.canvases) {
      for (const image of canvas.images) {
        const at = { canvas: canvas.id, label: canvas.label };
        if (!image.service) {
          images.push({ ...at, request: image.id, width: image.width ?? canvas.width, height: image.height ?? canvas.height, from: 'manifest' });
          continue;
        }
        const infoUrl = `${image.service.id}/info.json`;
        try {
          const info = parseImageInfo(await fetcher.getJson(infoUrl), infoUrl);
          const plan = planImageRequest(info, image.region ? { fit: FETCH_FIT, region: image.region } : { fit: FETCH_FIT });
          const request = plan.kind === 'single' ? plan.url! : `${plan.tiles!.length} tiles of ${image.service.id}`;
          images.push({ ...at, request, width: plan.width, height: plan.height, from: 'info.json' });
        } catch (err) {
          images.push({ ...at, request: infoUrl, width: 0, height: 0, from: 'info.json', problem: (err as Error).message });
        }
      }
    }
  }

  const linesFound = route.some((r) => r.stage === 'preprocess' && r.options?.['orientation'] === 'text');
  const recorded = (await readTimings(config.dataDir))?.models ?? {};
  const wanted = route.map((r) => ({ stage: r.stage, ...(r.options && { options: r.options }), ids: modelsOf(config, r.stage, r.options, opts.ocr, linesFound) }));
  const missing = [...new Set(wanted.flatMap((s) => s.ids))].filter((id) => !recorded[id]);
  const measured = opts.measure === false || missing.length === 0 ? new Map<string, number>() : await measureNow(config, missing);
  const modelOf = (id: string): PlannedModel => {
    const r = recorded[id];
    if (r) return { id, meanMs: r.meanMs, runsPerImage: r.runsPerImage ?? 1, timing: 'recorded' };
    const ms = measured.get(id);
    return ms === undefined ? { id, meanMs: undefined, runsPerImage: 1, timing: 'unknown' } : { id, meanMs: ms, runsPerImage: 1, timing: 'measured now' };
  };
  const stages = wanted.map(({ ids, ...s }) => ({ ...s, models: ids.map(modelOf) }));
  const all = stages.flatMap((s) => s.models);
  const perImageMs = Math.round(all.reduce((sum, m) => sum + (m.meanMs ?? 0) * m.runsPerImage, 0));
  const untimed = [...new Set(all.filter((m) => m.meanMs === undefined).map((m) => m.id))];
  const fetchable = images.filter((i) => !i.problem).length;
  return {
    source,
    pipeline: opts.pipeline,
    skip,
    manifests,
    images,
    hints,
    errors,
    stages,
    estimate: { perImageMs, totalMs: perImageMs * fetchable, untimed, machine: thisMachine() },
  };
}

/** The text models: their cost depends on the page, so they are timed reading one, not on a blank input. */
const TEXT_MODELS = new Set(['ppocr-v4-det', 'ppocr-mobile-v2-cls', 'ppocr-v4-rec', 'tesseract-lstm']);

/**
 * Models with no timing recorded on this machine, timed now. An image model with a fixed input
 * size is timed by the engine's warm-up (one run on a blank input of that size; a first run is
 * slower than the ones after it, so the estimate errs long). The text models are timed reading a
 * rendered page of 24 lines (1400 px wide), as a text pipeline does: finding the lines (detector,
 * classifier and the reading check, all counted to the detector), then reading them. A model that
 * cannot be opened (not installed) stays unmeasured.
 */
async function measureNow(config: LoupeConfig, ids: readonly string[]): Promise<Map<string, number>> {
  const { openProcessModels } = await import('@loupe/inference');
  const models = openProcessModels({ modelsDir: config.modelsDir, executionProvider: config.executionProvider, inferenceThreads: config.inferenceThreads });
  const out = new Map<string, number>();
  try {
    for (const id of ids.filter((i) => !TEXT_MODELS.has(i))) {
      const opened = await models.open(id).catch(() => undefined);
      const warm = opened && models.engine.readiness().models.find((m) => m.id === id)?.warmUpMs;
      if (warm !== undefined) out.set(id, Math.round(warm));
    }
    const text = ids.filter((i) => TEXT_MODELS.has(i));
    if (text.length > 0) for (const [id, ms] of await timeTextPage(await models.textRecognizer(), text)) out.set(id, ms);
  } finally {
    await models.close();
  }
  return out;
}

/** Times finding and reading the lines of a rendered page, per text model asked for. */
async function timeTextPage(ppocr: TextRecognizer, ids: readonly string[]): Promise<Map<string, number>> {
  const [{ renderTextPage, SAMPLE_TEXTS }, { createTesseractRecognizer }, { default: sharp }] = await Promise.all([import('@loupe/demo'), import('@loupe/inference'), import('sharp')]);
  const lines = Object.values(SAMPLE_TEXTS).flat().slice(0, 24);
  const page = await renderTextPage({ lines, font: 'serif', sizePt: 14, width: 1400 });
  const { data, info } = await sharp(page.image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const image = { data, width: info.width, height: info.height, channels: 3 as const };
  const out = new Map<string, number>();
  let t = performance.now();
  const found = (await ppocr.findLines(image)).lines;
  out.set('ppocr-v4-det', Math.round(performance.now() - t));
  out.set('ppocr-mobile-v2-cls', 0);
  if (ids.includes('ppocr-v4-rec')) {
    t = performance.now();
    await ppocr.readLines(image, found);
    out.set('ppocr-v4-rec', Math.round(performance.now() - t));
  }
  if (ids.includes('tesseract-lstm')) {
    const tesseract = createTesseractRecognizer({ languages: ['eng'] });
    try {
      // The first page loads the worker and its model, which a run does once: the second is timed.
      await tesseract.readLines(image, found.slice(0, 2));
      t = performance.now();
      await tesseract.readLines(image, found);
      out.set('tesseract-lstm', Math.round(performance.now() - t));
    } finally {
      await tesseract.close();
    }
  }
  return out;
}

const seconds = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

/** The plan as a person reads it at a terminal: the images and their requests, the stages and their models, the estimate. */
export function formatRunPlan(plan: RunPlan): string {
  const lines: string[] = [];
  const canvases = new Set(plan.images.map((i) => i.canvas)).size;
  lines.push(`${plan.source}: ${plan.manifests.length} manifest(s), ${canvases} canvases, ${plan.images.length} images (pipeline ${plan.pipeline}${plan.skip.length ? `, skipping ${plan.skip.join(', ')}` : ''})`);
  lines.push('', 'requests (planned from each image service\'s info.json, fitted to 2048 px; no image was fetched):');
  const shown = plan.images.slice(0, 20);
  const width = Math.max(5, ...shown.map((i) => i.label.length));
  for (const i of shown) {
    const size = i.problem ? 'cannot plan' : `${i.width}x${i.height}${i.from === 'manifest' ? ' (whole file; size from the manifest)' : ''}`;
    lines.push(`  ${i.label.padEnd(width)}  ${size.padEnd(12)}  ${i.problem ?? i.request}`);
  }
  if (plan.images.length > shown.length) lines.push(`  ... and ${plan.images.length - shown.length} more`);
  for (const h of plan.hints) lines.push(`  ${h}`);
  for (const e of plan.errors) lines.push(`  cannot read ${e.document}: ${e.code}: ${e.message}`);
  lines.push('', 'stages (models, mean time per image):');
  for (const s of plan.stages) {
    const models = s.models.map((m) => `${m.id} ${m.meanMs === undefined ? '?' : `${Math.round(m.meanMs * m.runsPerImage)} ms`}${m.timing === 'recorded' ? '' : ` (${m.timing})`}`);
    lines.push(`  ${s.stage.padEnd(12)}  ${models.length ? models.join(', ') : 'no model'}`);
  }
  const { perImageMs, totalMs, untimed, machine } = plan.estimate;
  lines.push('', `estimate: ${seconds(perImageMs)} of inference per image, ${seconds(totalMs)} in all, on this machine (${machine.cores} cores, ${machine.cpu}); fetching comes on top`);
  if (untimed.length > 0) lines.push(`  not counted: ${untimed.join(', ')} (no timing on this machine; see docs/pipelines.md for its cost)`);
  return lines.join('\n');
}
