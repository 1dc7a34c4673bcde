// Benchmark (not a test): what one page of a big layer costs. A newspaper run read line by line is
// one layer of many annotations; an enriched manifest points each canvas at its page of that layer,
// so a viewer asks for a page every time it turns one. A file-backed SQLite store holds N canvases
// of L line annotations each (one OCR model, one version); the bench times the layer's collection,
// its pages at the start, middle and end, and, for scale in the same run, reading the whole layer
// through the store's paged query (what every page cost before it walked only to its neighbours),
// and prints one JSON line.
//   node --import tsx --conditions=loupe-source services/ground-truth/bench/layer-page.bench.ts [--canvases 400] [--lines 150]
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { manifestKey, type Finding, type ResultSet } from '@loupe/contracts';
import { openSqliteAnnotationStore, withPublicUrl } from '@loupe/store';
import { resultSetKey, toAnnotations } from '../src/annotations.js';
import { queryAll } from '../src/curation.js';
import { layerHandlers } from '../src/layers.js';

const { values } = parseArgs({ options: { canvases: { type: 'string', default: '400' }, lines: { type: 'string', default: '150' } } });
const CANVASES = Number(values.canvases);
const LINES = Number(values.lines);
const PUBLIC = 'https://loupe.example';
const MANIFEST = 'https://iiif.example.org/newspaper/manifest';
const canvas = (n: number): string => `https://iiif.example.org/newspaper/canvas/${n}`;
const line = (i: number): Finding => ({ motivation: 'supplementing', text: `Line ${i} of the page: the harbour master reports three schooners in port`, box: { x: 100, y: 40 + i * 30, w: 2400, h: 28 }, confidence: 0.93 });

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-layer-bench-'));
const raw = openSqliteAnnotationStore({ path: path.join(dir, 'store.sqlite') });
try {
  const store = withPublicUrl(raw, PUBLIC);
  const findings = Array.from({ length: LINES }, (_, i) => line(i));
  const filling = performance.now();
  for (let n = 0; n < CANVASES; n++) {
    const set: ResultSet = { manifestId: MANIFEST, canvasId: canvas(n), imageIndex: 0, stage: 'detect.text', model: { id: 'tesseract', version: '5.3', name: 'Tesseract', runtime: 'tesseract' }, generated: '2026-01-01T00:00:00Z', findings };
    await store.putCanvas({ canvasId: canvas(n), manifestId: MANIFEST, index: n, width: 2600, height: 4000, image: { id: `https://iiif.example.org/newspaper/${n}.jpg` } });
    await store.replaceResultSet(resultSetKey(set), '5.3', toAnnotations(set, PUBLIC));
  }
  const filled = performance.now() - filling;
  const [layer, page] = layerHandlers(store, PUBLIC);
  const params = { manifest: manifestKey(MANIFEST), model: 'tesseract', version: '5.3', state: 'unreviewed' };
  const time = async (run: () => Promise<unknown>): Promise<number> => {
    const started = performance.now();
    await run();
    return Math.round(performance.now() - started);
  };
  const pageAt = (n: number) => time(() => page.handler({ ...params, canvas: canvas(n) } as never, {} as never));
  const collectionMs = await time(() => layer.handler(params as never, {} as never));
  const pagesMs = { first: await pageAt(0), middle: await pageAt(CANVASES >> 1), last: await pageAt(CANVASES - 1) };
  const wholeLayerMs = await time(() => queryAll(store, { manifestId: MANIFEST, modelId: 'tesseract', reviewState: 'unreviewed' }));
  console.log(JSON.stringify({ canvases: CANVASES, annotations: CANVASES * LINES, fillSeconds: Math.round(filled / 100) / 10, collectionMs, pagesMs, wholeLayerMs }));
} finally {
  raw.close();
  await fs.rm(dir, { recursive: true, force: true });
}
