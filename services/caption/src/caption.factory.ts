import type { ServiceDefinition } from '@loupe/contracts';
import type { Fetcher } from '@loupe/iiif';
import type { ProcessModels } from '@loupe/inference';
import { conceptLabelsOver, type CaptionClient } from './caption.concept-labels.js';
import { captionersOver } from './caption.model.js';
import { createCaptionService } from './caption.service.js';

/** What caption takes from the process that runs it. */
export interface CaptionParts {
  readonly models: ProcessModels;
  /** Fetches canvas images for a captioning model. */
  readonly fetcher: Fetcher;
  /** Reaches the ground-truth store's vocabularies, for concepts' labels in the caption's language. */
  readonly client: CaptionClient;
}

export function captionServiceFromConfig({ models, fetcher, client }: CaptionParts): ServiceDefinition {
  return createCaptionService({
    models: models.registry,
    conceptLabel: conceptLabelsOver(client),
    captioning: { open: captionersOver(models.registry, models.engine), fetcher },
  });
}
