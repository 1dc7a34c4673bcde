import { LOUPE_CONTEXT_PATH, LoupeError, W3C_ANNO_CONTEXT } from '@loupe/contracts';

/** What a model card says that a generator's reader wants (the registry's cards have more). */
export interface CardSummary {
  readonly id: string;
  readonly version: string;
  readonly task: string;
  readonly name: string;
  readonly description?: string | undefined;
  readonly licence: string;
  readonly source: string;
  readonly citation?: string | undefined;
  readonly labels?: readonly { readonly name: string; readonly uri?: string | undefined }[] | undefined;
}

/** The model registry as this service reads it: the card of a model id (packages/inference's Registry is one). */
export interface ModelCards {
  get(id: string): { readonly card: CardSummary } | undefined;
  list(): readonly { readonly card: CardSummary }[];
}

/** The classification heads `loupe train` wrote (LOUPE_MODELS_DIR/heads): the models of classifications. */
export type HeadCards = (id: string, version: string) => Promise<CardSummary | undefined>;

/**
 * The card of model `id` at `version` as JSON-LD, under the id an annotation's generator carries.
 * Only a card the registry holds at that version answers: an older version's id would otherwise
 * be described by a card that says something else.
 */
export async function modelCardOf(models: ModelCards | undefined, publicUrl: string, id: string, version: string, heads?: HeadCards) {
  const card = models?.get(id)?.card ?? systemCard(models, id, version) ?? (await heads?.(id, version));
  if (!card || card.version !== version) {
    const known = card ? ` (the registry has version ${card.version})` : '';
    throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No model card for ${id} ${version}${known}`, { details: { model: id, version, ...(card && { known: card.version }) } });
  }
  return {
    '@context': [W3C_ANNO_CONTEXT, `${publicUrl}${LOUPE_CONTEXT_PATH}`],
    id: `${publicUrl}/v1/models/${encodeURIComponent(id)}/${encodeURIComponent(version)}`,
    type: 'Software' as const,
    name: card.name,
    version: card.version,
    ...(card.description !== undefined && { description: card.description }),
    license: card.licence,
    'loupe:model': card.id,
    'loupe:version': card.version,
    'loupe:task': card.task,
    'loupe:source': card.source,
    ...(card.citation !== undefined && { 'loupe:citation': card.citation }),
    ...(card.labels !== undefined && { 'loupe:labels': card.labels.map((l) => ({ name: l.name, ...(l.uri !== undefined && { uri: l.uri }) })) }),
  };
}

/**
 * A system of several cards named after it (PP-OCR's `ppocr-v4` runs `ppocr-v4-det` and
 * `ppocr-v4-rec`, and its generator carries the recogniser's version): described by its parts.
 */
function systemCard(models: ModelCards | undefined, id: string, version: string): CardSummary | undefined {
  const parts = (models?.list() ?? []).map((e) => e.card).filter((c) => c.id.startsWith(`${id}-`));
  if (!parts.some((c) => c.version === version)) return undefined;
  const differ = (pick: (c: CardSummary) => string): string => [...new Set(parts.map(pick))].join(', ');
  return {
    id,
    version,
    task: differ((c) => c.task),
    name: parts.map((c) => c.name).join(' + '),
    description: `Runs ${parts.map((c) => `${c.id} ${c.version}`).join(', ')}`,
    licence: differ((c) => c.licence),
    source: differ((c) => c.source),
  };
}
