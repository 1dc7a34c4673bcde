import { LoupeError, isRecord } from '@loupe/contracts';
import type { GroundTruthLabel, LabelledImage } from './model.js';

/**
 * COCO object detection JSON (https://cocodataset.org/#format-data): images, categories and
 * annotations with `bbox` [x, y, width, height]. COCO boxes are 0-based and continuous like
 * Loupe's, so they are written as they are, fractions included.
 *
 * A few `loupe_*` fields ride along so that a round trip loses nothing COCO tools care about and
 * keeps what Loupe needs (COCO readers ignore fields they do not know):
 * - image `loupe_canvas` (the canvas id), `coco_url` (the image URL), `loupe_manifest`, `loupe_external_id`;
 * - category `loupe_concept` (the concept URI);
 * - annotation `loupe_annotation` (the stored annotation id) and `score` (as in COCO result files).
 *
 * Pascal VOC's "difficult" and COCO's "iscrowd" both mark objects an evaluator should neither
 * demand nor punish, so they map onto each other: a difficult label is written with iscrowd 1 and
 * a crowd annotation is read as a difficult label (rather than dropped).
 */

export interface CocoImage {
  id: number;
  file_name: string;
  /** 0 when the size is not known (COCO insists on the field). */
  width: number;
  height: number;
  coco_url?: string;
  loupe_canvas?: string;
  loupe_manifest?: string;
  loupe_external_id?: string;
}

export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  loupe_concept?: string;
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  area: number;
  iscrowd: 0 | 1;
  score?: number;
  loupe_annotation?: string;
}

export interface CocoDataset {
  info: Record<string, unknown>;
  licenses: unknown[];
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
}

export interface CocoCategoryInput {
  id: number;
  name: string;
  concept?: string;
}

export interface ToCocoOptions {
  info?: Record<string, unknown>;
  /**
   * Fixed categories (to match a model's class ids). A label goes to the category with its
   * concept, else to the one named like its label; labels that match none are skipped.
   */
  categories?: readonly CocoCategoryInput[];
}

export interface CocoExport {
  coco: CocoDataset;
  /** Labels that are not COCO detection annotations: no box, no concept or label, or no matching category. */
  skipped: number;
}

/** The key a label is grouped into a category by: its concept when it has one, else its label. */
function categoryKey(label: GroundTruthLabel): string | undefined {
  if (label.concept !== undefined) return `c:${label.concept}`;
  if (label.label !== undefined) return `l:${label.label}`;
  return undefined;
}

