import {
  DETECT_KINDS,
  LoupeError,
  SERVICE_APIS,
  defineHandler,
  stageResult,
  type DetectKind,
  type Finding,
  type FindingsOutput,
  type ResultSet,
  type ServiceDefinition,
  type StageInput,
  type StageResults,
} from '@loupe/contracts';
import { fetchCanvasImage, fetchHints, type CanvasImage, type Fetcher } from '@loupe/iiif';
import type { Detector, TextRecognizer } from '@loupe/inference';

export interface DetectDeps {
  readonly fetcher: Fetcher;
  /** Loads the text models (through the process's inference engine, which /readyz reports). */
  readonly textRecognizer: () => Promise<TextRecognizer>;
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

export function createDetectService(deps: DetectDeps): ServiceDefinition {
  const fetchSize = deps.textFetchSize ?? 2048;
  let recognizer: TextRecognizer | undefined;

  /** The canvas image fitted inside size x size, turned (and, with `region`, cut) as preprocess said. */
  const fetchFitting = (task: StageInput['task'], prepared: Prepared, size: number, use: { region: boolean }): Promise<CanvasImage> =>
    fetchCanvasImage(deps.fetcher, task.image, { width: task.canvasWidth, height: task.canvasHeight }, { fit: { width: size, height: size } }, fetchHints(prepared, use));

  /** Text lines as one result set; a page preprocess found upside down is fetched turned upright, and boxes are mapped back. */
  async function readText(task: StageInput['task'], prepared: Prepared, signal: AbortSignal, working: () => void = () => {}): Promise<FindingsOutput> {
    if (!recognizer) throw new LoupeError('LOUPE_ERR_NOT_READY', 'the text models are still loading');
    const started = performance.now();
    // Text reads the whole page, not the object background removal may have found.
    const fetched = await fetchFitting(task, prepared, fetchSize, { region: false });
    const fetchMs = performance.now() - started;
    working();
    const lines = await recognizer.recognize(fetched, { signal });
    const findings: Finding[] = lines
      .filter((line) => line.text.trim() !== '')
      .map((line) => ({
        motivation: 'supplementing',
        text: line.text,
        confidence: Math.min(1, Math.max(0, line.confidence)),
        box: fetched.toCanvas(line.box),
      }));
    return { resultSet: resultSet(task, 'text', recognizer.model, findings), ms: { fetch: fetchMs, total: performance.now() - started } };
  }

  const text = defineHandler({
    ...SERVICE_APIS.detect.text,
    async handler({ task, results }, ctx) {
      return readText(task, stageResult(results, 'preprocess'), ctx.signal, () => ctx.working());
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
    return { model: detector.model, findings };
  };

  const detect = defineHandler({
    ...SERVICE_APIS.detect.detect,
    async handler({ task, results, options }, ctx) {
      const kinds = kindsOf(options);
      const minScore = minScoreOf(options);
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
        const out = await readText(task, prepared, ctx.signal);
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
    description: 'Detects objects (COCO, with Wikidata URIs), faces and text (PP-OCRv4) as regions of the canvas',
    handlers: [text, detect],
    async start() {
      recognizer = await deps.textRecognizer();
    },
    readiness: () => ({
      text: recognizer ? recognizer.readiness() : 'loading',
      objects: loaded.get('objects')?.model ?? (deps.detector ? 'loads on first use' : 'not configured'),
      faces: loaded.get('faces')?.model ?? (deps.detector ? 'loads on first use' : 'not configured'),
    }),
  };
}
