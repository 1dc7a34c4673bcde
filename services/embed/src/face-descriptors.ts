import { stageResult, xywh, type Rect, type StageInput } from '@loupe/contracts';
import { fetchCanvasImage, fetchHints, type CanvasImage, type Fetcher } from '@loupe/iiif';
import { cropQuad, type ImageEmbedder, type RawImage } from '@loupe/inference';
import type { VectorCollection, VectorPoint } from '@loupe/vectors';

/** The face-embedding card the embed stage describes faces with (part of the offline pack). */
export const FACE_MODEL = 'faceres-embedding';
/** FaceRes takes 224 x 224 crops. */
const CROP = 224;
/** The detector's box is tight around the eyes and mouth: the descriptor wants the whole head. */
const MARGIN = 1.3;
/** Below this many pixels across, a face is upscaled enough to blur: fetch the image larger. */
const MIN_FACE_PX = 112;
/** The size detect fetched its image at (its imageFetchSize): asking for the same hits the fetcher's cache. */
const DETECT_FETCH = 1024;
const MAX_FETCH = 3072;
/** Faces detected less surely than this are more often not faces at all: no descriptor. */
export const MIN_FACE_CONFIDENCE = 0.5;
/** Smaller faces (in the image's own pixels) say too little about who it is. */
const MIN_FACE_SOURCE_PX = 24;

/** A face's point id: the canvas image's point id and the face's box on the canvas. */
export function facePointId(canvasId: string, imageIndex: number, box: Rect): string {
  return `${canvasId}#${imageIndex}#${xywh(box)}`;
}

/** The canvas box a face point id names (from its last `#xywh=`). */
export function faceBoxOf(id: string): { xywh: string; box: Rect } | undefined {
  const at = id.lastIndexOf('#xywh=');
  if (at < 0) return undefined;
  const value = id.slice(at + 1);
  const [x, y, w, h] = value.slice('xywh='.length).split(',').map(Number);
  if (![x, y, w, h].every((v) => Number.isFinite(v))) return undefined;
  return { xywh: value, box: { x: x!, y: y!, w: w!, h: h! } };
}

/** The faces detect found on this canvas image (canvas boxes), surely enough to describe. */
export function detectedFaces(results: StageInput['results']): Rect[] {
  const sets = stageResult(results, 'detect')?.resultSets ?? [];
  return sets
    .filter((s) => s.stage === 'detect.faces')
    .flatMap((s) => s.findings)
    .filter((f) => f.box && f.confidence >= MIN_FACE_CONFIDENCE)
    .map((f) => f.box!);
}

/**
 * The canvas -> pixels map of a fetched image, inverted from its pixels -> canvas map (an affine
 * map: a scale, a cut and quarter turns), read off three points.
 */
function canvasToPixels(image: CanvasImage): (x: number, y: number) => [number, number] {
  const at = (px: number, py: number): [number, number] => {
    const r = image.toCanvas({ x: px, y: py, w: 0, h: 0 });
    return [r.x, r.y];
  };
  const [ox, oy] = at(0, 0);
  const [ax, ay] = at(image.width, 0);
  const [bx, by] = at(0, image.height);
  // canvas = o + U * (px / width) + V * (py / height), solved for (px, py).
  const [ux, uy, vx, vy] = [ax - ox, ay - oy, bx - ox, by - oy];
  const det = ux * vy - vx * uy;
  return (x, y) => {
    const dx = x - ox;
    const dy = y - oy;
    return [((dx * vy - vx * dy) / det) * image.width, ((ux * dy - dx * uy) / det) * image.height];
  };
}

/**
 * The square cut for a face given as a pixel box: grown by MARGIN around its centre, kept inside
 * the image where it fits (an edge sample repeated is a worse face than a shifted square).
 */
export function faceSquare(face: Rect, image: { width: number; height: number }): Rect {
  const s = Math.min(Math.max(face.w, face.h) * MARGIN, image.width, image.height);
  const x = Math.min(Math.max(0, face.x + face.w / 2 - s / 2), image.width - s);
  const y = Math.min(Math.max(0, face.y + face.h / 2 - s / 2), image.height - s);
  return { x, y, w: s, h: s };
}

