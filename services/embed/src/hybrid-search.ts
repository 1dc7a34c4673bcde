import type { SearchHit, SearchOutput, TEXT_RANKING_API, TextRankingInput, TextRankingOutput } from '@loupe/contracts';
import { pointId, type VectorCollection, type VectorFilter, type VectorPayload } from '@loupe/vectors';

/**
 * Reciprocal rank fusion's constant (Cormack, Clarke and Büttcher 2009): a canvas at rank r of a
 * ranking adds weight / (k + r). 60 keeps the first few ranks of each ranking close to one
 * another, so that one ranking's top hit does not drown out a canvas that two rankings agree on.
 */
export const RRF_K = 60;

export const RANKINGS = ['text', 'concept', 'visual'] as const;
export type RankingName = (typeof RANKINGS)[number];
export type Weights = Readonly<Record<RankingName, number>>;

/** The words half, asked of the ground-truth service (`ground-truth.textRanking`). */
export type TextRanker = (input: TextRankingInput, opts: { signal: AbortSignal }) => Promise<TextRankingOutput>;

/** What the bus client offers (ServiceClient.request), narrowed to the one call made here. */
export interface TextRankingClient {
  request(decl: (typeof TEXT_RANKING_API)['textRanking'], input: TextRankingInput, opts?: { signal?: AbortSignal }): Promise<TextRankingOutput>;
}

export function textRankerOverBus(client: TextRankingClient, decl: (typeof TEXT_RANKING_API)['textRanking']): TextRanker {
  return (input, { signal }) => client.request(decl, input, { signal });
}

/** A canvas image in one ranking, best first. */
export interface Ranked {
  readonly canvasId: string;
  readonly imageIndex: number;
}

export interface Fused {
  readonly id: string;
  readonly score: number;
  /** 1-based rank in each ranking that has the canvas image. */
  readonly ranks: Readonly<Partial<Record<RankingName, number>>>;
}

/**
 * One ranking out of several: each canvas image scores the sum of weight / (k + rank) over the
 * rankings that have it. Ties go to the better single rank, then to the id, so that a page
 * boundary never moves between two calls.
 */
