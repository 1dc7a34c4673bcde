import type { ServiceDefinition } from '@loupe/contracts';
import type { ProcessModels } from '@loupe/inference';
import { createClassifyService, type ClassifyDeps } from './classify.service.js';

/** What classify takes from the process that runs it: LOUPE_CLASSIFY_HEAD and LOUPE_TEXT_MODEL. */
export interface ClassifyParts {
  readonly models: ProcessModels;
  readonly client: ClassifyDeps['client'];
  /** Where `loupe train` writes heads. */
  readonly headsDir: string;
  readonly config: { readonly classifyHead: string | undefined; readonly textModel: string };
}

export function classifyServiceFromConfig({ models, client, headsDir, config }: ClassifyParts): ServiceDefinition {
  return createClassifyService({
    models: models.registry,
    client,
    headsDir,
    defaultHead: config.classifyHead,
    textEmbedder: () => models.textEmbedder(config.textModel),
  });
}
