import {
  IIIF_PRESENTATION_CONTEXT,
  LOUPE_CONTEXT_PATH,
  LoupeError,
  SPLITS,
  canvasOfTarget,
  type Annotation,
  type DatasetExportQuery,
  type DatasetFormat,
  type DatasetImportBody,
  type DatasetSplitsQuery,
} from '@loupe/contracts';
import {
  annotationsToImages,
  fromAnnotationPage,
  fromCoco,
  fromEuropeanaCsv,
  fromVoc,
  imageToAnnotations,
  kFold,
  stratifiedSplit,
  toCoco,
  toEuropeanaCsv,
  toVoc,
  type LabelledImage,
} from '@loupe/datasets';
import type { AnnotationStore, CanvasRecord, GroundTruthInput } from '@loupe/store';
import { queryAll, requireDataset } from './curation.js';

interface Problem {
  readonly line?: number;
  readonly message: string;
}

async function readImages(store: AnnotationStore, input: DatasetImportBody): Promise<{ images: LabelledImage[]; problems: Problem[] }> {
  const texts = Array.isArray(input.content) ? input.content : [input.content];
  const source = input.source ?? `import:${input.format}`;
  const json = (text: string, what: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `The ${what} is not JSON: ${(err as Error).message}`, { details: { format: input.format } });
    }
  };
  switch (input.format) {
    case 'coco': {
      if (texts.length !== 1) throw new LoupeError('LOUPE_ERR_VALIDATION', 'A COCO import is one JSON document');
      return { images: fromCoco(json(texts[0]!, 'COCO file'), { source }), problems: [] };
    }
    case 'voc':
      return { images: texts.map((xml, i) => fromVoc(xml, { source: `${source} document ${i + 1}` })), problems: [] };
    case 'annotation-page': {
      if (texts.length !== 1) throw new LoupeError('LOUPE_ERR_VALIDATION', 'An AnnotationPage import is one JSON document');
      const read = fromAnnotationPage(json(texts[0]!, 'AnnotationPage'));
      return { images: read.images, problems: read.problems.map((p) => ({ message: `item ${p.index + 1}${p.id ? ` (${p.id})` : ''}: ${p.message}` })) };
    }
    case 'europeana-csv': {
      if (texts.length !== 1) throw new LoupeError('LOUPE_ERR_VALIDATION', 'A Europeana CSV import is one CSV document');
      let vocabulary;
      if (input.vocabulary !== undefined) {
        vocabulary = await store.getVocabulary(input.vocabulary);
        if (!vocabulary) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `No vocabulary ${JSON.stringify(input.vocabulary)}`, { details: { vocabulary: input.vocabulary } });
      }
      const read = fromEuropeanaCsv(texts[0]!, { source, ...(vocabulary && { vocabulary }) });
      return { images: [...read.images], problems: [...read.problems] };
    }
  }
}

/**
 * Imports ground truth into a dataset: each image's labels become accepted annotations (ids
 * derived from the content, so importing the same file twice changes nothing and keeps any later
 * review), members of the dataset; each image is recorded as a canvas unless a pipeline run
 * already recorded it (which knows more: its IIIF service).
 */
export async function importDataset(store: AnnotationStore, publicUrl: string, input: DatasetImportBody & { name: string }) {
  await store.createDataset({ name: input.name });
  const source = input.source ?? `import:${input.format}`;
  const { images, problems } = await readImages(store, input);
  const items: GroundTruthInput[] = [];
  for (const image of images) {
    const manifestId = image.manifest ?? image.id;
    for (const annotation of imageToAnnotations(image, { idBase: `${publicUrl}/v1/annotations/`, source })) {
      items.push({ manifestId, canvasId: image.id, annotation });
    }
    if (!(await store.getCanvas(image.id))) {
      await store.putCanvas({
        canvasId: image.id,
        manifestId,
        width: image.width ?? 0,
        height: image.height ?? 0,
        image: { id: image.url ?? image.id, ...(image.width && { width: image.width }), ...(image.height && { height: image.height }) },
      });
    }
  }
  const written = await store.putGroundTruth(items, { source, reviewer: source });
  await store.addDatasetMembers(input.name, items.map((i) => i.annotation.id));
  return { images: images.length, inserted: written.inserted, kept: written.kept, problems };
}

/** The dataset's ground truth: accepted and corrected annotations at their current revision. */
async function groundTruthOf(store: AnnotationStore, name: string): Promise<Annotation[]> {
  await requireDataset(store, name);
  return queryAll(store, { dataset: name, reviewState: ['accepted', 'corrected'] });
}

/** Each image with the classes it is split by: its concepts, or labels where there is none. */
const splitItemsOf = (images: readonly LabelledImage[]): { id: string; labels: string[] }[] =>
  images.map((image) => ({ id: image.id, labels: [...new Set(image.labels.map((l) => l.concept ?? l.label).filter((c): c is string => c !== undefined))].sort() }));

