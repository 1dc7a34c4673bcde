import type { ServiceDefinition } from '@loupe/contracts';
import type { Fetcher } from '@loupe/iiif';
import { createDetector, createTesseractRecognizer, findModel, type ProcessModels } from '@loupe/inference';
import { createDetectService } from './detect.service.js';

/** What detect takes from the process that runs it: LOUPE_OBJECT_MODEL and LOUPE_FACE_MODEL. */
export interface DetectParts {
  readonly fetcher: Fetcher;
  readonly models: ProcessModels;
  readonly config: { readonly objectModel: string; readonly faceModel: string };
}

export function detectServiceFromConfig({ fetcher, models, config }: DetectParts): ServiceDefinition {
  return createDetectService({
    fetcher,
    textRecognizer: () => models.textRecognizer(),
    tesseract: (languages) => createTesseractRecognizer({ languages }),
    detector: async (kind) => {
      const id = kind === 'objects' ? config.objectModel : config.faceModel;
      // A card of another task, or one not pulled, fails with what to install.
      findModel(models.registry, kind === 'objects' ? 'object-detection' : 'face-detection', id);
      return createDetector((await models.open(id)).runner);
    },
  });
}
