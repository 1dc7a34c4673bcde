import t from 'tap';
import { canvasTransform, planImageRequest, toCanvasRect } from './planner.js';
import type { ImageInfo } from './types.js';

// Every expected value below is worked out by hand in the comment beside it.

const ID = 'https://images.example.org/iiif/ms%2F12';

function info(overrides: Partial<ImageInfo>): ImageInfo {
  return { id: ID, version: 3, level: 2, width: 6000, height: 4000, sizes: [], tiles: [], formats: ['jpg'], qualities: ['default'], features: [], ...overrides };
}

t.test('level 2, Image API 3: the canonical w,h size with the short side at the target', async (t) => {
  // 6000x4000, short side 4000 -> needs 1000: 6000*1000/4000 = 1500.
  const plan = planImageRequest(info({}), { shortSide: 1000 });
  t.equal(plan.kind, 'single');
  t.equal(plan.url, `${ID}/full/1500,1000/0/default.jpg`, 'identifier kept as encoded in the id');
  t.same([plan.width, plan.height, plan.scale, plan.resizeLocally], [1500, 1000, 4, false]);
  t.same(plan.region, { x: 0, y: 0, w: 6000, h: 4000 });
  t.notOk(plan.crop);
});

t.test('level 1, Image API 2: the canonical w, size', async (t) => {
  // Same image: width ceil(6000*1000/4000) = 1500; the server derives height 4000*1500/6000 = 1000.
  const plan = planImageRequest(info({ version: 2, level: 1 }), { shortSide: 1000 });
  t.equal(plan.url, `${ID}/full/1500,/0/default.jpg`);
  t.same([plan.width, plan.height], [1500, 1000]);
});

t.test('Image API 2 rounds the sent width up so that the derived height still reaches the target', async (t) => {
  // 1000x333, short side 100: width 1000*100/333 = 300.3 -> 301; derived height 333*301/1000 = 100.2 -> 100.
  // (A width of 300 would give 99.9 -> 100 here, but 300 alone does not guarantee it.)
  const plan = planImageRequest(info({ version: 2, level: 1, width: 1000, height: 333 }), { shortSide: 100 });
  t.equal(plan.url, `${ID}/full/301,/0/default.jpg`);
  t.same([plan.width, plan.height], [301, 100]);
  t.equal(plan.scale, 3.33, 'max(1000/301, 333/100) = 3.33');
});

t.test('fit inside a box: the side the box binds', async (t) => {
  // 6000x4000 into 640x640: width binds (6000/640 > 4000/640); height 4000*640/6000 = 426.7 -> 427.
  const plan = planImageRequest(info({}), { fit: { width: 640, height: 640 } });
  t.equal(plan.url, `${ID}/full/640,427/0/default.jpg`);
  // A tall box: 6000x4000 into 2000x500: 6000*500 = 3e6 < 4000*2000 = 8e6, so height binds: width 750.
  const tall = planImageRequest(info({}), { fit: { width: 2000, height: 500 } });
  t.equal(tall.url, `${ID}/full/750,500/0/default.jpg`);
});

t.test('a listed size comes first when it reaches the target', async (t) => {
  const sizes = [
    { width: 150, height: 100 },
    { width: 600, height: 400 },
    { width: 3000, height: 2000 },
  ];
  // Short side 350: 150x100 is too small; 600x400 reaches it (400 >= 350, and 400 <= 2*350).
  const plan = planImageRequest(info({ level: 1, sizes }), { shortSide: 350 });
  t.equal(plan.url, `${ID}/full/600,400/0/default.jpg`);
  t.same([plan.width, plan.height, plan.scale, plan.resizeLocally], [600, 400, 10, true]);
  t.match(plan.reason, /listed size 600x400/);
  // Exactly a listed size: nothing left to resize.
  t.equal(planImageRequest(info({ level: 1, sizes }), { shortSide: 100 }).resizeLocally, false);
  // Image API 2: the same listed size in its canonical w, form.
  t.equal(planImageRequest(info({ version: 2, level: 1, sizes }), { shortSide: 350 }).url, `${ID}/full/600,/0/default.jpg`);
});

t.test('level 1/2 skips a listed size far larger than needed', async (t) => {
  // Short side 400: the only size reaching it is 3000x2000, and 2000 > 2*400: the canonical 600,400 instead.
  const sizes = [
    { width: 150, height: 100 },
    { width: 3000, height: 2000 },
  ];
  const plan = planImageRequest(info({ level: 1, sizes }), { shortSide: 400 });
  t.equal(plan.url, `${ID}/full/600,400/0/default.jpg`);
});

