import { LoupeError, type Annotation, type AnnotationPage, type EmbedImageOutput } from '@loupe/contracts';
import { formatClassification, labelOfAnnotation, type ClassificationReport } from '@loupe/datasets';
import { closeToChance, fitHead, nextVersion, saveHead, type HeadKind } from '@loupe/heads';
import { pointId, type VectorCollection } from '@loupe/vectors';
import type { LoupeConfig } from '../config.js';
import path from 'node:path';
import { apiCaller, createEmbedded, type Embedded } from '../embedded.js';
import { numberOption } from '../options.js';
import { headsDir } from '../stores.js';
import { embedImageFolder, type LabelledVectors } from './train-images.js';
import { embedImageTiles } from './train-tiles.js';
import { openProcessModels } from '@loupe/inference';

export interface TrainOptions {
  readonly dataset?: string | undefined;
  /** A folder of pictures with a labels.csv, instead of a dataset (train-images.ts). */
  readonly images?: string | undefined;
  readonly embedding?: string | undefined;
  readonly head?: string | undefined;
  readonly folds?: string | undefined;
  readonly seed?: string | undefined;
  readonly kind?: string | undefined;
  readonly targetPrecision?: string | undefined;
  /** With --images: train on tiles of each picture fitted to this many pixels (train-tiles.ts). */
  readonly tiles?: string | undefined;
}

/** The tiles a `--tiles <fit>` head reads besides the fit: 224 px (the model's own size), overlapping by a quarter, and four half-size corners. */
const TILES = { size: 224, overlap: 0.25, corners: 0.5 } as const;

interface CanvasItem {
  readonly canvas: { canvasId: string; width: number; height: number; image: { id: string; service?: string; serviceVersion?: number } };
}

const PAGE = 10_000;

/**
 * `loupe train --dataset <name> --embedding <model>`: a classification head from the dataset's
 * ground truth (accepted and corrected whole-canvas concepts), or with `--images <dir>` from a
 * labelled folder of pictures (train-images.ts). Each canvas's embedding is taken
 * from the vector store when `--pipeline embed` already made it with that model, and computed
 * through the embed service otherwise. The head is cross-validated (k folds), calibrated
 * (temperature and per-concept thresholds on a validation split), and written as a new version
 * under LOUPE_MODELS_DIR/heads, where a running classify service finds it without a restart.
 */
