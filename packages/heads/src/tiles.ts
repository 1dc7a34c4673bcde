/**
 * Tiles: how a head that reads PARTS of an image cuts it. A watermark covers a few percent of a
 * picture, so the picture's pooled embedding barely moves under it; the embedding of a tile the
 * mark sits in moves a lot. Such a head is trained on tiles and answers for an image with the tile
 * most confident in its `positive` concept (multiple-instance: one marked tile makes a marked image).
 *
 * Pure geometry, shared by training (`loupe train --tiles`) and classification (the classify
 * service), so both cut the same tiles from the same fetched pixels.
 */
import { invalid } from './head.js';

export interface TileSpec {
  /** The image is fetched fitted inside fit x fit pixels before it is cut. */
  readonly fit: number;
  /** The side of a grid tile in those pixels (what the embedding model reads at its own size). */
  readonly size: number;
  /** Overlap between neighbouring grid tiles, as a share of `size` (0 to 0.75). */
  readonly overlap: number;
  /** The side of the four extra corner tiles as a share of `size` (where small marks sit); 0 for none. */
  readonly corners: number;
  /** The concept a tile asserts for its image: the image takes the tile most confident in it. */
  readonly positive: string;
}

export interface TileRect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export function checkTileSpec(spec: TileSpec): TileSpec {
  const ok = Number.isInteger(spec.fit) && spec.fit >= 64 && spec.fit <= 4096 && Number.isInteger(spec.size) && spec.size >= 32 && spec.size <= spec.fit;
  if (!ok || !(spec.overlap >= 0 && spec.overlap <= 0.75) || !(spec.corners >= 0 && spec.corners <= 1) || typeof spec.positive !== 'string' || spec.positive === '') {
    throw invalid('tiles: fit and size are whole pixels (32 <= size <= fit <= 4096), overlap 0 to 0.75, corners 0 to 1, positive a concept', { tiles: spec });
  }
  return spec;
}

/** Starts of tiles of `size` along `length`, edge to edge, each step at most size * (1 - overlap). */
function starts(length: number, size: number, overlap: number): number[] {
  if (length <= size) return [0];
  const n = Math.ceil((length - size) / (size * (1 - overlap))) + 1;
  return Array.from({ length: n }, (_, i) => Math.round((i * (length - size)) / (n - 1)));
}

/**
 * The tiles of a width x height image (already fitted to spec.fit): the overlapping grid, then the
 * four corners. A side shorter than a tile gives one tile that long, so every tile lies inside.
 */
export function tileRects(width: number, height: number, spec: TileSpec): TileRect[] {
  const w = Math.min(spec.size, width);
  const h = Math.min(spec.size, height);
  const rects: TileRect[] = [];
  for (const y of starts(height, h, spec.overlap)) for (const x of starts(width, w, spec.overlap)) rects.push({ x, y, w, h });
  const c = Math.round(Math.min(width, height, spec.size) * spec.corners);
  if (c >= 16) {
    for (const [x, y] of [[0, 0], [width - c, 0], [0, height - c], [width - c, height - c]] as const) rects.push({ x, y, w: c, h: c });
  }
  return rects;
}

/**
 * The tile most confident in `positive` (its index in `probs`' rows): its probabilities are the
 * image's. Any other choice would let a clean tile vote a marked image clean.
 */
export function mostPositiveTile(probs: readonly Float32Array[], positiveIndex: number): number {
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i]![positiveIndex]! > probs[best]![positiveIndex]!) best = i;
  return best;
}