t.test('a server that gives any size is asked for exactly the size needed, not the next listed one', async (t) => {
  // A 3000x4000 master with its halvings listed, fitted to 2048x2048: height binds, width
  // 3000*2048/4000 = 1536. The listed 3000x4000 reaches it, but is the master: 3.8x the pixels.
  const sizes = [
    { width: 375, height: 500 },
    { width: 750, height: 1000 },
    { width: 1500, height: 2000 },
    { width: 3000, height: 4000 },
  ];
  const book = { width: 3000, height: 4000, sizes };
  const v3 = planImageRequest(info({ ...book, level: 2 }), { fit: { width: 2048, height: 2048 } });
  t.equal(v3.url, `${ID}/full/1536,2048/0/default.jpg`);
  t.same([v3.width, v3.height, v3.resizeLocally], [1536, 2048, false]);
  // Image API 2, level 1: its canonical w, form (1536 -> derived height 4000*1536/3000 = 2048).
  t.equal(planImageRequest(info({ ...book, version: 2, level: 1 }), { fit: { width: 2048, height: 2048 } }).url, `${ID}/full/1536,/0/default.jpg`);
  // Twice the need (1000 for 500; 1.25 would be 625) is four times the pixels: the exact 375,500 instead.
  t.equal(planImageRequest(info({ ...book, sizes: [sizes[1]!, sizes[3]!] }), { shortSide: 375 }).url, `${ID}/full/375,500/0/default.jpg`);
  // The master when it is what is needed: its listed size, never upscaled.
  t.equal(planImageRequest(info({ ...book }), { fit: { width: 5000, height: 5000 } }).url, `${ID}/full/3000,4000/0/default.jpg`);
});

t.test('never upscales: an image smaller than the target comes at full resolution', async (t) => {
  // 800x600, short side 1000 wanted: 600 is all there is.
  const v3 = planImageRequest(info({ width: 800, height: 600 }), { shortSide: 1000 });
  t.equal(v3.url, `${ID}/full/max/0/default.jpg`);
  t.same([v3.width, v3.height, v3.scale, v3.resizeLocally], [800, 600, 1, false]);
  const v2 = planImageRequest(info({ version: 2, level: 1, width: 800, height: 600 }), { shortSide: 1000 });
  t.equal(v2.url, `${ID}/full/full/0/default.jpg`, 'full/full on Image API 2');
  const fit = planImageRequest(info({ width: 800, height: 600 }), { fit: { width: 1024, height: 1024 } });
  t.equal(fit.url, `${ID}/full/max/0/default.jpg`);
});

t.test('maxWidth/maxHeight/maxArea clamp the request to the largest allowed', async (t) => {
  // The 3.0 spec's example: 6000x4000, maxWidth 3000, maxHeight 2000, maxArea 4000000. Short side 2500
  // would need 3750x2500. Allowed scale: min(3000/6000, 2000/4000, sqrt(4e6/24e6) = 0.40825) = 0.40825:
  // width floor(6000*0.40825) = 2449, height round(4000*2449/6000 = 1632.67) = 1633; 2449*1633 = 3999217 <= 4e6.
  const limited = info({ maxWidth: 3000, maxHeight: 2000, maxArea: 4_000_000 });
  const plan = planImageRequest(limited, { shortSide: 2500 });
  t.equal(plan.url, `${ID}/full/2449,1633/0/default.jpg`);
  t.same([plan.width, plan.height, plan.resizeLocally], [2449, 1633, false]);
  t.equal(plan.scale, 6000 / 2449, 'the result is simply smaller: scale max(6000/2449, 4000/1633)');
  t.match(plan.reason, /largest size the server allows/);
  // Within the limits nothing changes: short side 1000 -> 1500x1000 (1.5 MP).
  t.equal(planImageRequest(limited, { shortSide: 1000 }).url, `${ID}/full/1500,1000/0/default.jpg`);
});

