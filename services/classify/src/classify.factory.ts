import type { ServiceDefinition } from '@loupe/contracts';
import type { ProcessModels } from '@loupe/inference';
import type { ExplanationImageFetch } from './classification.explain.handler.js';
import { createClassifyService, type ClassifyDeps } from './classify.service.js';

/** What classify takes from the process that runs it: LOUPE_CLASSIFY_HEAD and LOUPE_TEXT_MODEL. */
export interface ClassifyParts {
  readonly models: ProcessModels;
  readonly client: ClassifyDeps['client'];
  /** Where `loupe train` writes heads. */
  readonly headsDir: string;
  readonly config: { readonly classifyHead: string | undefined; readonly textModel: string };
  /**
   * Fetches the images explanations mask (@loupe/iiif's fetchCanvasImage over the process's
   * fetcher): classify does not depend on @loupe/iiif, so the process hands it in.
   */
  readonly fetchExplanationImage?: ExplanationImageFetch;
}

export function classifyServiceFromConfig({ models, client, headsDir, config, fetchExplanationImage }: ClassifyParts): ServiceDefinition {
  return createClassifyService({
    models: models.registry,
    client,
    headsDir,
    defaultHead: config.classifyHead,
    textEmbedder: () => models.textEmbedder(config.textModel),
    imageEmbedder: (id) => models.imageEmbedder(id),
    ...(fetchExplanationImage && { fetchImage: fetchExplanationImage }),
  });
}
