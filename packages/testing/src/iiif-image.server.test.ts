import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import t from 'tap';
import { type IiifImageServer, startIiifImageServer } from '@loupe/demo';
import { makeTestImage } from './test-image.js';

let server: IiifImageServer;

t.before(async () => {
  const image = await makeTestImage({ width: 1000, height: 600 });
  server = await startIiifImageServer({
    images: {
      l2: image,
      l1: { source: image, level: 1 },
      'sizes only': { source: image, level: 0 },
      tiles: { source: image, level: 0, sizes: false, tiles: true },
      v2l1: { source: image, version: 2, level: 1 },
      v2l2: { source: image, version: 2, level: 2, extraFeatures: ['mirroring'], maxWidth: 800 },
      capped: { source: image, level: 2, maxWidth: 500, extraFeatures: ['sizeUpscaling'] },
    },
  });
});
t.teardown(() => server.close());

async function get(path: string, init?: RequestInit): Promise<{ status: number; type: string | null; body: Buffer; headers: Headers }> {
  const res = await fetch(path.startsWith('http') ? path : `${server.url}${path}`, { redirect: 'manual', ...init });
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

async function size(path: string): Promise<[number, number] | number> {
  const res = await get(path);
  if (res.status !== 200) return res.status;
  const meta = await sharp(res.body).metadata();
  return [meta.width!, meta.height!];
}

t.test('info.json for Image API 3, level 2', async (t) => {
  const res = await get('/iiif/l2/info.json');
  t.equal(res.status, 200);
  t.equal(res.type, 'application/json');
  t.equal(res.headers.get('access-control-allow-origin'), '*', 'CORS');
  t.match(JSON.parse(res.body.toString()), {
    '@context': 'http://iiif.io/api/image/3/context.json',
    id: server.serviceId('l2'),
    type: 'ImageService3',
    protocol: 'http://iiif.io/api/image',
    profile: 'level2',
    width: 1000,
    height: 600,
    sizes: [{ width: 63, height: 38 }, { width: 125, height: 75 }, { width: 250, height: 150 }, { width: 500, height: 300 }, { width: 1000, height: 600 }],
    tiles: [{ width: 256, height: 256, scaleFactors: [1, 2, 4] }],
  });
  const ld = await get('/iiif/l2/info.json', { headers: { accept: 'application/ld+json' } });
  t.equal(ld.type, 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"', 'JSON-LD when asked for');
});

t.test('info.json for level 0 variants and for Image API 2', async (t) => {
  const sizesOnly = JSON.parse((await get('/iiif/sizes%20only/info.json')).body.toString());
  t.equal(sizesOnly.profile, 'level0');
  t.ok(sizesOnly.sizes.length > 0, 'sizes listed');
  t.notOk('tiles' in sizesOnly, 'no tiles');
  const tilesOnly = JSON.parse((await get('/iiif/tiles/info.json')).body.toString());
  t.notOk('sizes' in tilesOnly, 'no sizes');
  t.same(tilesOnly.tiles, [{ width: 256, height: 256, scaleFactors: [1, 2, 4] }]);

  const v2 = JSON.parse((await get('/iiif/v2l1/info.json')).body.toString());
  t.match(v2, { '@context': 'http://iiif.io/api/image/2/context.json', '@id': server.serviceId('v2l1'), protocol: 'http://iiif.io/api/image' });
  t.same(v2.profile, ['http://iiif.io/api/image/2/level1.json']);
  const v2l2 = JSON.parse((await get('/iiif/v2l2/info.json')).body.toString());
  t.same(v2l2.profile, ['http://iiif.io/api/image/2/level2.json', { supports: ['mirroring'], maxWidth: 800, maxHeight: 800 }]);
});

t.test('level 1 serves what it promises and refuses level 2 features', async (t) => {
  t.same(await size('/iiif/l1/full/200,/0/default.jpg'), [200, 120]);
  t.same(await size('/iiif/l1/full/,60/0/default.jpg'), [100, 60]);
  t.same(await size('/iiif/l1/100,100,300,200/150,100/0/default.jpg'), [150, 100]);
  t.same(await size('/iiif/l1/square/100,100/0/default.jpg'), [100, 100]);
  t.same(await size('/iiif/l1/900,500,300,300/max/0/default.jpg'), [100, 100], 'a region past the edge is cropped');
  t.equal(await size('/iiif/l1/pct:10,10,50,50/max/0/default.jpg'), 400, 'regionByPct is level 2');
  t.equal(await size('/iiif/l1/full/!200,200/0/default.jpg'), 400, 'sizeByConfinedWh is level 2');
  t.equal(await size('/iiif/l1/full/pct:50/0/default.jpg'), 400, 'sizeByPct is level 2 in 3.0');
  t.equal(await size('/iiif/l1/full/200,/90/default.jpg'), 400, 'rotation is level 2');
  t.equal(await size('/iiif/l1/full/200,/0/gray.jpg'), 400, 'gray is level 2');
  t.equal(await size('/iiif/l1/full/200,/0/default.png'), 400, 'png is level 2');
  t.equal(await size('/iiif/l1/full/2000,/0/default.jpg'), 400, 'upscaling without ^');
  t.equal(await size('/iiif/l1/full/^2000,/0/default.jpg'), 501, '^ without sizeUpscaling');
  t.equal(await size('/iiif/l1/2000,0,10,10/max/0/default.jpg'), 400, 'a region outside the image');
  t.equal(await size('/iiif/l1/full/full/0/default.jpg'), 400, '"full" is not a 3.0 size');
});

t.test('level 2: rotation, mirroring only when offered, qualities and formats', async (t) => {
  t.same(await size('/iiif/l2/full/!200,200/90/default.jpg'), [120, 200], 'rotated a quarter turn');
  t.equal(await size('/iiif/l2/full/200,/!0/default.jpg'), 400, 'no mirroring unless advertised');
  t.same(await size('/iiif/v2l2/full/200,/!180/default.jpg'), [200, 120]);
  t.same(await size('/iiif/l2/pct:0,0,50,50/pct:20/0/default.jpg'), [100, 60]);
  const gray = await get('/iiif/l2/full/100,/0/gray.png');
  t.equal(gray.type, 'image/png');
  t.equal((await sharp(gray.body).metadata()).channels, 1, 'gray is one channel');
  t.equal(await size('/iiif/l2/full/100,/0/bitonal.jpg'), 400, 'bitonal is not part of 3.0 level 2');
  t.equal(await size('/iiif/v2l2/full/100,/0/bitonal.jpg').then((s) => (Array.isArray(s) ? 200 : s)), 200, 'but is of 2.1 level 2');
  t.equal(await size('/iiif/l2/full/100,/0/default.webp'), 400, 'webp only as an extra format');
  t.equal(await size('/iiif/l2/full/100,/45/default.jpg'), 400, 'no arbitrary rotation');
});

t.test('Image API 2: w, and pct: at level 1, w,h only at level 2, full and max', async (t) => {
  t.same(await size('/iiif/v2l1/full/250,/0/default.jpg'), [250, 150]);
  t.same(await size('/iiif/v2l1/full/pct:10/0/default.jpg'), [100, 60]);
  t.same(await size('/iiif/v2l1/full/full/0/default.jpg'), [1000, 600]);
  t.same(await size('/iiif/v2l1/full/max/0/default.jpg'), [1000, 600]);
  t.equal(await size('/iiif/v2l1/full/250,150/0/default.jpg'), 400);
  t.equal(await size('/iiif/v2l1/square/100,/0/default.jpg'), 400, 'square is optional in 2.1');
  t.equal(await size('/iiif/v2l1/full/^250,/0/default.jpg'), 400, 'no ^ in 2.1');
  t.same(await size('/iiif/v2l2/full/250,100/0/default.jpg'), [250, 100], 'distorted w,h at level 2');
  t.same(await size('/iiif/v2l2/full/max/0/default.jpg'), [800, 480], 'max honours maxWidth');
  t.equal(await size('/iiif/v2l2/full/full/0/default.jpg'), 400, 'full beyond maxWidth is refused');
});

t.test('maxWidth caps max, and sizes beyond it are refused', async (t) => {
  t.same(await size('/iiif/capped/full/max/0/default.jpg'), [500, 300]);
  t.equal(await size('/iiif/capped/full/600,/0/default.jpg'), 400);
  t.same(await size('/iiif/capped/0,0,100,100/^200,/0/default.jpg'), [200, 200], 'upscaling with ^ where offered');
  t.same(await size('/iiif/capped/0,0,100,100/^max/0/default.jpg'), [500, 500], '^max goes up to maxWidth');
});

t.test('level 0 serves full/max, listed sizes and grid tiles only', async (t) => {
  t.same(await size('/iiif/sizes%20only/full/max/0/default.jpg'), [1000, 600]);
  t.same(await size('/iiif/sizes%20only/full/250,150/0/default.jpg'), [250, 150], 'a listed size');
  t.equal(await size('/iiif/sizes%20only/full/250,/0/default.jpg'), 400, '3.0 level 0 needs the canonical w,h');
  t.equal(await size('/iiif/sizes%20only/full/300,180/0/default.jpg'), 400, 'a size not listed');
  t.equal(await size('/iiif/sizes%20only/0,0,256,256/256,256/0/default.jpg'), 400, 'no tiles advertised');
  t.equal(await size('/iiif/sizes%20only/full/max/90/default.jpg'), 400);

  t.same(await size('/iiif/tiles/0,0,256,256/256,256/0/default.jpg'), [256, 256]);
  t.same(await size('/iiif/tiles/768,512,232,88/232,88/0/default.jpg'), [232, 88], 'an edge tile');
  t.same(await size('/iiif/tiles/0,0,1000,600/250,150/0/default.jpg'), [250, 150], 'the whole image as one tile at scale 4');
  t.same(await size('/iiif/tiles/full/250,150/0/default.jpg'), [250, 150], '...also as region full');
  t.equal(await size('/iiif/tiles/full/125,75/0/default.jpg'), 400, 'a size no scale factor implies');
  t.equal(await size('/iiif/tiles/10,0,256,256/256,256/0/default.jpg'), 400, 'off the grid');
  t.equal(await size('/iiif/tiles/0,0,512,512/128,128/0/default.jpg'), 400, 'the wrong size for the tile');
  t.equal(await size('/iiif/tiles/0,0,256,256/256,256/0/default.png'), 400, 'jpg only');
});

t.test('base URI redirects to info.json; unknown images and paths are 404', async (t) => {
  const res = await get('/iiif/l2');
  t.equal(res.status, 303);
  t.equal(res.headers.get('location'), `${server.serviceId('l2')}/info.json`);
  t.equal((await get('/iiif/nope/info.json')).status, 404);
  t.equal((await get('/elsewhere')).status, 404);
  t.equal((await get('/iiif/l2/full/max/0')).status, 400);
});

t.test('requests are recorded; reset forgets them', async (t) => {
  server.reset();
  await get('/iiif/l2/info.json');
  await get('/iiif/l2/full/64,/0/default.jpg?x=1');
  t.same(server.requests, ['/iiif/l2/info.json', '/iiif/l2/full/64,/0/default.jpg?x=1']);
  server.reset();
  t.same(server.requests, []);
});

t.test('faults: a status a few times, HTML, a truncated body, a delay', async (t) => {
  t.teardown(() => server.clearFaults());
  server.fail('/iiif/l2/info.json', { status: 503, times: 2, headers: { 'retry-after': '1' } });
  const first = await get('/iiif/l2/info.json');
  t.equal(first.status, 503);
  t.equal(first.headers.get('retry-after'), '1');
  t.equal((await get('/iiif/l2/info.json')).status, 503);
  t.equal((await get('/iiif/l2/info.json')).status, 200, 'then served normally');

  server.fail(/\/l1\/full\/max\//, { body: '<html>Login</html>' });
  const html = await get('/iiif/l1/full/max/0/default.jpg');
  t.equal(html.status, 200);
  t.match(html.type, 'text/html');

  const whole = await get('/iiif/l2/full/300,/0/default.jpg');
  server.fail(`${server.url}/iiif/l2/full/300,`, { truncate: true, times: 1 });
  const cut = await get('/iiif/l2/full/300,/0/default.jpg');
  t.equal(cut.body.length, Math.floor(whole.body.length / 2));
  t.ok(cut.body.equals(whole.body.subarray(0, cut.body.length)), 'the first half of the real image');

  server.fail('/iiif/l2/full/50,', { delayMs: 20 });
  t.same(await size('/iiif/l2/full/50,/0/default.jpg'), [50, 30], 'delayed, then served');
});

t.test('a request held forever is released by close()', async (t) => {
  const local = await startIiifImageServer();
  local.fail('/', { never: true });
  const pending = fetch(`${local.url}/anything`).then(
    () => 'answered',
    () => 'connection closed',
  );
  while (local.requests.length === 0) await sleep(5);
  await local.close();
  t.equal(await pending, 'connection closed');
});

t.test('documents and plain files', async (t) => {
  const doc = server.addDocument('/m/1.json', { hello: 'world' });
  const res = await get(doc);
  t.equal(res.type, 'application/ld+json');
  t.same(JSON.parse(res.body.toString()), { hello: 'world' });
  const file = server.addFile('/files/a.png', await makeTestImage({ width: 10, height: 10, format: 'png' }), 'image/png');
  t.same(await size(file), [10, 10]);
});