t.test('maxWidth alone on Image API 2 (maxHeight defaults to it)', async (t) => {
  // 6510x7707 (Wikimedia iipsrv), maxWidth = maxHeight = 5000, short side 6000 wanted (width binds).
  // Scale min(5000/6510, 5000/7707 = 0.64876); width floor(6510*0.64876 = 4223.4) = 4223;
  // height round(7707*4223/6510 = 4999.49) = 4999 <= 5000.
  const plan = planImageRequest(info({ version: 2, level: 2, width: 6510, height: 7707, maxWidth: 5000, maxHeight: 5000 }), { shortSide: 6000 });
  t.equal(plan.url, `${ID}/full/4223,/0/default.jpg`);
  t.same([plan.width, plan.height], [4223, 4999]);
  // Full resolution wanted but over the limit: the explicit largest size, never full/full.
  const small = planImageRequest(info({ version: 2, level: 2, width: 6510, height: 7707, maxWidth: 5000 }), { shortSide: 9000 });
  t.equal(small.url, `${ID}/full/4223,/0/default.jpg`);
});

t.test('maxArea on Image API 2 (dighimapper, 512x512 = 262144 px)', async (t) => {
  // 4864x8918, short side 1000 needs 1000x1833 (1.8 MP). Scale sqrt(262144/(4864*8918)) = 0.077739:
  // width floor(378.12) = 378, height round(8918*378/4864 = 693.05) = 693; 378*693 = 261954 <= 262144.
  const sizes = [
    { width: 76, height: 139 },
    { width: 152, height: 279 },
    { width: 304, height: 557 },
  ];
  const plan = planImageRequest(info({ version: 2, level: 2, width: 4864, height: 8918, maxArea: 262_144, sizes }), { shortSide: 1000 });
  t.equal(plan.url, `${ID}/full/378,/0/default.jpg`);
  t.same([plan.width, plan.height, plan.resizeLocally], [378, 693, false]);
});

t.test('a region on level 1/2: x,y,w,h and the canonical size for it', async (t) => {
  // Region 2000x1000, short side 500: 1000x500.
  const region = { x: 1000, y: 500, w: 2000, h: 1000 };
  const v3 = planImageRequest(info({}), { shortSide: 500, region });
  t.equal(v3.url, `${ID}/1000,500,2000,1000/1000,500/0/default.jpg`);
  t.same(v3.region, region);
  t.equal(v3.scale, 2);
  const v2 = planImageRequest(info({ version: 2, level: 1 }), { shortSide: 500, region });
  t.equal(v2.url, `${ID}/1000,500,2000,1000/1000,/0/default.jpg`);
});

t.test('a region smaller than the target comes whole, rounded outwards to pixels and clipped to the image', async (t) => {
  // x 10.5..109.5 -> 10..110 (w 100), y 20..70 (h 50): short side 50 < 200 wanted.
  const plan = planImageRequest(info({}), { shortSide: 200, region: { x: 10.5, y: 20, w: 99, h: 50 } });
  t.equal(plan.url, `${ID}/10,20,100,50/max/0/default.jpg`);
  t.same([plan.width, plan.height, plan.scale], [100, 50, 1]);
  // Overflow is cropped: 5900..6100 -> 5900..6000.
  const edge = planImageRequest(info({ version: 2, level: 1 }), { shortSide: 1000, region: { x: 5900, y: 0, w: 200, h: 100 } });
  t.equal(edge.url, `${ID}/5900,0,100,100/full/0/default.jpg`);
  t.throws(() => planImageRequest(info({}), { shortSide: 100, region: { x: 7000, y: 0, w: 10, h: 10 } }), { code: 'LOUPE_ERR_IIIF_NO_PLAN' });
  t.throws(() => planImageRequest(info({}), { shortSide: 100, region: { x: 0, y: 0, w: 0, h: 10 } }), { code: 'LOUPE_ERR_VALIDATION' });
  t.throws(() => planImageRequest(info({}), { shortSide: 0 }), { code: 'LOUPE_ERR_VALIDATION' });
});

t.test('level 0 with sizes only: the cheapest listed size that reaches the target', async (t) => {
  // OpenSeadragon's sizes-only info.json: 6976x5074, sizes up to the full size, no tiles.
  const sizes = [
    { width: 400, height: 291 },
    { width: 800, height: 582 },
    { width: 1600, height: 1164 },
    { width: 3200, height: 2328 },
    { width: 6976, height: 5074 },
  ];
  const sizesOnly = info({ version: 2, level: 0, width: 6976, height: 5074, sizes });
  // Short side 500: 400x291 falls short; 800x582 reaches it for 465600 px.
  const plan = planImageRequest(sizesOnly, { shortSide: 500 });
  t.equal(plan.url, `${ID}/full/800,/0/default.jpg`);
  t.same([plan.width, plan.height, plan.resizeLocally], [800, 582, true]);
  t.equal(plan.scale, 8.72, 'max(6976/800, 5074/582) = 8.72');
  // More than the image has: the full size (listed), not an upscale.
  const all = planImageRequest(sizesOnly, { shortSide: 6000 });
  t.same([all.width, all.height, all.resizeLocally], [6976, 5074, false]);
});

