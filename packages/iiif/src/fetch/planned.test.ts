import { type IiifImageServer, type ImageProfile, makeTestImage, startIiifImageServer } from '@loupe/testing';
import sharp from 'sharp';
import t from 'tap';
import { parseImageInfo } from '../image-info.js';
import { planImageRequest } from '../planner.js';
import type { ImageRequestPlan, PlannedTile, PlanTarget } from '../types.js';
import { createFetcher } from './index.js';

const W = 700;
const H = 500;

let server: IiifImageServer;
let sourceRgb: Buffer;

t.before(async () => {
  const png = await makeTestImage({ width: W, height: H, format: 'png' });
  const jpg = await makeTestImage({ width: W, height: H, format: 'jpg' });
  sourceRgb = await sharp(png).removeAlpha().raw().toBuffer();
  server = await startIiifImageServer({
    images: {
      // Level 0, tiles only, png offered so that stitching can be checked pixel for pixel.
      lossless: { source: png, level: 0, sizes: false, tiles: { width: 256 }, extraFormats: ['png'] },
      photo: { source: jpg, level: 0, sizes: false, tiles: { width: 256 } },
      v2: { source: jpg, version: 2, level: 0, sizes: false, tiles: { width: 256 } },
    },
  });
});
t.teardown(() => server.close());
t.beforeEach(() => {
  server.reset();
  server.clearFaults();
});

