import { LoupeError, SERVICE_APIS, defineHandler, stageResult, type ModelRef, type ResultSet, type ServiceDefinition, type StageInput } from '@loupe/contracts';
import { describeModels, requireInstalledModel, type ModelRegistryLike } from '@loupe/inference';
import { captionLanguage, composeCaption, type ConceptLabel } from './caption.composer.js';

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
}

/** Every result set the earlier stages handed on, each read through its stage's declared contract. */
function earlierResultSets(results: StageInput['results']): ResultSet[] {
  return [
    ...(stageResult(results, 'detect')?.resultSets ?? []),
    ...[stageResult(results, 'detect.text'), stageResult(results, 'classify')].flatMap((out) => (out ? [out.resultSet] : [])),
  ];
}

function languageOption(options: StageInput['options']): string | undefined {
  const v = options['language'];
  if (v === undefined || typeof v === 'string') return v;
  throw new LoupeError('LOUPE_ERR_VALIDATION', `options.language must be a language code (en, fr, fra...); got ${JSON.stringify(v)}`);
}

export function createCaptionService(deps: CaptionDeps): ServiceDefinition {
  const now = deps.now ?? (() => new Date());
  const apis = SERVICE_APIS['caption'];

  const image = defineHandler({
    ...apis.image,
    async handler(input) {
      if (input.model === COMPOSED_CAPTION_MODEL.id) {
        throw new LoupeError('LOUPE_ERR_VALIDATION', `${COMPOSED_CAPTION_MODEL.id} composes from other models' findings, not from an image: POST them to /v1/caption/compose`);
      }
      // Fails with LOUPE_ERR_MODEL_NOT_INSTALLED, naming the model and where it was looked for (or
      // LOUPE_ERR_MODEL_CHECKSUM when a file changed), until a captioning model is installed; no answer is ever made up.
      return requireInstalledModel(deps.models, 'captioning', input.model);
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
    async handler({ task, results, options }) {
      const started = performance.now();
      const composed = await composeCaption(earlierResultSets(results), captionLanguage(languageOption(options), task.languages), deps.conceptLabel);
      const finding = composed && { motivation: 'describing', text: composed.caption.text, language: composed.caption.language, confidence: composed.confidence };
      return {
        // No finding when nothing was found: the store then removes a caption an earlier run made.
        resultSet: {
          manifestId: task.manifestId,
          canvasId: task.canvasId,
          imageIndex: task.imageIndex,
          stage: 'caption',
          model: { ...COMPOSED_CAPTION_MODEL },
          generated: now().toISOString(),
          findings: finding ? [finding] : [],
        },
        ...(composed && { caption: composed.caption }),
        ms: { total: performance.now() - started },
      };
    },
  });

  return {
    name: 'caption',
    version: '0.2.0',
    description: "Captions canvas images: composed from the other models' findings (offline), or by a captioning model once pulled",
    handlers: [image, compose, canvas],
    readiness: () => ({ composed: `${COMPOSED_CAPTION_MODEL.id} ${COMPOSED_CAPTION_MODEL.version}`, models: describeModels(deps.models, 'captioning') }),
  };
}