t.test('level 0 with tiles only: the tiles at the largest scale factor that reaches the target', async (t) => {
  // Rotterdam: 9102x6922, 512 px tiles, scale factors 1..16; short side 800 (height binds).
  // s=16: ceil(6922/16) = 433 < 800. s=8: ceil(6922/8) = 866 >= 800: a 4096 px step, 3 x 2 tiles,
  // result ceil(9102/8) = 1138 x 866 = 985508 px + 6 requests, against 63 MP for full/full.
  const tiles = [{ width: 512, height: 512, scaleFactors: [1, 2, 4, 8, 16] }];
  const plan = planImageRequest(info({ version: 2, level: 0, width: 9102, height: 6922, tiles }), { shortSide: 800 });
  t.equal(plan.kind, 'tiles');
  t.same([plan.width, plan.height, plan.resizeLocally], [1138, 866, true]);
  t.same(plan.region, { x: 0, y: 0, w: 9102, h: 6922 });
  t.same(
    plan.tiles?.map((tile) => [tile.url.slice(ID.length), tile.x, tile.y, tile.width, tile.height]),
    [
      ['/0,0,4096,4096/512,/0/default.jpg', 0, 0, 512, 512],
      ['/4096,0,4096,4096/512,/0/default.jpg', 512, 0, 512, 512],
      // Edge column: 9102-8192 = 910 px wide -> ceil(910/8) = 114.
      ['/8192,0,910,4096/114,/0/default.jpg', 1024, 0, 114, 512],
      // Edge row: 6922-4096 = 2826 px high -> ceil(2826/8) = 354.
      ['/0,4096,4096,2826/512,/0/default.jpg', 0, 512, 512, 354],
      ['/4096,4096,4096,2826/512,/0/default.jpg', 512, 512, 512, 354],
      ['/8192,4096,910,2826/114,/0/default.jpg', 1024, 512, 114, 354],
    ],
  );
  t.match(plan.reason, /6 tiles of 512x512 at scale factor 8/);
});

t.test('level 0 weighs tiles against one full/max request', async (t) => {
  // 1000x1000, 256 px tiles at s=1 and 2, short side 900: s=2 gives 500 (too small); s=1 needs 16 tiles
  // (1e6 px + 16 requests) against full/max (1e6 px + 1 request): full/max.
  const tiles = [{ width: 256, height: 256, scaleFactors: [1, 2] }];
  const plan = planImageRequest(info({ level: 0, width: 1000, height: 1000, tiles }), { shortSide: 900 });
  t.equal(plan.url, `${ID}/full/max/0/default.jpg`);
  t.equal(plan.resizeLocally, true);
  // 4000x3000 with only s=1 256 px tiles: 16 x 12 = 192 tiles is past the cap of 64: full/max.
  const many = planImageRequest(info({ level: 0, width: 4000, height: 3000, tiles: [{ width: 256, height: 256, scaleFactors: [1] }] }), { shortSide: 3000 });
  t.equal(many.url, `${ID}/full/max/0/default.jpg`);
  // Image API 2 level 0 without a fitting size or tile: full/full.
  const v2 = planImageRequest(info({ version: 2, level: 0, width: 1000, height: 1000 }), { shortSide: 300 });
  t.equal(v2.url, `${ID}/full/full/0/default.jpg`);
});

t.test('level 0 with a region: the tile-aligned area, cropped locally', async (t) => {
  // 4000x3000, 512 px tiles s=1..8; region 1000,1000 600x400, short side 100 (height binds).
  // s=8: one tile covers all, 500x375 -> the region gets 400*375/3000 = 50 px: too few.
  // s=4: step 2048 -> the region lies in tile 0,0,2048,2048 -> 512x512; the region gets 400*512/2048 = 100.
  const tiles = [{ width: 512, height: 512, scaleFactors: [1, 2, 4, 8] }];
  const plan = planImageRequest(info({ level: 0, width: 4000, height: 3000, tiles }), { shortSide: 100, region: { x: 1000, y: 1000, w: 600, h: 400 } });
  t.equal(plan.kind, 'single', 'one tile is one request');
  t.equal(plan.url, `${ID}/0,0,2048,2048/512,512/0/default.jpg`);
  t.same(plan.region, { x: 0, y: 0, w: 2048, h: 2048 }, 'the region the result covers');
  // Crop in result pixels at 512/2048 = 0.25: 250..400 x 250..350.
  t.same(plan.crop, { x: 250, y: 250, w: 150, h: 100 });
  t.same([plan.scale, plan.resizeLocally], [4, false]);
  t.match(plan.reason, /cropped locally/);
});

