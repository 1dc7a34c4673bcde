import type { ServiceDefinition } from '@loupe/contracts';
import type { Fetcher } from '@loupe/iiif';
import { createOrientationClassifier, findForeground, type FloatTensor, type ProcessModels } from '@loupe/inference';
import { createPreprocessService, type ForegroundFinder } from './preprocess.service.js';

/** What preprocess takes from the process that runs it: LOUPE_ORIENTATION_MODEL, if set, and LOUPE_ENHANCE_MAX_PIXELS. */
export interface PreprocessParts {
  readonly fetcher: Fetcher;
  readonly models: ProcessModels;
  readonly config: { readonly orientationModel: string | undefined; readonly enhanceMaxPixels?: number };
}

/** Background removal's model: the one card preprocess always uses. */
export const FOREGROUND_MODEL = 'isnet-general-medium';

async function openForeground(models: ProcessModels): Promise<ForegroundFinder> {
  const { card, runner } = await models.open(FOREGROUND_MODEL);
  const size = card.input.width ?? 1024;
  return {
    find: (image) =>
      findForeground(image, async (feeds) => (await runner.run(feeds)) as Record<string, FloatTensor>, {
        size,
        inputName: runner.inputName,
        ...(typeof card.output.options?.output === 'string' && { outputName: card.output.options.output }),
      }),
  };
}

export function preprocessServiceFromConfig({ fetcher, models, config }: PreprocessParts): ServiceDefinition {
  const orientationModel = config.orientationModel;
  return createPreprocessService({
    fetcher,
    foreground: () => openForeground(models),
    ...(orientationModel && { orientationModel: async () => createOrientationClassifier((await models.open(orientationModel)).runner) }),
    // Cards open on first use; a card the pack converts (ESRGAN, MAXIM) is converted then.
    enhance: { open: (id) => models.open(id), ...(config.enhanceMaxPixels !== undefined && { pixelBudget: config.enhanceMaxPixels }) },
    textLines: async () => {
      const recognizer = await models.textRecognizer();
      return { findLines: (image, opts) => recognizer.findLines(image, opts) };
    },
  });
}
