import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LoupeError, type EmbedImageOutput } from '@loupe/contracts';
import { csvRecords } from '@loupe/datasets';
import { serveFolder } from './iiif.js';

/** Labelled examples with their embeddings, as `loupe train` fits them. */
export interface LabelledVectors {
  readonly ids: string[];
  readonly vectors: Map<string, Float32Array>;
  /** Concept URI -> label, per example. */
  readonly labels: Map<string, Map<string, string | undefined>>;
  /** The group of each example, when the source names one (folds keep a group together). */
  readonly groups?: Map<string, string>;
  readonly modelVersion: string | undefined;
}

type Call = <T>(method: 'GET' | 'POST', url: string, payload?: unknown) => Promise<T>;

/**
 * `loupe train --images <dir>`: a folder of pictures and its labels.csv (`file`, `concept`, and
 * optionally `label` and `group`; one row per file and concept) as training examples. The folder
 * is served as IIIF on a loopback port for the time of the embedding, so each picture reaches the
 * embed service exactly as a canvas does (the same IIIF request, the same resizing): a head
 * trained here reads the same features when it classifies a canvas.
 */
export async function embedImageFolder(call: Call, folder: string, model: string, say: (line: string) => void): Promise<LabelledVectors> {
  const labelsFile = path.join(folder, 'labels.csv');
  let text: string;
  try {
    text = await readFile(labelsFile, 'utf8');
  } catch (err) {
    throw new LoupeError('LOUPE_ERR_NOT_FOUND', `${labelsFile}: cannot read it (${(err as Error).message}); --images needs a folder with a labels.csv (file, concept[, label, group])`, { cause: err });
  }
  const { records } = csvRecords(text, { required: ['file', 'concept'], source: labelsFile });
  const labels = new Map<string, Map<string, string | undefined>>();
  const groups = new Map<string, string>();
  for (const r of records) {
    const file = r['file']!;
    const concepts = labels.get(file) ?? new Map<string, string | undefined>();
    concepts.set(r['concept']!, r['label'] || undefined);
    labels.set(file, concepts);
    if (r['group']) groups.set(file, r['group']);
  }

  const server = await serveFolder({ folder, host: '127.0.0.1' });
  try {
    const served = new Map(server.images.map((i) => [i.file, i.serviceId]));
    const missing = [...labels.keys()].filter((f) => !served.has(f));
    if (missing.length > 0) throw new LoupeError('LOUPE_ERR_NOT_FOUND', `${labelsFile} names ${missing.length} file(s) the folder does not hold as images: ${missing.slice(0, 5).join(', ')}`);
    const ids = [...labels.keys()].sort();
    const vectors = new Map<string, Float32Array>();
    let modelVersion: string | undefined;
    const queue = [...ids];
    const started = performance.now();
    const worker = async (): Promise<void> => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        const service = served.get(file)!;
        const out = await call<EmbedImageOutput>('POST', '/v1/embed', { model, image: { id: `${service}/full/max/0/default.jpg`, service: { id: service, version: 3, level: 2 } } });
        modelVersion ??= out.model.version;
        vectors.set(file, Float32Array.from(out.vector));
        if (vectors.size % 100 === 0) say(`  embeddings: ${vectors.size}/${ids.length}`);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    say(`embeddings of ${vectors.size} images of ${folder} with ${model} ${modelVersion ?? ''} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return { ids, vectors, labels, ...(groups.size === ids.length && { groups }), modelVersion };
  } finally {
    await server.close();
  }
}
