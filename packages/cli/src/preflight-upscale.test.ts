// The line `loupe run` says before it starts when a manifest's images come smaller than the pipeline
// wants: counted per canvas, said once per manifest, with the factor the planner suggests.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { HarvestedManifest, ImageInfo } from '@loupe/iiif';
import { parseImageInfo, planImageRequest, upscaleOffer } from '@loupe/iiif/plan';
import { openRegistry } from '@loupe/inference';
import { UPSCALE_PROBE_CANVASES, upscaleHint, wantedSide } from './preflight-upscale.js';

const modelsDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-upscale-hint-'));
t.teardown(() => fs.rm(modelsDir, { recursive: true, force: true }));
// The built-in cards: their input sizes are what the detectors want.
const registry = openRegistry({ modelsDir });
const models = { objects: 'yolov8n-coco', faces: 'blazeface-back' };

const infos = new Map<string, ImageInfo>();
const service = (id: string, width: number, height: number) => {
  infos.set(id, parseImageInfo({ '@context': 'http://iiif.io/api/image/3/context.json', id, type: 'ImageService3', profile: 'level2', width, height }, id));
  return { id, version: 3 as const, level: 2 as const };
};
const probe = {
  info: async (id: string) => {
    const info = infos.get(id);
    if (!info) throw new Error(`no ${id}`);
    return info;
  },
  plan: planImageRequest,
  offer: upscaleOffer,
};
const manifest = (canvases: HarvestedManifest['canvases'][number]['images'][]): HarvestedManifest =>
  ({
    id: 'https://ex.org/m',
    label: 'Registers',
    canvases: canvases.map((images, index) => ({ id: `https://ex.org/m/c${index}`, index, label: `${index}`, width: 1000, height: 1000, images })),
  }) as unknown as HarvestedManifest;

t.test('what each pipeline wants: the text reader its 2048 px, the object detector its input, nothing for embeddings', async (t) => {
  t.same(wantedSide('text', registry, models), { side: 2048, by: 'the text reader' });
  t.same(wantedSide('objects', registry, models), { side: 640, by: 'the object detector (yolov8n-coco)' });
  t.same(wantedSide('enrich', registry, models), { side: 2048, by: 'the text reader' }, 'the largest want of the pipeline');
  t.equal(wantedSide('embed', registry, models), undefined);
});

t.test('one line per manifest: how many canvases, the largest of their sizes, the factors', async (t) => {
  const want = { side: 2048, by: 'the text reader' };
  const m = manifest([
    [{ id: 'a', service: service('https://img.ex.org/a', 400, 300) }],
    [{ id: 'b', service: service('https://img.ex.org/b', 900, 700) }],
    [{ id: 'c', service: service('https://img.ex.org/c', 3000, 4000) }],
    // A plain image whose size the manifest gives.
    [{ id: 'https://img.ex.org/d.jpg', width: 600, height: 800 }],
    // A small inset beside a large page: the page is read, the canvas is not short.
    [
      { id: 'e1', service: service('https://img.ex.org/e1', 3000, 4000) },
      { id: 'e2', service: service('https://img.ex.org/e2', 200, 200) },
    ],
    // An info.json that cannot be read counts for nothing (the run reports it).
    [{ id: 'f', service: { id: 'https://img.ex.org/missing', version: 3, level: 2 } }],
  ]);
  t.equal(
    await upscaleHint(m, want, undefined, probe),
    'Registers: 3 of 6 canvases come at most 900 px where the text reader wants 2048: add --enhance upscale=4 (or 8 for the smallest) to upscale them first (docs/enhance.md)',
  );
  t.equal(await upscaleHint(m, want, { upscale: 2 }, probe), undefined, 'a job that upscales is not told to');
  t.match(await upscaleHint(m, want, { deblur: true }, probe), /3 of 6 canvases/, 'deblurring alone does not reach the size');
  t.equal(await upscaleHint(manifest([[{ id: 'c', service: service('https://img.ex.org/c', 3000, 4000) }]]), want, undefined, probe), undefined, 'nothing short: no line');
});

t.test('a long manifest: the first canvases are looked at, and the line says so', async (t) => {
  const many = manifest(Array.from({ length: UPSCALE_PROBE_CANVASES + 10 }, (_, i) => [{ id: `p${i}`, service: service(`https://img.ex.org/p${i}`, 1000, 1200) }]));
  t.equal(
    await upscaleHint(many, { side: 2048, by: 'the text reader' }, undefined, probe),
    `Registers: ${UPSCALE_PROBE_CANVASES} of the first ${UPSCALE_PROBE_CANVASES} of ${UPSCALE_PROBE_CANVASES + 10} canvases come at most 1200 px where the text reader wants 2048: add --enhance upscale=2 to upscale them first (docs/enhance.md)`,
  );
});
