// `loupe run`'s checks before anything is harvested: what a run would otherwise find out canvas by
// canvas, minutes in (a missing head fails every canvas), is found here in a second and said once
// with its fix. Each check reads what the run itself would read, the same way: the output folder,
// the source through the process's fetcher rules, the model registry, the heads and vocabularies.
import fs from 'node:fs/promises';
import path from 'node:path';
import { LoupeError, PIPELINES, toLoupeError, type ClassifyOptions, type CreateJobInput, type OcrJobOptions, type PipelineName } from '@loupe/contracts';
import type { HarvestedManifest } from '@loupe/iiif';
import { PPOCR_CARD_IDS, TESSERACT_ENGINE_ID, type ModelTask, type Registry } from '@loupe/inference';
import { enhanceCards, FOREGROUND_MODEL } from '@loupe/service-preprocess';
import type { LoupeConfig } from './config.js';
import { isUrl } from './source-path.js';
import { annotationStoreFromConfig, headsDir } from './stores.js';

export interface PreflightInput {
  /** A URL, or a local file's absolute path (resolveSource). */
  readonly source: string;
  readonly outDir: string;
  readonly pipeline: PipelineName;
  readonly classify?: ClassifyOptions | undefined;
  readonly ocr?: OcrJobOptions | undefined;
  readonly enhance?: CreateJobInput['enhance'] | undefined;
  /** The caption stage's options: a captioning model named there must be installed. */
  readonly caption?: CreateJobInput['caption'] | undefined;
  /** Where advice goes that stops nothing (the upscaling offer); without it, none is looked for. */
  readonly hint?: ((line: string) => void) | undefined;
}

/** A model the run will load, and the part of the pipeline that loads it (said when it is missing). */
interface NeededModel {
  readonly task: ModelTask;
  readonly id: string;
  readonly for: string;
}

/**
 * Checks that the run can start, all at once so that one answer lists every problem; throws a
 * LoupeError (the first problem's code) whose message says each problem and its fix, one a line.
 */
export async function preflight(config: LoupeConfig, input: PreflightInput): Promise<void> {
  const [source, models] = await Promise.all([checkSource(config, input.source), checkModels(config, input)]);
  const problems = [source.problem, ...models].filter((p): p is LoupeError => p !== undefined);
  if (problems.length === 0) {
    if (source.manifest && input.hint) await offerUpscale(config, input, source.manifest, input.hint);
    return;
  }
  if (problems.length === 1) throw problems[0]!;
  throw new LoupeError(problems[0]!.code, `${problems.length} problems before the run could start:\n  ${problems.map((p) => p.message).join('\n  ')}`, {
    details: { problems: problems.map((p) => p.toJSON()) },
  });
}

/**
 * The folder exists (made if need be) and takes a file where the run keeps its job: checked first,
 * before the run opens its job store there; the other checks wait until the run knows it is not
 * refusing (another run writing into the folder, an interrupted run not resumed).
 */
export async function outDirProblem(outDir: string): Promise<LoupeError | undefined> {
  const probe = path.join(outDir, '.loupe', `write-check-${process.pid}`);
  try {
    await fs.mkdir(path.dirname(probe), { recursive: true });
    await fs.writeFile(probe, '');
    await fs.rm(probe);
    return undefined;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const at = e.path !== undefined && e.path !== outDir ? ` (${e.code ?? 'error'} at ${e.path})` : ` (${e.code ?? e.message})`;
    return new LoupeError('LOUPE_ERR_VALIDATION', `cannot write into ${outDir}${at}: choose another --out, or make it writable`, { cause: err, details: { outDir } });
  }
}

const SOURCE_FIXES: readonly (readonly [prefix: string, fix: string])[] = [
  ['LOUPE_ERR_FETCH_NETWORK', 'is the server up and the URL right? try again later'],
  ['LOUPE_ERR_FETCH_TIMEOUT', 'the server did not answer in time: try again later, or raise LOUPE_FETCH_TIMEOUT_MS'],
  ['LOUPE_ERR_FETCH_HTTP_RETRYABLE', 'the server is overloaded or failing: try again later'],
  ['LOUPE_ERR_FETCH_EGRESS_REFUSED', 'let its host through with LOUPE_FETCH_ALLOW (docs/security.md)'],
  ['LOUPE_ERR_NOT_FOUND', 'check the path'],
  ['LOUPE_ERR_IIIF_', "give a IIIF manifest or collection (its JSON, not the viewer's web page)"],
  ['LOUPE_ERR_FETCH_CONTENT_TYPE', "give a IIIF manifest or collection (its JSON, not the viewer's web page)"],
];

/**
 * One read of the source, as the harvest will read it: it answers, it is JSON, and it is a IIIF
 * manifest or collection; a manifest comes back parsed.
 */