/** What the face model takes: the square resampled to 224 x 224. */
export function cropFace(image: RawImage, square: Rect): RawImage {
  const { x, y, w, h } = square;
  return cropQuad(image, [[x, y], [x + w, y], [x + w, y + h], [x, y + h]], CROP, CROP);
}

function faceCrop(image: CanvasImage, toPixels: (x: number, y: number) => [number, number], box: Rect): { crop: RawImage; side: number; square: Rect } | undefined {
  const [x0, y0] = toPixels(box.x, box.y);
  const [x1, y1] = toPixels(box.x + box.w, box.y + box.h);
  const face = { x: Math.min(x0, x1), y: Math.min(y0, y1), w: Math.abs(x1 - x0), h: Math.abs(y1 - y0) };
  if (!(face.w > 0 && face.h > 0)) return undefined;
  const square = faceSquare(face, image);
  return { crop: cropFace(image, square), side: Math.max(face.w, face.h), square };
}

/** A IIIF Image API request for a face, for lists of people (only where the image has a service). */
function faceThumbnail(task: StageInput['task'], image: CanvasImage, square: Rect): string | undefined {
  const service = task.image.service;
  if (!service) return undefined;
  const r = image.toImage(square);
  const region = [r.x, r.y, r.w, r.h].map((v) => Math.max(0, Math.round(v))).join(',');
  return `${service.id.replace(/\/$/, '')}/${region}/!${CROP},${CROP}/0/default.jpg`;
}

/**
 * FaceRes descriptors for every face detect found on the canvas image, kept in the face model's
 * collection (never mixed with whole-image vectors) under ids made of the canvas and the box, so a
 * redelivered task writes the same points again. Returns how many faces were described.
 */
export async function describeFaces(
  input: { task: StageInput['task']; results: StageInput['results'] },
  parts: { fetcher: Fetcher; embedder: ImageEmbedder; collection: (dims: number) => Promise<VectorCollection> },
  signal?: AbortSignal,
): Promise<number> {
  const { task, results } = input;
  const boxes = detectedFaces(results);
  if (boxes.length === 0) return 0;
  // The size detect used (a cache hit) unless the smallest face would be under MIN_FACE_PX there.
  const longSide = Math.max(task.canvasWidth, task.canvasHeight, 1);
  const smallest = Math.min(...boxes.map((b) => Math.max(b.w, b.h)));
  const fit = Math.min(MAX_FETCH, Math.max(DETECT_FETCH, Math.ceil((MIN_FACE_PX * longSide) / Math.max(smallest, 1))));
  const prepared = stageResult(results, 'preprocess');
  const image = await fetchCanvasImage(parts.fetcher, task.image, { width: task.canvasWidth, height: task.canvasHeight }, { fit: { width: fit, height: fit } }, fetchHints(prepared, { region: true }));
  const toPixels = canvasToPixels(image);

  const points: VectorPoint[] = [];
  for (const box of boxes) {
    const cut = faceCrop(image, toPixels, box);
    if (!cut) continue;
    const source = image.toImage({ x: 0, y: 0, w: cut.side, h: cut.side });
    if (Math.max(source.w, source.h) < MIN_FACE_SOURCE_PX) continue;
    const vector = await parts.embedder.embed(cut.crop, signal ? { signal } : {});
    const thumbnail = faceThumbnail(task, image, cut.square);
    points.push({
      id: facePointId(task.canvasId, task.imageIndex, box),
      vector,
      payload: {
        canvasId: task.canvasId,
        imageIndex: task.imageIndex,
        manifestId: task.manifestId,
        ...(thumbnail && { thumbnail }),
        ...(task.rights && { rights: task.rights }),
        ...(task.collections && { collections: task.collections }),
      },
    });
  }
  if (points.length > 0) await (await parts.collection(points[0]!.vector.length)).upsert(points);
  return points.length;
}
