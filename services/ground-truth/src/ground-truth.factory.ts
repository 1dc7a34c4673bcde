import { LoupeError, type ServiceDefinition } from '@loupe/contracts';
import type { AnnotationStore } from '@loupe/store';
import { createGroundTruthService } from './ground-truth.service.js';
import type { CardSummary, HeadCards, ModelCards } from './model-card.js';

/** What the ground-truth service takes from the process that runs it: the store LOUPE_STORE names. */
export interface GroundTruthParts {
  /** The process's ground-truth store, opened on first ask. */
  readonly stores: { annotations(): Promise<AnnotationStore> };
  readonly config: { readonly publicUrl: string; readonly store: { readonly kind: string } };
  /** The process's models: their registry's cards are what generator ids dereference to. */
  readonly models?: { readonly registry: ModelCards };
  /** Where `loupe train` writes classification heads (LOUPE_MODELS_DIR/heads). */
  readonly headsDir?: string;
}

/** A head's card as a generator's reader wants it, read from the folder `loupe train` writes. */
function headCardsIn(dir: string): HeadCards {
  return async (id, version): Promise<CardSummary | undefined> => {
    const { headCard, loadHead } = await import('@loupe/heads');
    const head = await loadHead(dir, id, version).catch((err: unknown) => {
      if (err instanceof LoupeError) return undefined;
      throw err;
    });
    if (!head) return undefined;
    const card = headCard(head);
    const trained = card.trainedOn ? `trained by loupe train on dataset ${card.trainedOn.dataset} (${card.trainedOn.examples} examples)` : 'zero-shot from a vocabulary';
    return {
      id: card.id,
      version: card.version,
      task: card.task,
      name: `${card.id}: a ${card.kind} classification head over ${card.embedding.model} ${card.embedding.version}`,
      description: `${card.classes} concepts, ${trained}, thresholds for precision ${card.targetPrecision}`,
      licence: 'not stated: made from this institution\'s ground truth',
      source: trained,
    };
  };
}

export async function groundTruthServiceFromConfig({ stores, config, models, headsDir }: GroundTruthParts): Promise<ServiceDefinition> {
  return createGroundTruthService({
    store: await stores.annotations(),
    publicUrl: config.publicUrl,
    storeKind: config.store.kind,
    ...(models && { models: models.registry }),
    ...(headsDir && { heads: headCardsIn(headsDir) }),
  });
}
