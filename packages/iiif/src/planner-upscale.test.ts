// The planner's upscaling offer: made when the server cannot give what the target wants (a small
// master, a region smaller than the target, the server's limits), and only then; never applied.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseImageInfo } from './image-info.js';
import { parseJsonDocument } from './json-document.js';
import { planImageRequest, upscaleOffer } from './planner.js';

const INFO = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..', 'shared', 'fixtures', 'iiif', 'info');

const info = (width: number, height: number, extra: Record<string, unknown> = {}) =>
  parseImageInfo({ '@context': 'http://iiif.io/api/image/3/context.json', id: 'https://img.example.org/iiif/a', type: 'ImageService3', profile: 'level2', width, height, ...extra }, 'test');

t.test('upscaleOffer: the smallest of 2, 4 and 8 that reaches the target, when the shortfall is worth one', async (t) => {
  t.same(upscaleOffer(400, 1024), { suggested: 4, have: 400, want: 1024 });
  t.same(upscaleOffer(512, 1024), { suggested: 2, have: 512, want: 1024 });
  t.same(upscaleOffer(100, 1024), { suggested: 8, have: 100, want: 1024 }, 'nothing reaches: the largest factor');
  t.equal(upscaleOffer(700, 1024), undefined, 'less than 1.5 times short: not worth a model run');
  t.equal(upscaleOffer(1024, 1024), undefined);
});

t.test('a small master: the plan takes it whole and offers the upscale', async (t) => {
  const plan = planImageRequest(info(400, 300), { fit: { width: 1024, height: 1024 } });
  t.same([plan.width, plan.height, plan.scale], [400, 300, 1], 'full resolution, never upscaled by the planner');
  t.same(plan.upscale, { suggested: 4, have: 400, want: 1024 });
  t.same(planImageRequest(info(400, 300), { shortSide: 600 }).upscale, { suggested: 2, have: 300, want: 600 }, 'a short-side target binds the short side');
});

t.test('no offer when the server gives the size asked for, or nearly', async (t) => {
  t.equal(planImageRequest(info(4000, 3000), { fit: { width: 1024, height: 1024 } }).upscale, undefined);
  t.equal(planImageRequest(info(1600, 1200), { fit: { width: 2048, height: 2048 } }).upscale, undefined, '1600 of 2048');
});

t.test('a detail smaller than the target, and a server whose limits stop short: offered too', async (t) => {
  const region = planImageRequest(info(4000, 3000), { fit: { width: 1024, height: 1024 }, region: { x: 100, y: 100, w: 300, h: 200 } });
  t.same(region.upscale, { suggested: 4, have: 300, want: 1024 });
  const limited = planImageRequest(info(6000, 4000, { maxWidth: 800 }), { fit: { width: 2048, height: 2048 } });
  t.equal(limited.width, 800);
  t.same(limited.upscale, { suggested: 4, have: 800, want: 2048 });
});

t.test('real info.json documents: the small masters and the area-limited server are offered an upscale at 2048, none at 1024', async (t) => {
  if (!existsSync(INFO)) return t.plan(0, `no fixtures at ${INFO} (the shared folder sits beside the repository)`);
  const plan = (file: string, side: number) => planImageRequest(parseImageInfo(parseJsonDocument(readFileSync(join(INFO, file)), file), file), { fit: { width: side, height: side } });
  // 775 x 1024 masters (OpenSeadragon's test images, Image API 1.1 and 3).
  for (const file of ['v1.1-l2-osd-scale-factors.json', 'v3-l2-osd-extraformats.json']) {
    t.same(plan(file, 2048).upscale, { suggested: 2, have: 1024, want: 2048 }, file);
    t.equal(plan(file, 1024).upscale, undefined, `${file}: its full size is what a 1024 px target wants`);
  }
  // 4864 x 8918 behind a maxArea: the largest allowed is 693 px along the bound side.
  t.same(plan('v2-l2-dighimapper-maxarea-id-mismatch.json', 2048).upscale, { suggested: 4, have: 693, want: 2048 });
  // Large masters, level 0 ones included (tiles, listed sizes): nothing offered.
  for (const file of ['v2-l0-rotterdam-tiles-only.json', 'v2-l0-osd-sizes-only.json', 'v2-l2-gouda-sizes-no-tiles.json', 'v3-spec-5.2-maxwidth-maxheight-maxarea.json']) {
    t.equal(plan(file, 2048).upscale, undefined, file);
  }
});
