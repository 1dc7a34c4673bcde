import { LoupeError, type ServiceDefinition } from '@loupe/contracts';
import type { AnnotationStore, ContentSearchIndex } from '@loupe/store';
import { createGroundTruthService } from './ground-truth.service.js';
import type { ExplainClient } from './explanations.js';
import { zeroShotVocabulary } from './explanations.request.js';
import type { CardSummary, HeadCards, ModelCards } from './model-card.js';

/** What the ground-truth service takes from the process that runs it: the store LOUPE_STORE names. */
export interface GroundTruthParts {
  /** The process's ground-truth store, opened on first ask. */
  readonly stores: { annotations(): Promise<AnnotationStore>; search(): Promise<ContentSearchIndex | undefined> };
  readonly config: { readonly publicUrl: string; readonly store: { readonly kind: string } };
  /** The process's models: their registry's cards are what generator ids dereference to. */
  readonly models?: { readonly registry: ModelCards };
  /** Where `loupe train` writes classification heads (LOUPE_MODELS_DIR/heads). */
  readonly headsDir?: string;
  /** The bus client: explanations are asked of classify and detect. */
  readonly client?: ExplainClient;
}

/**
 * A zero-shot head is made at run time from a vocabulary's labels and CLIP's text tower
 * (services/classify: id `zero-shot.<vocabulary>`, version `<text model version>-<digest of the
 * prompts>`): described from the vocabulary the store holds. The digest is not checked here: it
 * would take the text model to recompute it.
 */
function zeroShotCard(store: AnnotationStore): HeadCards {
  return async (id, version) => {
    if (!id.startsWith('zero-shot.')) return undefined;
    const vocabulary = zeroShotVocabulary(await store.listVocabularies(), id);
    if (!vocabulary) return undefined;
    return {
      id,
      version,
      task: 'classification-head',
      name: `${id}: zero-shot over vocabulary ${vocabulary.id}`,
      description: `Made at run time from the labels of ${vocabulary.concepts} concepts of vocabulary ${vocabulary.id} and CLIP's text tower; the version is the text model's and a digest of the prompts`,
      licence: "CLIP's, and the vocabulary's",
      source: `vocabulary ${vocabulary.id} in this ground-truth store`,
    };
  };
}

/** A head's card as a generator's reader wants it, read from the folder `loupe train` writes. */
function headCardsIn(dir: string): HeadCards {
  return async (id, version): Promise<CardSummary | undefined> => {
    const { headCard, headHome, loadHead } = await import('@loupe/heads');
    const head = await loadHead(await headHome(dir, id), id, version).catch((err: unknown) => {
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

export async function groundTruthServiceFromConfig({ stores, config, models, headsDir, client }: GroundTruthParts): Promise<ServiceDefinition> {
  const store = await stores.annotations();
  const search = await stores.search();
  return createGroundTruthService({
    store,
    ...(search && { search }),
    publicUrl: config.publicUrl,
    storeKind: config.store.kind,
    ...(models && { models: models.registry }),
    ...(client && { client }),
    heads: async (id, version) => (await zeroShotCard(store)(id, version)) ?? (headsDir ? headCardsIn(headsDir)(id, version) : undefined),
  });
}
