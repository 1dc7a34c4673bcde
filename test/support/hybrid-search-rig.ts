// A process with the two halves of hybrid search, each in its service as `loupe serve` runs them:
// ground truth (a real SQLite store file, its full-text index, the textRanking handler) and embed's
// search (the real embedded vector index, mobilenet-v2-features from the offline pack), on one
// in-memory bus, listening on a real port. Canvases are put in as the stages would leave them: a
// vector with its payload, classifications as the classify stage writes them, OCR pages.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, createMemoryBus } from '@loupe/bus';
import { TEXT_RANKING_API, type Annotation, type OcrPage, type SearchOutput, type ServiceDefinition } from '@loupe/contracts';
import { openProcessModels, prepareImage } from '@loupe/inference';
import { createServiceApp } from '@loupe/runtime';
import { openSqliteAnnotationStore, openSqliteContentSearch } from '@loupe/store';
import { openEmbeddedVectorStore, pointId } from '@loupe/vectors';
import { embedModels } from '../../services/embed/src/embed-models.js';
import { textRankerOverBus } from '../../services/embed/src/hybrid-search.js';
import { searchHandler } from '../../services/embed/src/search.handler.js';
import { createGroundTruthService } from '../../services/ground-truth/src/index.js';

export const EMBED_MODEL = 'mobilenet-v2-features';
const PUBLIC = 'http://loupe.test';

export interface CanvasInput {
  readonly manifestId: string;
  readonly canvasId: string;
  readonly image: Buffer;
  readonly rights?: string;
  /** Labels a classification head gave the image: [label, concept URI, confidence]. */
  readonly tags?: readonly (readonly [string, string, number])[];
  /** What an OCR engine read on it. */
  readonly ocr?: OcrPage;
}

export interface HybridRig {
  add(canvas: CanvasInput): Promise<void>;
  search(body: Record<string, unknown>): Promise<{ status: number; body: SearchOutput & { code?: string; message?: string } }>;
  close(): Promise<void>;
}

export async function startHybridRig(): Promise<HybridRig> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-hybrid-'));
  const dbPath = path.join(dir, 'store.db');
  const store = openSqliteAnnotationStore({ path: dbPath });
  const index = openSqliteContentSearch({ path: dbPath });
  const vectors = await openEmbeddedVectorStore({ dir: path.join(dir, 'vectors') });
  const models = openProcessModels({ modelsDir: path.join(dir, 'models'), executionProvider: 'cpu', inferenceThreads: 1 });
  const embedder = await models.imageEmbedder(EMBED_MODEL);
  const bus = createMemoryBus();

  const groundTruth = createGroundTruthService({ store, publicUrl: PUBLIC, search: index });
  const deps = {
    models: models.registry,
    fetcher: undefined as never, // Only canvas and upload queries here: nothing is fetched.
    embedder: () => Promise.resolve(embedder),
    defaultModel: EMBED_MODEL,
    vectors,
  };
  const embed: ServiceDefinition = {
    name: 'embed',
    version: 'test',
    description: 'search only',
    handlers: [searchHandler(embedModels(deps), textRankerOverBus(createClient(bus), TEXT_RANKING_API.textRanking))],
  };
  const app = await createServiceApp([groundTruth, embed], { bus, logger: false });
  const { url } = await app.start({ port: 0, host: '127.0.0.1' });

  async function add(c: CanvasInput): Promise<void> {
    const vector = await embedder.embed(await prepareImage(c.image));
    const collection = await vectors.collection({ modelId: embedder.model.id, modelVersion: embedder.model.version, dims: vector.length });
    await collection.upsert([
      { id: pointId(c.canvasId, 0), vector, payload: { canvasId: c.canvasId, imageIndex: 0, manifestId: c.manifestId, thumbnail: `${c.canvasId}/thumb.jpg`, ...(c.rights && { rights: c.rights }) } },
    ]);
    await store.putCanvas({ canvasId: c.canvasId, manifestId: c.manifestId, width: 100, height: 100, image: { id: `${c.canvasId}.jpg` } });
    const key = (stage: string, modelId: string) => ({ manifestId: c.manifestId, canvasId: c.canvasId, imageIndex: 0, stage, modelId });
    if (c.tags) {
      const annotations = c.tags.map(([label, uri, confidence]): Annotation => ({
        id: `${c.canvasId}/classify/${label}`,
        type: 'Annotation',
        motivation: 'classifying',
        body: [
          { type: 'TextualBody', value: label, language: 'en', purpose: 'tagging' },
          { type: 'SpecificResource', source: uri, purpose: 'classifying' },
        ],
        target: c.canvasId,
        generated: '2026-01-01T00:00:00Z',
        'loupe:confidence': confidence,
      }) as Annotation);
      await store.replaceResultSet(key('classify', 'head'), '1', annotations);
    }
    if (c.ocr) await store.replaceOcrPage(key('text', c.ocr.engine.id), c.ocr.engine.version, c.ocr, '2026-01-01T00:00:00Z');
  }

  return {
    add,
    async search(body) {
      const res = await fetch(`${url}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as SearchOutput & { code?: string; message?: string } };
    },
    async close() {
      await app.close();
      await bus.close();
      await models.close();
      await index.close();
      await store.close();
      await vectors.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
