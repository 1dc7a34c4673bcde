import {
  DETECT_KINDS,
  LoupeError,
  OCR_ENGINES,
  OCR_LANGUAGES,
  OcrJobOptions,
  SERVICE_APIS,
  defineHandler,
  languageTag,
  stageResult,
  type DetectKind,
  type Finding,
  type FindingsOutput,
  type OcrPage,
  type ResultSet,
  type ServiceDefinition,
  type StageInput,
  type StageResults,
} from '@loupe/contracts';
import { Value } from '@sinclair/typebox/value';
import { fetchCanvasImage, fetchHints, type CanvasImage, type Fetcher } from '@loupe/iiif';
import type { Detector, TesseractRecognizer, TextRecognizer } from '@loupe/inference';
import { boxExplainHandler } from './box.explain.handler.js';
import { recognizerPool } from './recognizer-pool.js';
import { linesFromPreprocess, pageOnCanvas, withPixelsForText } from './text-geometry.js';
import { chooseOcr, readPage, tesseractModel } from './text-page.js';

export interface DetectDeps {
  readonly fetcher: Fetcher;
  /** Loads the text models (through the process's inference engine, which /readyz reports). */
  readonly textRecognizer: () => Promise<TextRecognizer>;
  /** A Tesseract recogniser for these languages (the job's `ocr` option), made once per language set. */
  readonly tesseract?: (languages: readonly string[]) => TesseractRecognizer;
  /** The image is fetched to fit inside this square: text needs more pixels than most models. */
  readonly textFetchSize?: number;
  /** Opens the object detector (LOUPE_OBJECT_MODEL) or the face detector (LOUPE_FACE_MODEL), once each. */
  readonly detector?: (kind: 'objects' | 'faces') => Promise<Detector>;
  /** Objects and faces are found on the image fetched to fit this square (the detectors take 256-512 px). */
  readonly imageFetchSize?: number;
}

/** What preprocess said about the image, if it ran. */
type Prepared = StageResults['preprocess'] | undefined;

const STAGE_OF: Record<DetectKind, string> = { objects: 'detect.objects', faces: 'detect.faces', text: 'detect.text' };

/** Everything one model found on one image, under the stage of its kind. */
function resultSet(task: StageInput['task'], kind: DetectKind, model: ResultSet['model'], findings: Finding[]): ResultSet {
  return {
    manifestId: task.manifestId,
    canvasId: task.canvasId,
    imageIndex: task.imageIndex,
    stage: STAGE_OF[kind],
    model,
    generated: new Date().toISOString(),
    findings,
  };
}

/** Options of the detect stage (pipeline options, or `options` in the HTTP body). */
function kindsOf(options: Record<string, unknown>): DetectKind[] {
  const raw = options['kinds'] ?? ['objects', 'faces'];
  if (!Array.isArray(raw) || raw.length === 0 || raw.some((k) => !DETECT_KINDS.includes(k as DetectKind))) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `options.kinds must be a non-empty list of ${DETECT_KINDS.join(', ')}; got ${JSON.stringify(raw)}`, {
      details: { kinds: raw },
    });
  }
  return [...new Set(raw as DetectKind[])];
}

function minScoreOf(options: Record<string, unknown>): number | undefined {
  const v = options['minScore'];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new LoupeError('LOUPE_ERR_VALIDATION', `options.minScore must be a number from 0 to 1; got ${JSON.stringify(v)}`);
  return v;
}

/** The job's `ocr` option (under `ocr` in the stage options), as given: absent when the job chose nothing. */
function ocrOf(options: Record<string, unknown>): OcrJobOptions | undefined {
  const raw = options['ocr'];
  if (raw === undefined) return undefined;
  if (!Value.Check(OcrJobOptions, raw)) {
    const first = Value.Errors(OcrJobOptions, raw).First();
    throw new LoupeError('LOUPE_ERR_VALIDATION', `options.ocr${first?.path ?? ''} ${first?.message ?? 'is not an ocr option'}; got ${JSON.stringify(raw)}`, {
      details: { ocr: raw, allowed: { engine: OCR_ENGINES, languages: OCR_LANGUAGES } },
    });
  }
  return raw;
}

