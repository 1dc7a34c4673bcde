import type { ServiceDefinition } from '@loupe/contracts';
import type { AnnotationStore } from '@loupe/store';
import { createGroundTruthService } from './ground-truth.service.js';
import type { ModelCards } from './model-card.js';

/** What the ground-truth service takes from the process that runs it: the store LOUPE_STORE names. */
export interface GroundTruthParts {
  /** The process's ground-truth store, opened on first ask. */
  readonly stores: { annotations(): Promise<AnnotationStore> };
  readonly config: { readonly publicUrl: string; readonly store: { readonly kind: string } };
  /** The process's models: their registry's cards are what generator ids dereference to. */
  readonly models?: { readonly registry: ModelCards };
}

export async function groundTruthServiceFromConfig({ stores, config, models }: GroundTruthParts): Promise<ServiceDefinition> {
  return createGroundTruthService({
    store: await stores.annotations(),
    publicUrl: config.publicUrl,
    storeKind: config.store.kind,
    ...(models && { models: models.registry }),
  });
}