export function fuseRankings(rankings: Readonly<Partial<Record<RankingName, readonly Ranked[]>>>, weights: Weights, k = RRF_K): Fused[] {
  const fused = new Map<string, { score: number; ranks: Partial<Record<RankingName, number>> }>();
  for (const name of RANKINGS) {
    const weight = weights[name];
    if (weight === 0) continue;
    (rankings[name] ?? []).forEach((item, i) => {
      const id = pointId(item.canvasId, item.imageIndex);
      const entry = fused.get(id) ?? { score: 0, ranks: {} };
      // A canvas twice in one ranking counts once, at its better rank.
      if (entry.ranks[name] !== undefined) return;
      entry.ranks[name] = i + 1;
      entry.score += weight / (k + i + 1);
      fused.set(id, entry);
    });
  }
  const best = (ranks: Partial<Record<RankingName, number>>): number => Math.min(...Object.values(ranks));
  return [...fused]
    .map(([id, e]) => ({ id, score: e.score, ranks: e.ranks }))
    .sort((a, b) => b.score - a.score || best(a.ranks) - best(b.ranks) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Whether a point's payload passes the search's filter (what the vector store checks for visual hits). */
export function payloadMatches(filter: VectorFilter, payload: VectorPayload): boolean {
  const anyOf = (wanted: string | readonly string[] | undefined, have: readonly string[]): boolean =>
    wanted === undefined || [wanted].flat().some((w) => have.includes(w));
  return (
    anyOf(filter.manifestId, [payload.manifestId]) &&
    anyOf(filter.collection, payload.collections ?? []) &&
    anyOf(filter.rights, payload.rights !== undefined ? [payload.rights] : []) &&
    anyOf(filter.concept, payload.concepts ?? [])
  );
}

export interface HybridQuery {
  readonly q: string;
  readonly weights: Weights;
  readonly filter: VectorFilter | undefined;
  readonly limit: number;
  readonly offset: number;
  /** The visual ranking (hits with their payloads and cosines), when an image was given too. */
  readonly visual?: readonly { readonly payload: VectorPayload; readonly score: number }[];
  /** The image model's collection: payloads (thumbnail, rights, filters) of canvases the words found. */
  readonly collection: VectorCollection | undefined;
}

/** How deep each ranking is read: fusion needs more than a page of each to rank a page well. */
export function rankingDepth(limit: number, offset: number): number {
  return Math.min(1000, Math.max(100, 2 * (offset + limit)));
}

/** Words (and an image's visual ranking, when given) fused into one page of canvas images, each saying why it matched. */
export async function hybridHits(query: HybridQuery, texts: TextRanker, signal: AbortSignal): Promise<{ hits: SearchHit[]; fusion: NonNullable<SearchOutput['fusion']> }> {
  const { filter, collection } = query;
  const manifests = filter?.manifestId === undefined ? undefined : [filter.manifestId].flat();
  const words = await texts({ q: query.q, limit: rankingDepth(query.limit, query.offset), ...(manifests && { manifests }) }, { signal });

  const payloads = new Map<string, VectorPayload | undefined>();
  const payloadOf = async (canvasId: string, imageIndex: number): Promise<VectorPayload | undefined> => {
    const id = pointId(canvasId, imageIndex);
    if (!payloads.has(id)) payloads.set(id, collection ? (await collection.get(id))?.payload : undefined);
    return payloads.get(id);
  };
  for (const hit of query.visual ?? []) payloads.set(pointId(hit.payload.canvasId, hit.payload.imageIndex), hit.payload);

  // The manifest filter went to the ground-truth service; the others are the vector payload's, so a
  // canvas the words found passes them only when its image is embedded and its payload says so.
  const checked = filter !== undefined && (filter.collection !== undefined || filter.rights !== undefined || filter.concept !== undefined);
  const kept = async <T extends Ranked>(items: readonly T[]): Promise<T[]> => {
    if (!checked) return [...items];
    const out: T[] = [];
    for (const item of items) {
      const payload = await payloadOf(item.canvasId, item.imageIndex);
      if (payload && payloadMatches(filter, payload)) out.push(item);
    }
    return out;
  };
  const text = await kept(words.text);
  const concept = await kept(words.concept);
  const visual = (query.visual ?? []).map((h) => ({ canvasId: h.payload.canvasId, imageIndex: h.payload.imageIndex, manifestId: h.payload.manifestId, score: h.score }));

  const byId = <T extends Ranked>(items: readonly T[]): Map<string, T> => new Map(items.map((item) => [pointId(item.canvasId, item.imageIndex), item] as const).reverse());
  const found = { text: byId(text), concept: byId(concept), visual: byId(visual) };
  const page = fuseRankings({ text, concept, visual }, query.weights).slice(query.offset, query.offset + query.limit);

  const hits: SearchHit[] = [];
  for (const { id, score, ranks } of page) {
    const t = found.text.get(id);
    const c = found.concept.get(id);
    const v = found.visual.get(id);
    const where = (t ?? c ?? v)!;
    const payload = await payloadOf(where.canvasId, where.imageIndex);
    hits.push({
      canvasId: where.canvasId,
      imageIndex: where.imageIndex,
      manifestId: payload?.manifestId ?? where.manifestId,
      score: Math.round(score * 1e6) / 1e6,
      ...(payload?.thumbnail && { thumbnail: payload.thumbnail }),
      ...(payload?.rights && { rights: payload.rights }),
      matched: {
        ...(t && ranks.text !== undefined && { text: { rank: ranks.text, snippet: t.snippet, motivation: t.motivation } }),
        ...(c && ranks.concept !== undefined && { concept: { rank: ranks.concept, ...(c.label !== undefined && { label: c.label }), ...(c.uri !== undefined && { uri: c.uri }) } }),
        ...(v && ranks.visual !== undefined && { visual: { rank: ranks.visual, score: Math.round(v.score * 1e6) / 1e6 } }),
      },
    });
  }
  return { hits, fusion: { method: 'rrf', k: RRF_K, weights: { ...query.weights } } };
}