export async function trainCommand(config: LoupeConfig, opts: TrainOptions, say: (line: string) => void): Promise<number> {
  if ((opts.dataset === undefined) === (opts.images === undefined)) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', 'loupe train needs --dataset <name> or --images <folder with labels.csv>, one of them');
  }
  // A folder's examples are named in the head's card by the folder's name.
  const dataset = opts.dataset ?? path.basename(path.resolve(opts.images!));
  const model = opts.embedding ?? config.embedModel;
  const headId = opts.head ?? `${dataset}-${model}`.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').slice(0, 100);
  const folds = numberOption('folds', opts.folds, true, { min: 2, max: 50 });
  const targetPrecision = numberOption('target-precision', opts.targetPrecision, false, { min: 0.01, max: 1 });
  const fit = numberOption('tiles', opts.tiles, true, { min: 224, max: 2048 });
  if (fit !== undefined && opts.images === undefined) throw new LoupeError('LOUPE_ERR_VALIDATION', '--tiles needs --images <folder with labels.csv and masks>');
  if (opts.kind !== undefined && opts.kind !== 'softmax' && opts.kind !== 'sigmoid') {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `--kind must be softmax (one concept per image) or sigmoid (several); got ${JSON.stringify(opts.kind)}`);
  }

  const embedded = await createEmbedded({ ...config, services: ['ground-truth', 'embed'] });
  try {
    await embedded.app.start();
    const call = apiCaller(embedded.app);

    const source = fit !== undefined ? await tileSource(config, path.resolve(opts.images!), model, fit, say) : opts.images !== undefined ? await embedImageFolder(call, path.resolve(opts.images), model, say) : await datasetVectors(call, embedded, dataset, model, say);
    const { ids, vectors, labels, modelVersion } = source;

    // A class is named by its concept's preferred label in an imported vocabulary, else by the label the ground truth gave.
    const preferred = new Map<string, string>();
    const { items: vocabularies } = await call<{ items: { id: string }[] }>('GET', '/v1/vocabularies');
    for (const { id } of vocabularies) {
      const vocab = await call<{ concepts: { uri: string; prefLabel: Record<string, string> }[] }>('GET', `/v1/vocabularies/${encodeURIComponent(id)}`);
      for (const c of vocab.concepts) {
        const label = c.prefLabel['en'] ?? c.prefLabel[''] ?? Object.values(c.prefLabel)[0];
        if (label !== undefined && !preferred.has(c.uri)) preferred.set(c.uri, label);
      }
    }
    const examples = ids.filter((id) => vectors.has(id));
    const classes = new Map<string, string | undefined>();
    for (const id of examples) for (const [concept, label] of labels.get(id)!) if (!classes.has(concept) || label) classes.set(concept, preferred.get(concept) ?? label);
    if (classes.size < 2) {
      throw new LoupeError('LOUPE_ERR_VALIDATION', `Dataset ${dataset} has ${classes.size} concept with ground truth: a classifier needs two or more`);
    }
    const dir = headsDir(config);
    const version = await nextVersion(dir, headId);
    const fitStarted = performance.now();
    const { head, report } = fitHead(
      {
        vectors: examples.map((id) => vectors.get(id)!),
        labels: examples.map((id) => [...labels.get(id)!.keys()]),
        ...(source.groups && { groups: examples.map((id) => source.groups!.get(id)!) }),
        classes: [...classes].sort(([a], [b]) => (a < b ? -1 : 1)).map(([concept, label]) => ({ concept, ...(label !== undefined && { label }) })),
      },
      {
        id: headId,
        version,
        embedding: { model, version: modelVersion!, dims: vectors.get(examples[0]!)!.length },
        dataset,
        ...(folds !== undefined && { folds }),
        ...(opts.seed !== undefined && { seed: opts.seed }),
        ...(opts.kind !== undefined && { kind: opts.kind as HeadKind }),
        ...(targetPrecision !== undefined && { targetPrecision }),
        onProgress: (line) => say(`  ${line}`),
      },
    );
    const caution = closeToChance(head);
    const file = await saveHead(dir, 'positive' in source ? { ...head, input: { tiles: { fit: fit!, ...TILES, positive: source.positive as string } } } : head);
    process.stdout.write(
      [
        `Head ${head.id} version ${head.version} (${head.kind}, ${head.classes.length} concepts, ${examples.length} canvases) in ${((performance.now() - fitStarted) / 1000).toFixed(1)} s`,
        `Cross-validation (${report.folds} folds):`,
        formatClassification(report as unknown as ClassificationReport),
        ...(caution === undefined ? [] : [`Caution: ${caution}`]),
        `Calibration: temperature ${head.temperature.toFixed(3)}; thresholds for precision ${head.targetPrecision}: ${head.classes
          .map((c, i) => `${c.label ?? c.concept} ${head.thresholds[i]!.toFixed(3)}`)
          .join(', ')}`,
        `Wrote ${file}; use it with --head ${head.id} (loupe run --pipeline classify, POST /v1/classify)`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await embedded.close();
  }
}

/** The folder's pictures as tiles, embedded here by the classify service's own tiling. */
async function tileSource(config: LoupeConfig, folder: string, model: string, fit: number, say: (line: string) => void): Promise<LabelledVectors & { positive: string }> {
  const models = openProcessModels({ modelsDir: config.modelsDir, executionProvider: config.executionProvider, inferenceThreads: config.inferenceThreads });
  try {
    return await embedImageTiles(folder, { fit, ...TILES }, await models.imageEmbedder(model), say);
  } finally {
    await models.close();
  }
}

/** The dataset's ground truth (accepted and corrected whole-canvas concepts) and each canvas's embedding. */
async function datasetVectors(call: ReturnType<typeof apiCaller>, embedded: Embedded, dataset: string, model: string, say: (line: string) => void): Promise<LabelledVectors> {
    // Ground truth: the current revision of accepted and corrected whole-canvas concepts.
  const labels = new Map<string, Map<string, string | undefined>>();
  for (const state of ['accepted', 'corrected'] as const) {
    for (let offset = 0; ; offset += PAGE) {
      const params = new URLSearchParams({ dataset, reviewState: state, limit: String(PAGE), offset: String(offset) });
      const page = await call<AnnotationPage>('GET', `/v1/annotations?${params.toString()}`);
      for (const a of page.items as Annotation[]) {
        const found = labelOfAnnotation(a);
        if (!found || found.label.box || found.label.text !== undefined || !found.label.concept) continue;
        const concepts = labels.get(found.canvasId) ?? new Map<string, string | undefined>();
        concepts.set(found.label.concept, found.label.label);
        labels.set(found.canvasId, concepts);
      }
      if (page.items.length < PAGE) break;
    }
  }
  if (labels.size === 0) {
    throw new LoupeError('LOUPE_ERR_NOT_FOUND', `Dataset ${dataset} has no accepted or corrected whole-canvas concepts to train on`, {
      details: { dataset, hint: 'review classifications (accept, correct), or import labelled images: loupe datasets import' },
    });
  }

  const canvases = new Map<string, CanvasItem['canvas']>();
  for (let offset = 0; ; offset += 1000) {
    const page = await call<{ items: CanvasItem[] }>('GET', `/v1/canvases?${new URLSearchParams({ dataset, limit: '1000', offset: String(offset) }).toString()}`);
    for (const item of page.items) canvases.set(item.canvas.canvasId, item.canvas);
    if (page.items.length < 1000) break;
  }

  // Vectors the embed pipeline already keeps, then the embed service for the rest.
  let collection: VectorCollection | undefined;
  let modelVersion: string | undefined;
  const ids = [...labels.keys()].sort();
  const vectors = new Map<string, Float32Array>();
  let reused = 0;
  let done = 0;
  const started = performance.now();
  const embedOne = async (canvasId: string): Promise<void> => {
    const canvas = canvases.get(canvasId);
    if (!canvas || !canvas.image.id) {
      say(`  skipped ${canvasId}: the store knows no image for it`);
      return;
    }
    const out = await call<EmbedImageOutput>('POST', '/v1/embed', {
      model,
      image: {
        id: canvas.image.id,
        ...(canvas.image.service && { service: { id: canvas.image.service, version: canvas.image.serviceVersion ?? 3, level: null } }),
      },
      ...(canvas.width > 0 && canvas.height > 0 && { canvas: { id: canvasId, width: canvas.width, height: canvas.height } }),
    });
    modelVersion ??= out.model.version;
    vectors.set(canvasId, Float32Array.from(out.vector));
  };
  const first = ids[0]!;
  await embedOne(first);
  if (modelVersion !== undefined && embedded.vectors) {
    const spec = (await embedded.vectors.collections()).find((c) => c.modelId === model && c.modelVersion === modelVersion);
    if (spec) collection = await embedded.vectors.collection(spec);
  }
  const queue = ids.slice(1);
  const worker = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const point = collection && (await collection.get(pointId(id, 0)));
      if (point) {
        vectors.set(id, Float32Array.from(point.vector));
        reused += 1;
      } else {
        await embedOne(id);
      }
      done += 1;
      if (done % 200 === 0) say(`  embeddings: ${done + 1}/${ids.length}`);
    }
  };
  await Promise.all([worker(), worker(), worker()]);
  say(`embeddings of ${vectors.size} canvases with ${model} ${modelVersion ?? ''} (${reused} from the vector store) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { ids, vectors, labels, modelVersion };
}
