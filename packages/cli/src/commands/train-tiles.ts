import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { LoupeError } from '@loupe/contracts';
import { csvRecords } from '@loupe/datasets';
import type { TileRect, TileSpec } from '@loupe/heads';
import type { ImageEmbedder } from '@loupe/inference';
import { tileVectors } from '@loupe/service-classify';
import type { LabelledVectors } from './train-images.js';

/**
 * How a tile of a marked picture is labelled from the mark's mask (white where its ink lies):
 * positive when it holds a good share of the mark or the mark covers enough of it; negative when
 * no ink touches it; in between (a sliver of a letter) it teaches nothing either way and is left out.
 */
export const TILE_LABELS = { share: 0.25, cover: 0.02, clean: 0.0005 } as const;

/** The tile's label from the mask's ink (0 to 1 a pixel, fitted to the same size as the image). */
export function tileLabel(ink: Float32Array, width: number, rect: TileRect, total: number): 'positive' | 'negative' | 'skip' {
  let inTile = 0;
  for (let y = rect.y; y < rect.y + rect.h; y++) for (let x = rect.x; x < rect.x + rect.w; x++) inTile += ink[y * width + x]!;
  const cover = inTile / (rect.w * rect.h);
  if ((total > 0 && inTile / total >= TILE_LABELS.share) || cover >= TILE_LABELS.cover) return 'positive';
  return cover < TILE_LABELS.clean ? 'negative' : 'skip';
}

/** The picture fitted inside spec.fit x spec.fit, RGB, as the classify service's fetch gives it. */
async function fitted(file: string, fit: number): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(file).rotate().resize({ width: fit, height: fit, fit: 'inside', withoutEnlargement: true }).flatten({ background: '#ffffff' }).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

async function inkOf(file: string, width: number, height: number): Promise<{ ink: Float32Array; total: number }> {
  const grey = await sharp(file).resize(width, height, { fit: 'fill' }).greyscale().raw().toBuffer();
  const ink = new Float32Array(width * height);
  let total = 0;
  for (let i = 0; i < ink.length; i++) total += ink[i] = grey[i]! / 255;
  return { ink, total };
}

/**
 * `loupe train --images <dir> --tiles <fit>`: every picture cut into tiles (tileVectors, the
 * classify service's own code), each tile an example. labels.csv's `mask` column names, for a
 * picture with a mark, a mask of where the mark's ink lies (`loupe datasets watermarks` writes
 * them): its tiles are labelled by tileLabel, and the concept of the masked rows is the positive
 * one. Every tile of a picture without a mask takes the picture's concept.
 */
export async function embedImageTiles(folder: string, spec: Omit<TileSpec, 'positive'>, embedder: ImageEmbedder, say: (line: string) => void): Promise<LabelledVectors & { positive: string }> {
  const labelsFile = path.join(folder, 'labels.csv');
  const { records } = csvRecords(await readFile(labelsFile, 'utf8'), { required: ['file', 'concept', 'mask'], source: labelsFile });
  const positives = new Set(records.filter((r) => r['mask']).map((r) => r['concept']!));
  if (positives.size !== 1) throw new LoupeError('LOUPE_ERR_VALIDATION', `${labelsFile}: --tiles needs the rows with a mask to share one concept (the positive one); they have ${positives.size}`);
  const positive = [...positives][0]!;
  const negative = records.find((r) => r['concept'] !== positive)?.['concept'];
  if (negative === undefined) throw new LoupeError('LOUPE_ERR_VALIDATION', `${labelsFile}: --tiles needs pictures of another concept than ${positive}`);
  const ids: string[] = [];
  const vectors = new Map<string, Float32Array>();
  const labels = new Map<string, Map<string, string | undefined>>();
  const groups = new Map<string, string>();
  const names = new Map(records.map((r) => [r['concept']!, r['label'] || undefined]));
  const started = performance.now();
  let skipped = 0;
  for (const [n, r] of records.entries()) {
    const file = r['file']!;
    const image = await fitted(path.join(folder, file), spec.fit);
    const { rects, vectors: tiles } = await tileVectors(image, { ...spec, positive }, embedder);
    const mask = r['mask'] ? await inkOf(path.join(folder, r['mask']), image.width, image.height) : undefined;
    rects.forEach((rect, i) => {
      const label = mask ? tileLabel(mask.ink, image.width, rect, mask.total) : r['concept'] === positive ? 'positive' : 'negative';
      if (label === 'skip') return void (skipped += 1);
      const concept = label === 'positive' ? positive : negative;
      const id = `${file}#${i}`;
      ids.push(id);
      vectors.set(id, tiles[i]!);
      labels.set(id, new Map([[concept, names.get(concept)]]));
      groups.set(id, r['group'] || file);
    });
    if ((n + 1) % 50 === 0) say(`  tiles of ${n + 1}/${records.length} pictures`);
  }
  say(`tiles: ${ids.length} from ${records.length} pictures (${skipped} touched by a sliver of a mark left out) with ${embedder.model.id} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { ids, vectors, labels, groups, modelVersion: embedder.model.version, positive };
}
