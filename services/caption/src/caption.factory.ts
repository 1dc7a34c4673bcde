import type { ServiceDefinition } from '@loupe/contracts';
import type { ProcessModels } from '@loupe/inference';
import { createCaptionService } from './caption.service.js';

/** What caption takes from the process that runs it. */
export interface CaptionParts {
  readonly models: ProcessModels;
}

export function captionServiceFromConfig({ models }: CaptionParts): ServiceDefinition {
  return createCaptionService({ models: models.registry });
}