/**
 * One annotation per line in reading order, each followed by its words' when the job asks for
 * words (a viewer that highlights search hits wants them; most want only the lines).
 */
function textFindings(page: OcrPage, words: boolean): Finding[] {
  return page.blocks.flatMap((block) =>
    block.lines.flatMap((line) => {
      const tag = line.language && languageTag(line.language);
      const language = tag ? { language: tag } : {};
      const said: Finding = { motivation: 'supplementing', text: line.text, granularity: 'line', confidence: line.confidence, box: line.box, ...language };
      if (!words) return [said];
      const inLine = line.words.map((w): Finding => ({ motivation: 'supplementing', text: w.text, granularity: 'word', confidence: w.confidence, box: w.box, ...language }));
      return [said, ...inLine];
    }),
  );
}

/**
 * Tesseract language sets held at once: each is a wasm worker of a few hundred MB, and a job may
 * name any ordered subset of the installed languages.
 */
const MAX_TESSERACT_SETS = 2;

export function createDetectService(deps: DetectDeps): ServiceDefinition {
  const fetchSize = deps.textFetchSize ?? 2048;
  let recognizer: TextRecognizer | undefined;
  // Kept per language set (a Tesseract worker takes ~0.5 s to load its models), a bounded few.
  const tesseracts = deps.tesseract && recognizerPool(deps.tesseract, MAX_TESSERACT_SETS);
  const tesseractFor = (languages: readonly string[]): TesseractRecognizer => {
    if (!tesseracts) throw new LoupeError('LOUPE_ERR_NOT_READY', 'this detect service has no Tesseract engine configured');
    return tesseracts.get(languages);
  };

  /** The canvas image fitted inside size x size, turned (and, with `region`, cut) as preprocess said. */
  const fetchFitting = (task: StageInput['task'], prepared: Prepared, size: number, use: { region: boolean }): Promise<CanvasImage> =>
    fetchCanvasImage(deps.fetcher, task.image, { width: task.canvasWidth, height: task.canvasHeight }, { fit: { width: size, height: size } }, fetchHints(prepared, use));

  /**
   * Text lines as one result set, with the page laid out (blocks, lines, words) for ALTO and hOCR.
   * The lines are the ones preprocess found deciding the orientation (one detection pass per page);
   * only a caller that skipped that looks for them here. A page preprocess found upside down is
   * fetched turned upright, and boxes are mapped back to the canvas.
   */
  async function readText(task: StageInput['task'], prepared: Prepared, ocr: OcrJobOptions | undefined, signal: AbortSignal, working: () => void = () => {}): Promise<FindingsOutput> {
    if (!recognizer) throw new LoupeError('LOUPE_ERR_NOT_READY', 'the text models are still loading');
    const ppocr = recognizer;
    const choice = chooseOcr(ocr, task.languages);
    const started = performance.now();
    // Text reads the whole page, not the object background removal may have found.
    const fetched = await fetchFitting(task, prepared, fetchSize, { region: false });
    const fetchMs = performance.now() - started;
    working();
    const found = linesFromPreprocess(prepared, fetched) ?? (await ppocr.findLines(fetched, { signal })).lines;
    if (found.length === 0) {
      const model = choice.engine === 'ppocr' ? ppocr.model : tesseractModel(choice.languages);
      return { resultSet: resultSet(task, 'text', model, []), ms: { fetch: fetchMs, total: performance.now() - started } };
    }
    const sized = await withPixelsForText(deps.fetcher, task, prepared, fetched, found);
    const { model, page } = await readPage(sized.image, sized.lines, { ppocr, tesseract: tesseractFor }, choice, signal);
    const ocrPage = pageOnCanvas(page, sized.image, task);
    const findings = textFindings(ocrPage, ocr?.words === true);
    return { resultSet: { ...resultSet(task, 'text', model, findings), ocr: ocrPage }, ms: { fetch: fetchMs, total: performance.now() - started } };
  }

  const text = defineHandler({
    ...SERVICE_APIS.detect.text,
    async handler({ task, results, options }, ctx) {
      return readText(task, stageResult(results, 'preprocess'), ocrOf(options), ctx.signal, () => ctx.working());
    },
  });

  const detectors = new Map<'objects' | 'faces', Promise<Detector>>();
  const loaded = new Map<'objects' | 'faces', Detector>();
  const detectorFor = (kind: 'objects' | 'faces'): Promise<Detector> => {
    if (!deps.detector) throw new LoupeError('LOUPE_ERR_NOT_READY', `this detect service has no ${kind} detector configured`);
    let d = detectors.get(kind);
    if (!d) {
      d = deps.detector(kind).then((x) => (loaded.set(kind, x), x));
      // A failed load is tried again on the next request (a model pulled in the meantime).
      d.catch(() => detectors.delete(kind));
      detectors.set(kind, d);
    }
    return d;
  };
  const imageFetchSize = deps.imageFetchSize ?? 1024;

  const boxesOf = async (kind: 'objects' | 'faces', image: CanvasImage, minScore: number | undefined, signal: AbortSignal) => {
    const detector = await detectorFor(kind);
    const found = await detector.detect(image, { signal, ...(minScore !== undefined && { minScore }) });
    const findings: Finding[] = found.map((d) => ({
      motivation: 'tagging',
      label: d.label,
      ...(d.uri && { concept: d.uri }),
      confidence: Math.min(1, Math.max(0, d.score)),
      box: image.toCanvas(d.box),
    }));
    return { model: { ...detector.model, runtime: 'onnxruntime' }, findings };
  };

  const detect = defineHandler({
    ...SERVICE_APIS.detect.detect,
    async handler({ task, results, options }, ctx) {
      const kinds = kindsOf(options);
      const minScore = minScoreOf(options);
      const ocr = ocrOf(options);
      const prepared = stageResult(results, 'preprocess');
      const started = performance.now();
      const ms: Record<string, number> = {};
      const resultSets: ResultSet[] = [];
      const pictureKinds = kinds.filter((k): k is 'objects' | 'faces' => k !== 'text');
      if (pictureKinds.length > 0) {
        // One fetch for both detectors: the object preprocess found (if any), turned as preprocess said.
        const t0 = performance.now();
        const image = await fetchFitting(task, prepared, imageFetchSize, { region: true });
        ms['fetch'] = performance.now() - t0;
        for (const kind of pictureKinds) {
          ctx.working();
          const t1 = performance.now();
          const { model, findings } = await boxesOf(kind, image, minScore, ctx.signal);
          ms[kind] = performance.now() - t1;
          resultSets.push(resultSet(task, kind, model, findings));
        }
      }
      if (kinds.includes('text')) {
        ctx.working();
        const t2 = performance.now();
        const out = await readText(task, prepared, ocr, ctx.signal);
        ms['text'] = performance.now() - t2;
        resultSets.push(out.resultSet);
      }
      ms['total'] = performance.now() - started;
      return { resultSets, ms };
    },
  });

  return {
    name: 'detect',
    version: '0.2.0',
    description: 'Detects objects (COCO, with Wikidata URIs), faces and text (PP-OCRv4, or Tesseract LSTM per job) as regions of the canvas',
    handlers: [text, detect, boxExplainHandler({ fetcher: deps.fetcher, detectorFor })],
    async start() {
      recognizer = await deps.textRecognizer();
    },
    async stop() {
      await tesseracts?.close();
    },
    readiness: () => ({
      text: recognizer ? recognizer.readiness() : 'loading',
      tesseract: !tesseracts ? 'not configured' : tesseracts.keys().length > 0 ? tesseracts.keys().join(', ') : 'loads on first use',
      objects: loaded.get('objects')?.model ?? (deps.detector ? 'loads on first use' : 'not configured'),
      faces: loaded.get('faces')?.model ?? (deps.detector ? 'loads on first use' : 'not configured'),
    }),
  };
}