async function checkSource(config: LoupeConfig, source: string): Promise<{ problem?: LoupeError; manifest?: HarvestedManifest }> {
  const [{ createDocumentLoader, parseManifest }, { fetcherFromConfig }] = await Promise.all([import('@loupe/iiif'), import('./fetcher.js')]);
  // Not through the cache: a check must not decide what the harvest reads (the manifest as it is now).
  const load = createDocumentLoader(fetcherFromConfig(config, undefined, { cache: false }), { files: isUrl(source) ? 'none' : [path.dirname(source)] });
  try {
    const document = await load(source);
    // A collection's manifests are the harvest's to read: one failing fails its canvases, not the run.
    return isCollection(document) ? {} : { manifest: parseManifest(document, source) };
  } catch (err) {
    const e = toLoupeError(err);
    const fix = SOURCE_FIXES.find(([prefix]) => e.code.startsWith(prefix))?.[1];
    return { problem: new LoupeError(e.code, `cannot read the manifest or collection: ${e.message}${fix ? `; ${fix}` : ''}`, { cause: err, details: { source } }) };
  }
}

/**
 * The planner's upscaling offer for the manifest's first canvases, said in one line when the
 * pipeline wants more pixels than its server gives. Through the cached fetcher: the run then reads
 * the same info.json documents from the cache.
 */
async function offerUpscale(config: LoupeConfig, input: PreflightInput, manifest: HarvestedManifest, hint: (line: string) => void): Promise<void> {
  const [{ upscaleHinter }, { fetcherFromConfig }] = await Promise.all([import('./preflight-upscale.js'), import('./fetcher.js')]);
  const line = await upscaleHinter(config, input.pipeline, input.enhance, fetcherFromConfig(config, { warn: () => {} }))(manifest);
  if (line) hint(line);
}

function isCollection(document: unknown): boolean {
  const d = document as { type?: unknown; '@type'?: unknown } | null;
  return typeof d === 'object' && d !== null && (d.type === 'Collection' || d['@type'] === 'sc:Collection');
}

const FOREGROUND: NeededModel = { task: 'background-removal', id: FOREGROUND_MODEL, for: 'background removal (preprocess)' };
// PP-OCR's three models load together: the detector finds the lines, the classifier and the
// recogniser (reading the longest lines both ways up) decide which way the page reads.
const TEXT_LINES: readonly NeededModel[] = [
  { task: 'text-detection', id: PPOCR_CARD_IDS.det, for: 'finding text lines' },
  { task: 'text-direction', id: PPOCR_CARD_IDS.cls, for: 'finding text lines' },
  { task: 'text-recognition', id: PPOCR_CARD_IDS.rec, for: 'finding text lines, and reading them (PP-OCR)' },
];
const TESSERACT: NeededModel = { task: 'text-recognition', id: TESSERACT_ENGINE_ID, for: 'reading text (Tesseract)' };

/** The models each stage of the pipeline loads, as the services' factories choose them from the configuration. */
function pipelineModels(config: LoupeConfig, pipeline: PipelineName, ocr: OcrJobOptions | undefined): NeededModel[] {
  const needed: NeededModel[] = [];
  for (const step of PIPELINES[pipeline]) {
    const options = step.options ?? {};
    const kinds = (options['kinds'] as string[] | undefined) ?? [];
    if (step.stage === 'preprocess') {
      if (options['foreground'] || options['mask']) needed.push(FOREGROUND);
      if (config.orientationModel) needed.push({ task: 'orientation', id: config.orientationModel, for: 'LOUPE_ORIENTATION_MODEL' });
      if (options['orientation'] === 'text') needed.push(...TEXT_LINES);
    }
    if (step.stage === 'detect.text' || kinds.includes('text')) {
      // Tesseract reads unless the job asks for PP-OCR (chooseOcr in services/detect).
      needed.push(...TEXT_LINES, ...(ocr?.engine !== 'ppocr' ? [TESSERACT] : []));
    }
    if (kinds.includes('objects')) needed.push({ task: 'object-detection', id: config.objectModel, for: 'object detection (LOUPE_OBJECT_MODEL)' });
    if (kinds.includes('faces')) needed.push({ task: 'face-detection', id: config.faceModel, for: 'face detection (LOUPE_FACE_MODEL)' });
    if (step.stage === 'embed') needed.push({ task: 'image-embedding', id: config.embedModel, for: 'image embeddings (LOUPE_EMBED_MODEL)' });
  }
  return needed;
}

