import { FindingsOutput, SUBJECTS, StageInput, defineHandler, type Finding, type ServiceDefinition } from '@loupe/contracts';
import { LoupeError } from '@loupe/contracts';
import { fetchCanvasImage, fetchHints, type Fetcher } from '@loupe/iiif';
import type { TextRecognizer } from '@loupe/inference';

export interface DetectDeps {
  readonly fetcher: Fetcher;
  /** Loads the text models (through the process's inference engine, which /readyz reports). */
  readonly textRecognizer: () => Promise<TextRecognizer>;
  /** The image is fetched to fit inside this square: text needs more pixels than most models. */
  readonly textFetchSize?: number;
}

export function createDetectService(deps: DetectDeps): ServiceDefinition {
  const fetchSize = deps.textFetchSize ?? 2048;
  let recognizer: TextRecognizer | undefined;

  const text = defineHandler({
    name: 'text',
    summary: 'Text lines (OCR) on a canvas image: one supplementing annotation per line, boxed in canvas coordinates',
    subject: SUBJECTS.detectText,
    mode: 'queue',
    route: { method: 'POST', url: '/v1/detect/text' },
    input: StageInput,
    output: FindingsOutput,
    errors: [
      'LOUPE_ERR_VALIDATION',
      'LOUPE_ERR_NOT_READY',
      'LOUPE_ERR_FETCH_HTTP',
      'LOUPE_ERR_FETCH_TIMEOUT',
      'LOUPE_ERR_FETCH_CONTENT_TYPE',
      'LOUPE_ERR_IMAGE_DECODE',
      'LOUPE_ERR_IMAGE_TOO_MANY_PIXELS',
      'LOUPE_ERR_INFERENCE',
    ],
    async handler({ task, results }, ctx) {
      if (!recognizer) throw new LoupeError('LOUPE_ERR_NOT_READY', 'the text models are still loading');
      const started = performance.now();
      // A page preprocess found upside down is fetched turned upright; boxes are mapped back.
      const fetched = await fetchCanvasImage(
        deps.fetcher,
        task.image,
        { width: task.canvasWidth, height: task.canvasHeight },
        { fit: { width: fetchSize, height: fetchSize } },
        fetchHints(results.preprocess, { region: false }),
      );
      const fetchMs = performance.now() - started;
      ctx.working();
      const lines = await recognizer.recognize(fetched, { signal: ctx.signal });
      const findings: Finding[] = lines
        .filter((line) => line.text.trim() !== '')
        .map((line) => ({
          motivation: 'supplementing',
          text: line.text,
          confidence: Math.min(1, Math.max(0, line.confidence)),
          box: fetched.toCanvas(line.box),
        }));
      return {
        resultSet: {
          manifestId: task.manifestId,
          canvasId: task.canvasId,
          imageIndex: task.imageIndex,
          stage: 'detect.text',
          model: recognizer.model,
          generated: new Date().toISOString(),
          findings,
        },
        ms: { fetch: fetchMs, total: performance.now() - started },
      };
    },
  });

  return {
    name: 'detect',
    version: '0.1.0',
    description: 'Detects text (PP-OCRv4), and later objects and faces, as regions of the canvas',
    handlers: [text],
    async start() {
      recognizer = await deps.textRecognizer();
    },
    readiness: () => ({ text: recognizer ? recognizer.readiness() : 'loading' }),
  };
}