t.test('level 0 with a region and listed sizes only: a whole-image size, cropped locally', async (t) => {
  // Region = the top-left quarter (3000x2000), short side 400: at 600x400 it gets 200 px; at 1500x1000, 500.
  const sizes = [
    { width: 600, height: 400 },
    { width: 1500, height: 1000 },
  ];
  const plan = planImageRequest(info({ level: 0, sizes }), { shortSide: 400, region: { x: 0, y: 0, w: 3000, h: 2000 } });
  t.equal(plan.url, `${ID}/full/1500,1000/0/default.jpg`);
  t.same(plan.region, { x: 0, y: 0, w: 6000, h: 4000 });
  t.same(plan.crop, { x: 0, y: 0, w: 750, h: 500 });
  t.equal(plan.resizeLocally, true, '500 px where 400 are needed');
});

t.test('Image API 1.1: full and native.jpg', async (t) => {
  // Gallica 7900x11060, level 2, short side 1000 (width binds): 1000, -> height 11060*1000/7900 = 1400.
  const plan = planImageRequest(info({ version: 1, level: 2, width: 7900, height: 11060, qualities: ['native'] }), { shortSide: 1000 });
  t.equal(plan.url, `${ID}/full/1000,/0/native.jpg`);
  t.same([plan.width, plan.height], [1000, 1400]);
  const whole = planImageRequest(info({ version: 1, level: 1, width: 700, height: 900 }), { shortSide: 1000 });
  t.equal(whole.url, `${ID}/full/full/0/native.jpg`);
});

t.test('Image API 1.1 level 0 tiles', async (t) => {
  // 775x1024, 256 px tiles s=1..8, short side 200 (width binds). s=4: ceil(775/4) = 194 < 200.
  // s=2: step 512, 2 x 2 tiles, 388x512 = 198656 px + 4 requests, against 793600 px for full/full.
  const plan = planImageRequest(info({ version: 1, level: 0, width: 775, height: 1024, tiles: [{ width: 256, height: 256, scaleFactors: [1, 2, 4, 8] }] }), {
    shortSide: 200,
  });
  t.same(
    plan.tiles?.map((tile) => tile.url.slice(ID.length)),
    ['/0,0,512,512/256,/0/native.jpg', '/512,0,263,512/132,/0/native.jpg', '/0,512,512,512/256,/0/native.jpg', '/512,512,263,512/132,/0/native.jpg'],
  );
  t.same([plan.width, plan.height], [388, 512]);
});

t.test('canvasTransform maps result pixels to the canvas', async (t) => {
  const image = { width: 6000, height: 4000 };
  // 1500x1000 of the whole image, canvas 3000x2000: 4 image px per result px, 0.5 canvas units per image px.
  const whole = planImageRequest(info({}), { shortSide: 1000 });
  const onCanvas = canvasTransform(whole, image, { width: 3000, height: 2000 });
  t.same(onCanvas, { scaleX: 2, scaleY: 2, offsetX: 0, offsetY: 0 });
  t.same(toCanvasRect(onCanvas, { x: 100, y: 50, w: 10, h: 20 }), { x: 200, y: 100, w: 20, h: 40 });
  // The same image painted on the canvas region 100,200 600x400 (cookbook 0036 style): 0.1 units per image px.
  const painted = canvasTransform(whole, image, { width: 3000, height: 2000 }, { x: 100, y: 200, w: 600, h: 400 });
  t.same(painted, { scaleX: 0.4, scaleY: 0.4, offsetX: 100, offsetY: 200 });
  // A region plan on a canvas the size of the image: result px 0,0 is image px 1000,500.
  const region = planImageRequest(info({}), { shortSide: 500, region: { x: 1000, y: 500, w: 2000, h: 1000 } });
  t.same(canvasTransform(region, image, image), { scaleX: 2, scaleY: 2, offsetX: 1000, offsetY: 500 });
  t.throws(() => canvasTransform(whole, image, { width: 0, height: 2000 }), { code: 'LOUPE_ERR_VALIDATION' });
});
