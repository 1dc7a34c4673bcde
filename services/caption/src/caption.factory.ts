import type { ServiceDefinition } from '@loupe/contracts';
import type { ProcessModels } from '@loupe/inference';
import { conceptLabelsOver, type CaptionClient } from './caption.concept-labels.js';
import { createCaptionService } from './caption.service.js';

/** What caption takes from the process that runs it. */
export interface CaptionParts {
  readonly models: ProcessModels;
  /** Reaches the ground-truth store's vocabularies, for concepts' labels in the caption's language. */
  readonly client: CaptionClient;
}

export function captionServiceFromConfig({ models, client }: CaptionParts): ServiceDefinition {
  return createCaptionService({ models: models.registry, conceptLabel: conceptLabelsOver(client) });
}
