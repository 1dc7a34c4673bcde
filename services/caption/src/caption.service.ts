import { LoupeError, SERVICE_APIS, defineHandler, stageResult, type ModelRef, type ResultSet, type ServiceDefinition, type StageInput } from '@loupe/contracts';
import { fetchHints } from '@loupe/iiif';
import { describeModels, type ModelRegistryLike } from '@loupe/inference';
import { captionLanguage, composeCaption, type ConceptLabel } from './caption.composer.js';
import { captionWithModel, type ModelCaptioning } from './caption.model.js';
import { captionOptions, type CaptionOptions } from './caption.options.js';

/**
 * The offline captioner's card: it writes no word of its own, only template words around what the
 * other models found, and its generator says so. Its version is the templates' version, so that a
 * change of wording shows in the layers and in a caption's review history.
 */
export const COMPOSED_CAPTION_MODEL = {
  id: 'loupe-composed-caption',
  version: '1.0.0',
  name: 'Loupe composed caption',
  runtime: 'composed from annotations',
} as const satisfies ModelRef;

export interface CaptionDeps {
  /** The model registry (built-in cards and LOUPE_MODELS_DIR). */
  readonly models: ModelRegistryLike;
  /** Concepts' preferred labels by language (the ground-truth store's vocabularies); without it, the classifier's label. */
  readonly conceptLabel?: ConceptLabel;
  /** When a caption was made (the result set's `generated`). */
  readonly now?: () => Date;
  /** Runs captioning models (POST /v1/caption, the stage's caption.model); without it only the composed caption is made. */
  readonly captioning?: ModelCaptioning;
}

/** Every result set the earlier stages handed on, each read through its stage's declared contract. */
function earlierResultSets(results: StageInput['results']): ResultSet[] {
  return [
    ...(stageResult(results, 'detect')?.resultSets ?? []),
    ...[stageResult(results, 'detect.text'), stageResult(results, 'classify')].flatMap((out) => (out ? [out.resultSet] : [])),
  ];
}

export function createCaptionService(deps: CaptionDeps): ServiceDefinition {
  const now = deps.now ?? (() => new Date());
  const apis = SERVICE_APIS['caption'];

  const image = defineHandler({
    ...apis.image,
    async handler(input, ctx) {
      if (input.model === COMPOSED_CAPTION_MODEL.id) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `${COMPOSED_CAPTION_MODEL.id} composes from other models' findings, not from an image: POST them to /v1/caption/compose`);
      }
      return captionWithModel(deps.models, deps.captioning, {
        modelId: input.model,
        image: input.image,
        canvas: input.canvas,
        beams: input.beams,
        maxTokens: input.maxTokens,
        ...(ctx.signal && { signal: ctx.signal }),
      });
    },
  });

  const compose = defineHandler({
    ...apis.compose,
    async handler({ resultSets, language }) {
      const composed = await composeCaption(resultSets, captionLanguage(language), deps.conceptLabel);
      return { model: { ...COMPOSED_CAPTION_MODEL }, caption: composed?.caption ?? null };
    },
  });

  const canvas = defineHandler({
    ...apis.canvas,
    async handler({ task, results, options }, ctx) {
      const started = performance.now();
      const asked = captionOptions(options);
      const resultSet = (model: ModelRef, finding: ResultSet['findings'][number] | undefined): ResultSet => ({
        manifestId: task.manifestId,
        canvasId: task.canvasId,
        imageIndex: task.imageIndex,
        stage: 'caption',
        model,
        generated: now().toISOString(),
        // No finding when there is nothing to say: the store then removes a caption an earlier run made.
        findings: finding ? [finding] : [],
      });
      if (asked.model !== undefined) {
        const out = await modelCaption(asked.model, asked, { task, results }, ctx.signal);
        const { text, language, confidence } = out.caption;
        return { resultSet: resultSet(out.model, text ? { motivation: 'describing', text, language, confidence } : undefined), ms: { total: performance.now() - started } };
      }
      const composed = await composeCaption(earlierResultSets(results), captionLanguage(asked.language, task.languages), deps.conceptLabel);
      const finding = composed && { motivation: 'describing', text: composed.caption.text, language: composed.caption.language, confidence: composed.confidence };
      return {
        resultSet: resultSet({ ...COMPOSED_CAPTION_MODEL }, finding),
        ...(composed && { caption: composed.caption }),
        ms: { total: performance.now() - started },
      };
    },
  });

  /** The canvas image as preprocess turned it upright, whole: a caption describes the scene, not the object preprocess may have found. */
  function modelCaption(modelId: string, asked: CaptionOptions, { task, results }: Pick<StageInput, 'task' | 'results'>, signal: AbortSignal | undefined) {
    return captionWithModel(deps.models, deps.captioning, {
      modelId,
      image: task.image,
      canvas: { width: task.canvasWidth, height: task.canvasHeight },
      beams: asked.beams,
      maxTokens: asked.maxTokens,
      hints: fetchHints(stageResult(results, 'preprocess'), { region: false }),
      ...(signal && { signal }),
    });
  }

  return {
    name: 'caption',
    version: '0.3.0',
    description: "Captions canvas images: composed from the other models' findings (offline), or written by a captioning model once pulled (greedy or beam search)",
    handlers: [image, compose, canvas],
    readiness: () => ({ composed: `${COMPOSED_CAPTION_MODEL.id} ${COMPOSED_CAPTION_MODEL.version}`, models: describeModels(deps.models, 'captioning') }),
  };
}