/** Every model the run needs is installed with the bytes its card pins; for classify, the head or vocabulary exists first. */
async function checkModels(config: LoupeConfig, input: PreflightInput): Promise<LoupeError[]> {
  const { openRegistry } = await import('@loupe/inference');
  const registry = openRegistry({ modelsDir: config.modelsDir });
  const needed = pipelineModels(config, input.pipeline, input.ocr);
  if (input.enhance) {
    try {
      needed.push(...enhanceCards(input.enhance).map((step) => ({ task: step.task, id: step.id, for: 'enhancement (--enhance)' })));
    } catch (err) {
      return [toLoupeError(err)];
    }
  }
  // A model named for the caption stage: missing, every canvas would fail on it.
  if (input.caption?.model) needed.push({ task: 'captioning', id: input.caption.model, for: 'the caption (--caption-model)' });
  if (input.pipeline === 'classify') {
    const classify = await classifyModels(config, registry, input.classify ?? {}, input.hint);
    // A missing head or vocabulary is the problem to fix: what its model would need comes after.
    if (classify instanceof LoupeError) return [classify];
    needed.push(...classify);
  }
  const seen = new Set<string>();
  const problems: LoupeError[] = [];
  for (const model of needed) {
    if (seen.has(model.id)) continue;
    seen.add(model.id);
    const problem = await checkModel(registry, model);
    if (problem) problems.push(problem);
  }
  return problems;
}

async function checkModel(registry: Registry, model: NeededModel): Promise<LoupeError | undefined> {
  try {
    const { findModel } = await import('@loupe/inference');
    const entry = registry.get(model.id);
    if (entry?.kind === 'engine') {
      if (entry.state !== 'installed') return new LoupeError('LOUPE_ERR_MODEL_NOT_INSTALLED', `${model.for} needs ${model.id}, which is ${entry.state}: loupe models verify ${model.id} says why`);
      return undefined;
    }
    findModel(registry, model.task, model.id);
    await registry.resolve(model.id); // hashes its files once: the run's own load then costs a stat
    return undefined;
  } catch (err) {
    const e = toLoupeError(err);
    const fix = e.code === 'LOUPE_ERR_MODEL_CHECKSUM' ? `; loupe models pull ${model.id} fetches it again` : '';
    return new LoupeError(e.code, `${model.for} needs ${model.id}: ${e.message}${fix}`, { cause: err, details: { model: model.id, task: model.task } });
  }
}

/**
 * The head's embedding model, or CLIP's two towers for a vocabulary; or, when the head or the
 * vocabulary does not exist, that problem and nothing about models. A head close to chance is
 * said to be, through the hint.
 */
async function classifyModels(config: LoupeConfig, registry: Registry, opts: ClassifyOptions, hint: PreflightInput['hint']): Promise<NeededModel[] | LoupeError> {
  const head = opts.head ?? (opts.vocabulary === undefined ? config.classifyHead : undefined);
  if (head !== undefined) {
    const { closeToChance, headHome, loadHead, listVersions } = await import('@loupe/heads');
    // The user's heads first, then those Loupe ships (the watermark head).
    const dir = await headHome(headsDir(config), head);
    try {
      if ((await listVersions(dir, head)).length === 0) {
        return new LoupeError('LOUPE_ERR_NOT_FOUND', `no classification head ${head} in ${dir}: loupe train --dataset <name> --head ${head} makes one`, { details: { head, dir } });
      }
      const trained = await loadHead(dir, head, opts.headVersion);
      const caution = closeToChance(trained);
      if (caution !== undefined) hint?.(caution);
      return [{ task: 'image-embedding', id: trained.embedding.model, for: `head ${head}` }];
    } catch (err) {
      return toLoupeError(err);
    }
  }
  if (opts.vocabulary === undefined) {
    return new LoupeError('LOUPE_ERR_VALIDATION', 'pipeline classify needs --head <id> (a head loupe train made) or --vocabulary <id> (zero-shot), or LOUPE_CLASSIFY_HEAD');
  }
  const store = await annotationStoreFromConfig(config);
  let vocabulary;
  try {
    vocabulary = await store.getVocabulary(opts.vocabulary);
  } finally {
    await store.close();
  }
  if (!vocabulary) {
    return new LoupeError('LOUPE_ERR_NOT_FOUND', `no vocabulary ${opts.vocabulary}: \`loupe vocab list\` shows the ones imported; \`loupe vocab import <file>\` adds one`, {
      details: { vocabulary: opts.vocabulary },
    });
  }
  if (vocabulary.concepts.length < 2) {
    return new LoupeError('LOUPE_ERR_VALIDATION', `vocabulary ${opts.vocabulary} has ${vocabulary.concepts.length} concept(s): a classifier needs two or more`);
  }
  const text = registry.get(config.textModel);
  const imageModel = text?.kind === 'model' ? text.card.output.options?.['imageModel'] : undefined;
  const zeroShot = `zero-shot classification (LOUPE_TEXT_MODEL)`;
  return [{ task: 'text-embedding', id: config.textModel, for: zeroShot }, ...(typeof imageModel === 'string' ? [{ task: 'image-embedding' as const, id: imageModel, for: zeroShot }] : [])];
}