async function imagesOf(store: AnnotationStore, annotations: readonly Annotation[]): Promise<LabelledImage[]> {
  const canvases = new Map<string, { manifest?: string; url?: string; width: number; height: number }>();
  for (const id of new Set(annotations.map((a) => canvasOfTarget(a.target)))) {
    const record: CanvasRecord | undefined = await store.getCanvas(id);
    if (record) {
      canvases.set(id, {
        manifest: record.manifestId,
        url: record.image.service ? `${record.image.service.replace(/\/+$/, '')}/full/max/0/default.jpg` : record.image.id,
        width: record.width,
        height: record.height,
      });
    }
  }
  return annotationsToImages(annotations, canvases);
}

const splitOptions = (q: Pick<DatasetSplitsQuery, 'seed' | 'train' | 'validation' | 'test'>) => ({
  seed: q.seed,
  ratios: { train: q.train, validation: q.validation, test: q.test },
});

export async function datasetSplits(store: AnnotationStore, q: DatasetSplitsQuery) {
  const images = await imagesOf(store, await groundTruthOf(store, q.name));
  if (images.length < q.folds) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `Dataset ${q.name} has ${images.length} canvases with ground truth: too few for ${q.folds} folds`, {
      details: { canvases: images.length, folds: q.folds },
    });
  }
  const labelled = splitItemsOf(images);
  const split = stratifiedSplit(labelled, splitOptions(q));
  const fold = kFold(labelled, { k: q.folds, seed: q.seed });
  const counts: Record<string, Record<string, number>> = Object.fromEntries(SPLITS.map((s) => [s, {}]));
  const items = labelled.map(({ id, labels }) => {
    const s = split.get(id)!;
    for (const concept of labels) counts[s]![concept] = (counts[s]![concept] ?? 0) + 1;
    return { canvas: id, split: s, fold: fold.get(id)!, concepts: labels };
  });
  return { seed: q.seed, folds: q.folds, counts, items };
}

const MEDIA: Record<DatasetFormat, string> = {
  coco: 'application/json',
  voc: 'application/xml',
  'europeana-csv': 'text/csv',
  'annotation-page': 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"',
};

/** A file name from a canvas id: readable, unique (a short hash), safe on every file system. */
function fileStem(id: string, index: number): string {
  const tail = id.replace(/\/+$/, '').split('/').slice(-2).join('_').replace(/[^A-Za-z0-9._-]+/g, '_').slice(-60);
  return `${String(index + 1).padStart(5, '0')}_${tail || 'image'}`;
}

export async function exportDataset(store: AnnotationStore, publicUrl: string, q: DatasetExportQuery) {
  let annotations = await groundTruthOf(store, q.name);
  let images = await imagesOf(store, annotations);
  if (q.split !== undefined) {
    const split = stratifiedSplit(splitItemsOf(images), splitOptions(q));
    images = images.filter((image) => split.get(image.id) === q.split);
    const keep = new Set(images.map((i) => i.id));
    annotations = annotations.filter((a) => keep.has(canvasOfTarget(a.target)));
  }
  const stem = q.split ? `${q.name}-${q.split}` : q.name;
  const keep = (label: (l: LabelledImage['labels'][number]) => boolean): LabelledImage[] =>
    images.map((image) => ({ ...image, labels: image.labels.filter(label) })).filter((image) => image.labels.length > 0);
  let exported: LabelledImage[];
  const files: { name: string; mediaType: string; content: string }[] = [];
  switch (q.format) {
    case 'coco':
    case 'voc':
      // Detection formats carry labelled boxes: not text lines, not whole-image labels.
      exported = keep((l) => l.box !== undefined && l.text === undefined && (l.label ?? l.concept) !== undefined);
      if (q.format === 'coco') files.push({ name: `${stem}.coco.json`, mediaType: MEDIA.coco, content: JSON.stringify(toCoco(exported).coco, null, 1) });
      else exported.forEach((image, i) => files.push({ name: `${stem}/Annotations/${fileStem(image.id, i)}.xml`, mediaType: MEDIA.voc, content: toVoc(image) }));
      break;
    case 'europeana-csv': {
      // The pilot's CSV classifies whole images: boxes and text lines have no place in it.
      exported = keep((l) => l.box === undefined && l.text === undefined && l.concept !== undefined);
      const names = new Map<string, string>();
      for (const concept of new Set(exported.flatMap((i) => i.labels.map((l) => l.concept!)))) {
        const found = await store.findConcept(concept);
        const name = found?.notation ?? found?.prefLabel.en ?? found?.prefLabel[''];
        if (name) names.set(concept, name);
      }
      files.push({ name: `${stem}.csv`, mediaType: MEDIA['europeana-csv'], content: toEuropeanaCsv(exported, { conceptName: (uri) => names.get(uri) }) });
      break;
    }
    case 'annotation-page': {
      exported = images;
      const page = {
        '@context': [`${publicUrl}${LOUPE_CONTEXT_PATH}`, IIIF_PRESENTATION_CONTEXT],
        id: `${publicUrl}/v1/datasets/${encodeURIComponent(q.name)}/export?format=annotation-page${q.split ? `&split=${q.split}` : ''}`,
        type: 'AnnotationPage',
        items: annotations,
      };
      files.push({ name: `${stem}.annotations.json`, mediaType: MEDIA['annotation-page'], content: JSON.stringify(page, null, 1) });
      break;
    }
  }
  return { format: q.format, images: exported.length, annotations: exported.reduce((n, i) => n + i.labels.length, 0), files };
}