/** The tile grid at scale factor `s`, as the Image API implementation notes compute it. */
function tilePlan(serviceId: string, s: number, version: 2 | 3, ext = 'jpg'): ImageRequestPlan {
  const tiles: PlannedTile[] = [];
  const step = 256 * s;
  for (let y = 0; y < H; y += step) {
    for (let x = 0; x < W; x += step) {
      const w = Math.min(step, W - x);
      const h = Math.min(step, H - y);
      const tw = Math.ceil(w / s);
      const th = Math.ceil(h / s);
      const size = version === 3 ? `${tw},${th}` : `${tw},`;
      tiles.push({ url: `${serviceId}/${x},${y},${w},${h}/${size}/0/default.${ext}`, x: x / s, y: y / s, width: tw, height: th });
    }
  }
  const width = Math.ceil(W / s);
  const height = Math.ceil(H / s);
  return { kind: 'tiles', tiles, width, height, region: { x: 0, y: 0, w: W, h: H }, scale: s, resizeLocally: false, reason: 'test grid' };
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

t.test('lossless tiles stitch back into exactly the source image', async (t) => {
  const plan = tilePlan(server.serviceId('lossless'), 1, 3, 'png');
  t.equal(plan.tiles?.length, 6, 'a 3 x 2 grid');
  const fetcher = createFetcher({ retryBaseMs: 5 });
  const result = await fetcher.getPlanned(plan);
  t.match(result, { width: W, height: H, channels: 3, fromCache: false });
  t.equal(result.data.length, W * H * 3);
  t.ok(result.data.equals(sourceRgb), 'every pixel where it belongs');
  t.equal(server.requests.length, 6);
});

t.test('JPEG tiles at scale factor 2 match the full image scaled down, within JPEG tolerance', async (t) => {
  const fetcher = createFetcher({ retryBaseMs: 5 });
  for (const [id, version] of [['photo', 3], ['v2', 2]] as const) {
    const plan = tilePlan(server.serviceId(id), 2, version);
    const result = await fetcher.getPlanned(plan);
    t.match(result, { width: 350, height: 250 }, `${id}: the plan's size`);
    const reference = await sharp(sourceRgb, { raw: { width: W, height: H, channels: 3 } }).resize(350, 250).raw().toBuffer();
    const diff = meanAbsDiff(result.data, reference);
    t.ok(diff < 6, `${id}: mean difference ${diff.toFixed(2)} per channel`);
  }
});

t.test('a single request that the server answers at another size is fitted to the plan', async (t) => {
  const fetcher = createFetcher({ retryBaseMs: 5 });
  // full/max of this level-0 service is 700x500; the plan expects 350x250 and says so.
  const plan: ImageRequestPlan = {
    kind: 'single',
    url: `${server.serviceId('lossless')}/full/max/0/default.png`,
    width: 350,
    height: 250,
    region: { x: 0, y: 0, w: W, h: H },
    scale: 2,
    resizeLocally: true,
    reason: 'test',
  };
  const result = await fetcher.getPlanned(plan);
  t.match(result, { width: 350, height: 250, channels: 3 });
  const reference = await sharp(sourceRgb, { raw: { width: W, height: H, channels: 3 } }).resize(350, 250, { fit: 'fill' }).raw().toBuffer();
  t.ok(meanAbsDiff(result.data, reference) < 1, 'the same picture');
});

t.test('a failing tile fails the plan, naming the tile', async (t) => {
  const fetcher = createFetcher({ retryBaseMs: 5, retries: 0 });
  const plan = tilePlan(server.serviceId('photo'), 1, 3);
  const bad = plan.tiles![4]!.url;
  server.fail(bad, { status: 404 });
  await t.rejects(fetcher.getPlanned(plan), { code: 'LOUPE_ERR_FETCH_NOT_FOUND', details: { url: bad, status: 404 } });
});

t.test('the cache serves a whole plan the second time', async (t) => {
  const fetcher = createFetcher({ retryBaseMs: 5, cacheDir: t.testdir() });
  const plan = tilePlan(server.serviceId('photo'), 2, 3);
  const first = await fetcher.getPlanned(plan);
  const requests = server.requests.length;
  const second = await fetcher.getPlanned(plan);
  t.equal(second.fromCache, true);
  t.equal(server.requests.length, requests, 'no new request');
  t.ok(second.data.equals(first.data));
});

t.test('plans that cannot be right are refused before any request', async (t) => {
  const fetcher = createFetcher({ maxPixels: 100_000 });
  await t.rejects(fetcher.getPlanned(tilePlan(server.serviceId('photo'), 1, 3)), { code: 'LOUPE_ERR_IMAGE_TOO_MANY_PIXELS' });
  const plan = tilePlan(server.serviceId('photo'), 4, 3);
  const outside = { ...plan, tiles: [{ ...plan.tiles![0]!, x: 100 }] };
  await t.rejects(fetcher.getPlanned(outside), { code: 'LOUPE_ERR_VALIDATION', message: /outside/ });
  t.equal(server.requests.length, 0);
});

t.test('end to end: info.json -> planner -> fetcher, against every kind of server', async (t) => {
  const jpg = await makeTestImage({ width: 1000, height: 700 });
  const reference = sharp(await sharp(jpg).raw().toBuffer(), { raw: { width: 1000, height: 700, channels: 3 } });
  const profiles: Record<string, ImageProfile> = {
    'v3 level 0, sizes': { level: 0 },
    'v3 level 0, tiles': { level: 0, sizes: false, tiles: true },
    'v3 level 0, sizes and tiles': { level: 0, tiles: true },
    'v3 level 1': { level: 1 },
    'v3 level 2, maxWidth 400': { level: 2, maxWidth: 400 },
    'v2 level 0, tiles': { version: 2, level: 0, sizes: false, tiles: true },
    'v2 level 1': { version: 2, level: 1, sizes: false },
    'v2 level 2, maxArea': { version: 2, level: 2, maxArea: 100_000 },
  };
  const targets: PlanTarget[] = [
    { shortSide: 224 },
    { fit: { width: 512, height: 512 } },
    { shortSide: 100, region: { x: 300, y: 200, w: 400, h: 300 } },
    { shortSide: 2000 },
  ];
  const local = await startIiifImageServer();
  t.teardown(() => local.close());
  const fetcher = createFetcher({ retryBaseMs: 5, retries: 0 });
  for (const [name, profile] of Object.entries(profiles)) {
    const serviceId = await local.addImage(name, jpg, profile);
    const info = parseImageInfo(await fetcher.getJson(`${serviceId}/info.json`), `${serviceId}/info.json`);
    for (const target of targets) {
      const label = `${name}, ${JSON.stringify(target)}`;
      const plan = planImageRequest(info, target);
      const result = await fetcher.getPlanned(plan).catch((err: unknown) => err as Error);
      if (result instanceof Error) {
        t.fail(`${label}: ${plan.reason}: ${result.message}`);
        continue;
      }
      t.match(result, { width: plan.width, height: plan.height, channels: 3 }, `${label}: ${plan.reason}`);
      const { x, y, w, h } = plan.region;
      const expected = await reference.clone().extract({ left: x, top: y, width: w, height: h }).resize(plan.width, plan.height, { fit: 'fill' }).raw().toBuffer();
      const diff = meanAbsDiff(result.data, expected);
      t.ok(diff < 8, `${label}: the right pixels (mean difference ${diff.toFixed(2)})`);
    }
  }
});
