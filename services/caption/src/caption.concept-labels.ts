import { SERVICE_APIS, monotonicClock, type Clock, type HandlerDeclaration } from '@loupe/contracts';
import type { Static, TSchema } from '@sinclair/typebox';
import type { ConceptLabel } from './caption.composer.js';

/** What caption asks of the bus: the process's service client is one. */
export interface CaptionClient {
  request<I extends TSchema, O extends TSchema>(
    decl: Pick<HandlerDeclaration<I, O>, 'mode' | 'subject' | 'input' | 'output'>,
    input: Static<I>,
    opts?: { readonly timeoutMs?: number },
  ): Promise<Static<O>>;
}

export interface ConceptLabelsOptions {
  readonly clock?: Pick<Clock, 'now'>;
  /** A concept no vocabulary held is looked for again after this long (a vocabulary imported since). */
  readonly refreshMs?: number;
  /** The ground-truth service may run elsewhere, or not at all: a caption does not wait long for it. */
  readonly timeoutMs?: number;
}

/**
 * Preferred labels of the concepts in the ground-truth store's vocabularies, by language: the
 * classifier names a concept by one label, a caption in French wants the vocabulary's French one.
 * The vocabularies are read once and again only when a concept is missing and `refreshMs` has
 * passed, so a store that is down costs one short wait per period, not one per canvas.
 */
export function conceptLabelsOver(client: CaptionClient, opts: ConceptLabelsOptions = {}): ConceptLabel {
  const clock = opts.clock ?? monotonicClock;
  const refreshMs = opts.refreshMs ?? 60_000;
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const gt = SERVICE_APIS['ground-truth'];
  let labels = new Map<string, Readonly<Record<string, string>>>();
  let readAt: number | undefined;
  let reading: Promise<void> | undefined;

  async function read(): Promise<void> {
    readAt = clock.now();
    try {
      const next = new Map<string, Readonly<Record<string, string>>>();
      const { items } = await client.request(gt.vocabularies, {}, { timeoutMs });
      for (const { id } of items) {
        const vocabulary = await client.request(gt.vocabulary, { id }, { timeoutMs });
        for (const concept of vocabulary.concepts) next.set(concept.uri, concept.prefLabel);
      }
      labels = next;
    } catch {
      // Without the store the caption uses the classifier's own label: nothing is lost but a translation.
    }
  }

  return async (concept, language) => {
    const stale = readAt === undefined || clock.now() - readAt >= refreshMs;
    if (!labels.has(concept) && stale) {
      reading ??= read().finally(() => (reading = undefined));
      await reading;
    }
    return labels.get(concept)?.[language];
  };
}