function buildCategories(images: readonly LabelledImage[], given: readonly CocoCategoryInput[] | undefined): { categories: CocoCategory[]; byKey: Map<string, number> } {
  const byKey = new Map<string, number>();
  if (given) {
    const ids = new Set<number>();
    const categories = given.map((c, i): CocoCategory => {
      if (!Number.isInteger(c.id) || ids.has(c.id)) throw new LoupeError('LOUPE_ERR_VALIDATION', `COCO categories[${i}]: id ${c.id} is not a unique integer`, { details: { path: `categories[${i}].id` } });
      ids.add(c.id);
      // Concept matches win over name matches: a name is only a fallback for labels without concept.
      if (c.concept !== undefined) byKey.set(`c:${c.concept}`, c.id);
      if (!byKey.has(`l:${c.name}`)) byKey.set(`l:${c.name}`, c.id);
      return { id: c.id, name: c.name, ...(c.concept !== undefined && { loupe_concept: c.concept }) };
    });
    return { categories, byKey };
  }
  const found = new Map<string, { name: string; concept?: string }>();
  for (const image of images) {
    for (const label of image.labels) {
      const key = categoryKey(label);
      if (key === undefined || label.box === undefined || found.has(key)) continue;
      found.set(key, { name: label.label ?? label.concept!, ...(label.concept !== undefined && { concept: label.concept }) });
    }
  }
  // Sorted by name (then concept, for two concepts with one name) so ids do not depend on image order.
  const sorted = [...found].sort(([, a], [, b]) => compare(a.name, b.name) || compare(a.concept ?? '', b.concept ?? ''));
  const categories = sorted.map(([key, c], i): CocoCategory => {
    byKey.set(key, i + 1);
    return { id: i + 1, name: c.name, ...(c.concept !== undefined && { loupe_concept: c.concept }) };
  });
  return { categories, byKey };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Writes images and their boxed labels as a COCO detection dataset. Images are numbered 1.. in
 * input order, annotations 1.. in image then label order. Whole-image labels and text lines have
 * no COCO detection form: they are left out and counted in `skipped`.
 */
export function toCoco(images: readonly LabelledImage[], opts: ToCocoOptions = {}): CocoExport {
  const { categories, byKey } = buildCategories(images, opts.categories);
  const annotations: CocoAnnotation[] = [];
  let skipped = 0;
  const cocoImages = images.map((image, index): CocoImage => {
    const id = index + 1;
    for (const label of image.labels) {
      const key = categoryKey(label);
      const categoryId = key === undefined ? undefined : (byKey.get(key) ?? (label.label !== undefined ? byKey.get(`l:${label.label}`) : undefined));
      if (label.box === undefined || categoryId === undefined) {
        skipped++;
        continue;
      }
      const { x, y, w, h } = label.box;
      annotations.push({
        id: annotations.length + 1,
        image_id: id,
        category_id: categoryId,
        bbox: [x, y, w, h],
        area: w * h,
        iscrowd: label.difficult === true ? 1 : 0,
        ...(label.score !== undefined && { score: label.score }),
        ...(label.annotationId !== undefined && { loupe_annotation: label.annotationId }),
      });
    }
    return {
      id,
      file_name: image.file ?? image.url ?? image.id,
      width: image.width ?? 0,
      height: image.height ?? 0,
      ...(image.url !== undefined && { coco_url: image.url }),
      loupe_canvas: image.id,
      ...(image.manifest !== undefined && { loupe_manifest: image.manifest }),
      ...(image.externalId !== undefined && { loupe_external_id: image.externalId }),
    };
  });
  return {
    coco: { info: { description: 'Exported by Loupe', ...opts.info }, licenses: [], images: cocoImages, annotations, categories },
    skipped,
  };
}

export interface FromCocoOptions {
  /** Names the document in error messages (a file name, 'import:coco'). */
  source?: string;
}

/**
 * Reads a COCO detection document back into labelled images, in the document's image order, each
 * with its annotations in document order. The image id is `loupe_canvas`, else `coco_url`, else
 * `file_name`. Optional fields may be missing (a test split without annotations, images without
 * size); anything present must have its COCO type, and an error names the first bad path
 * (`annotations[3].bbox`). Crowd annotations become difficult labels.
 */
export function fromCoco(json: unknown, opts: FromCocoOptions = {}): LabelledImage[] {
  const where = opts.source ?? 'COCO';
  const fail = (path: string, message: string, value?: unknown): never => {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `${where}: ${path} ${message}`, { details: { path, ...(value !== undefined && { value }) } });
  };
  if (!isRecord(json)) return fail('(document)', 'is not a JSON object');
  const list = (name: string): unknown[] => {
    const v = json[name];
    if (v === undefined) return [];
    return Array.isArray(v) ? v : fail(name, 'is not an array');
  };
  const rawImages = json['images'] === undefined ? fail('images', 'is missing') : list('images');
  const rawCategories = list('categories');
  const rawAnnotations = list('annotations');

  const categories = new Map<number | string, { name: string; concept?: string }>();
  rawCategories.forEach((c, i) => {
    const path = `categories[${i}]`;
    if (!isRecord(c)) return fail(path, 'is not an object');
    const id = idOf(c['id'], `${path}.id`, fail);
    if (categories.has(id)) fail(`${path}.id`, `repeats category id ${id}`);
    const name = optionalString(c['name'], `${path}.name`, fail);
    const concept = optionalString(c['loupe_concept'], `${path}.loupe_concept`, fail);
    if (name === undefined && concept === undefined) fail(`${path}.name`, 'is missing');
    categories.set(id, { name: name ?? concept!, ...(concept !== undefined && { concept }) });
  });

  const images = new Map<number | string, { image: Omit<LabelledImage, 'labels'>; labels: GroundTruthLabel[] }>();
  const seenIds = new Map<string, string>();
  rawImages.forEach((im, i) => {
    const path = `images[${i}]`;
    if (!isRecord(im)) return fail(path, 'is not an object');
    const id = idOf(im['id'], `${path}.id`, fail);
    if (images.has(id)) fail(`${path}.id`, `repeats image id ${id}`);
    const fileName = optionalString(im['file_name'], `${path}.file_name`, fail);
    const url = optionalString(im['coco_url'], `${path}.coco_url`, fail);
    const canvas = optionalString(im['loupe_canvas'], `${path}.loupe_canvas`, fail);
    const manifest = optionalString(im['loupe_manifest'], `${path}.loupe_manifest`, fail);
    const externalId = optionalString(im['loupe_external_id'], `${path}.loupe_external_id`, fail);
    const width = optionalSize(im['width'], `${path}.width`, fail);
    const height = optionalSize(im['height'], `${path}.height`, fail);
    const imageId = canvas ?? url ?? fileName ?? fail(`${path}.file_name`, 'is missing (and there is no loupe_canvas or coco_url)');
    const earlier = seenIds.get(imageId);
    if (earlier !== undefined) fail(path, `names the same image as ${earlier} (${JSON.stringify(imageId)})`);
    seenIds.set(imageId, path);
    // file_name was only a stand-in when toCoco had no file name: then it repeats the URL or canvas id.
    const file = fileName !== undefined && fileName !== url && fileName !== canvas ? fileName : undefined;
    images.set(id, {
      image: {
        id: imageId,
        ...(manifest !== undefined && { manifest }),
        ...(url !== undefined && { url }),
        ...(file !== undefined && { file }),
        ...(externalId !== undefined && { externalId }),
        ...(width !== undefined && { width }),
        ...(height !== undefined && { height }),
      },
      labels: [],
    });
  });

  rawAnnotations.forEach((a, i) => {
    const path = `annotations[${i}]`;
    if (!isRecord(a)) return fail(path, 'is not an object');
    const imageId = idOf(a['image_id'], `${path}.image_id`, fail);
    const target = images.get(imageId) ?? fail(`${path}.image_id`, `refers to no image (${imageId})`);
    const categoryId = idOf(a['category_id'], `${path}.category_id`, fail);
    const category = categories.get(categoryId) ?? fail(`${path}.category_id`, `refers to no category (${categoryId})`);
    const bbox = a['bbox'];
    if (!Array.isArray(bbox) || bbox.length !== 4 || !bbox.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      return fail(`${path}.bbox`, 'is not [x, y, width, height] of finite numbers', bbox);
    }
    const [x, y, w, h] = bbox as [number, number, number, number];
    if (w < 0 || h < 0) fail(`${path}.bbox`, 'has a negative width or height', bbox);
    const crowd = a['iscrowd'];
    if (crowd !== undefined && crowd !== 0 && crowd !== 1 && typeof crowd !== 'boolean') fail(`${path}.iscrowd`, 'is not 0 or 1', crowd);
    const score = a['score'];
    if (score !== undefined && (typeof score !== 'number' || !Number.isFinite(score))) fail(`${path}.score`, 'is not a finite number', score);
    const annotationId = optionalString(a['loupe_annotation'], `${path}.loupe_annotation`, fail);
    // A category named by its concept URI stood for a label-less concept.
    const label = category.concept !== undefined && category.name === category.concept ? undefined : category.name;
    target.labels.push({
      ...(category.concept !== undefined && { concept: category.concept }),
      ...(label !== undefined && { label }),
      box: { x, y, w, h },
      ...(score !== undefined && { score: score as number }),
      ...((crowd === 1 || crowd === true) && { difficult: true }),
      ...(annotationId !== undefined && { annotationId }),
    });
  });

  return [...images.values()].map(({ image, labels }) => ({ ...image, labels }));
}

type Fail = (path: string, message: string, value?: unknown) => never;


/** COCO ids are integers; some tools write strings, which are kept apart from numbers as JSON keeps them. */
function idOf(v: unknown, path: string, fail: Fail): number | string {
  if ((typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && v !== '')) return v;
  return fail(path, 'is not an integer id', v);
}

function optionalString(v: unknown, path: string, fail: Fail): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : fail(path, 'is not a string', v);
}

/** 0 is what toCoco writes for an unknown size, and what several tools write too. */
function optionalSize(v: unknown, path: string, fail: Fail): number | undefined {
  if (v === undefined || v === null || v === 0) return undefined;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fail(path, 'is not a positive number', v);
}
