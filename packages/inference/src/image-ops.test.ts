import t from 'tap';
import sharp from 'sharp';
import { cropQuad, inputSize, mapPoint, prepareImage, resizeTo, rotate180, toByteTensor, toInputTensor, toTensor, type Quad, type RawImage } from './image-ops.js';

const rgb = (width: number, height: number, pixels: number[][]): RawImage => ({ width, height, data: Uint8Array.from(pixels.flat()) });
const pixel = (img: RawImage, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));
const near = (actual: number[], expected: number[], tol = 1) => actual.every((v, i) => Math.abs(v - expected[i]!) <= tol);

t.test('prepareImage flattens transparency on white and always yields RGB', async (t) => {
  // 2x2 RGBA: opaque red, fully transparent, half-transparent blue, opaque green.
  const rgba = Buffer.from([255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 255, 128, 0, 255, 0, 255]);
  const png = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer();
  const img = await prepareImage(png);
  t.same([img.width, img.height, img.data.length, img.orientation], [2, 2, 12, 1]);
  t.same(pixel(img, 0, 0), [255, 0, 0]);
  t.same(pixel(img, 1, 0), [255, 255, 255], 'transparent becomes paper white');
  // 128/255 of blue over white: 255 * (1 - 0.502) = 127.
  t.ok(near(pixel(img, 0, 1), [127, 127, 255]), `half blue over white, got ${pixel(img, 0, 1)}`);
  t.same(pixel(img, 1, 1), [0, 255, 0]);

  const grey = await sharp(Buffer.from([10, 200]), { raw: { width: 2, height: 1, channels: 1 } }).png().toBuffer();
  const g = await prepareImage(grey);
  t.same(Array.from(g.data), [10, 10, 10, 200, 200, 200], 'greyscale is expanded to three equal channels');
});

t.test('prepareImage turns the pixels upright by EXIF orientation and reports it', async (t) => {
  // 16x8, left half red, right half blue, stored with orientation 6 (display turned 90 degrees clockwise).
  const raw = new Uint8Array(16 * 8 * 3);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) raw.set(x < 8 ? [255, 0, 0] : [0, 0, 255], (y * 16 + x) * 3);
  const jpeg = await sharp(raw, { raw: { width: 16, height: 8, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
  const img = await prepareImage(jpeg);
  t.equal(img.orientation, 6);
  t.same([img.width, img.height], [8, 16]);
  t.ok(near(pixel(img, 4, 2), [255, 0, 0], 8), `the left half is now on top, got ${pixel(img, 4, 2)}`);
  t.ok(near(pixel(img, 4, 13), [0, 0, 255], 8), `the right half is now at the bottom, got ${pixel(img, 4, 13)}`);
});

t.test('prepareImage maps decoder failures to image error codes', async (t) => {
  await t.rejects(prepareImage(Buffer.from('not an image at all')), { code: 'LOUPE_ERR_IMAGE_UNSUPPORTED' });
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toBuffer();
  await t.rejects(prepareImage(png.subarray(0, png.length - 30)), { code: 'LOUPE_ERR_IMAGE_DECODE' }, 'truncated');
  await t.rejects(prepareImage(png, { maxPixels: 1000 }), { code: 'LOUPE_ERR_IMAGE_TOO_MANY_PIXELS' });
});

t.test('resizeTo stretch scales both axes independently', async (t) => {
  const src = rgb(2, 2, [[9, 9, 9], [9, 9, 9], [9, 9, 9], [9, 9, 9]]);
  const { image, transform } = await resizeTo(src, { width: 4, height: 6, mode: 'stretch' });
  t.same([image.width, image.height], [4, 6]);
  t.same(transform, { scaleX: 0.5, scaleY: 1 / 3, offsetX: 0, offsetY: 0 });
  t.same(mapPoint(transform, 4, 6), [2, 2], 'the far corner maps to the far corner');
  t.ok(image.data.every((v) => v === 9));
});

t.test('resizeTo letterbox pads evenly and its transform removes the padding', async (t) => {
  const red = rgb(4, 2, new Array(8).fill([200, 0, 0]));
  const same = await resizeTo(red, { width: 4, height: 4, mode: 'letterbox', background: { r: 0, g: 0, b: 255 } });
  t.same(pixel(same.image, 0, 0), [0, 0, 255], 'top padding');
  t.same(pixel(same.image, 2, 1), [200, 0, 0]);
  t.same(pixel(same.image, 3, 2), [200, 0, 0]);
  t.same(pixel(same.image, 1, 3), [0, 0, 255], 'bottom padding');
  t.same(same.transform, { scaleX: 1, scaleY: 1, offsetX: 0, offsetY: -1 });
  t.same(mapPoint(same.transform, 0, 1), [0, 0], 'the first content row is the input top edge');

  const half = await resizeTo(red, { width: 2, height: 2, mode: 'letterbox' });
  t.same([pixel(half.image, 0, 0), pixel(half.image, 1, 1)], [[200, 0, 0], [0, 0, 0]], 'content on top, black padding under it');
  t.same(half.transform, { scaleX: 2, scaleY: 2, offsetX: 0, offsetY: 0 });
});

t.test('resizeTo crop keeps the centre and its transform adds the cut margin back', async (t) => {
  const cols = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
  const src = rgb(4, 2, [...cols, ...cols]);
  const { image, transform } = await resizeTo(src, { width: 2, height: 2, mode: 'crop' });
  t.same(Array.from(image.data), [0, 255, 0, 0, 0, 255, 0, 255, 0, 0, 0, 255], 'the green and blue middle columns');
  t.same(transform, { scaleX: 1, scaleY: 1, offsetX: 1, offsetY: 0 });
});

t.test('toTensor normalises per output channel in the asked order and layout', async (t) => {
  const img = rgb(2, 2, [[255, 0, 0], [0, 255, 0], [0, 0, 255], [51, 102, 153]]);
  const half = [0.5, 0.5, 0.5] as const;
  const close = (a: Float32Array, b: number[]) => a.length === b.length && b.every((v, i) => Math.abs(a[i]! - v) < 1e-6);
  const nchw = toTensor(img, { mean: half, std: half });
  t.ok(close(nchw, [1, -1, -1, -0.6, -1, 1, -1, -0.2, -1, -1, 1, 0.2]), `NCHW RGB: ${Array.from(nchw)}`);
  const bgr = toTensor(img, { mean: half, std: half, channelOrder: 'BGR' });
  t.ok(close(bgr.subarray(0, 4), [-1, -1, 1, 0.2]), 'BGR puts blue first');
  const nhwc = toTensor(img, { mean: half, std: half, layout: 'NHWC' });
  t.ok(close(nhwc, [1, -1, -1, -1, 1, -1, -1, -1, 1, -0.6, -0.2, 0.2]), `NHWC: ${Array.from(nhwc)}`);
  const imagenet = toTensor(rgb(1, 1, [[255, 255, 255]]), { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  t.ok(close(imagenet, [(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225]));
  const raw = toTensor(rgb(1, 1, [[10, 20, 30]]), { mean: [0, 0, 0], std: [1, 1, 1], scale: 1 });
  t.same(Array.from(raw), [10, 20, 30], 'scale 1 keeps byte values');
});

t.test('toByteTensor keeps the bytes, reordered to the channel order and layout', async (t) => {
  const img = rgb(2, 1, [[1, 2, 3], [4, 5, 6]]);
  t.same(Array.from(toByteTensor(img)), [1, 4, 2, 5, 3, 6], 'NCHW RGB');
  t.same(Array.from(toByteTensor(img, { channelOrder: 'BGR' })), [3, 6, 2, 5, 1, 4], 'NCHW BGR');
  t.same(Array.from(toByteTensor(img, { layout: 'NHWC' })), [1, 2, 3, 4, 5, 6], 'NHWC RGB');
  t.same(Array.from(toByteTensor(img, { layout: 'NHWC', channelOrder: 'BGR' })), [3, 2, 1, 6, 5, 4], 'NHWC BGR');
});

t.test('toInputTensor applies a whole input spec: size, resize mode, colour order, layout, dtype', async (t) => {
  const close = (a: ArrayLike<number>, b: number[]) => a.length === b.length && b.every((v, i) => Math.abs(a[i]! - v) < 1e-6);
  const pair = rgb(2, 1, [[10, 20, 30], [40, 50, 60]]);

  // Letterbox 2x1 into 2x2: scale min(2/2, 2/1) = 1, so the row stays as it is on top and a black row pads it.
  const boxed = await toInputTensor(pair, { width: 2, height: 2, resize: 'letterbox', scale: 1 });
  t.same(boxed.tensor.dims, [1, 3, 2, 2]);
  t.equal(boxed.tensor.type, 'float32');
  t.same(Array.from(boxed.tensor.data as Float32Array), [10, 40, 0, 0, 20, 50, 0, 0, 30, 60, 0, 0], 'R, G, B planes with the padding row');
  t.same(boxed.transform, { scaleX: 1, scaleY: 1, offsetX: 0, offsetY: 0 });

  // Crop 3x2 into 2x2: scale max(2/3, 2/2) = 1, a 3x2 cover of which columns 0-1 are kept (left = floor(1/2) = 0).
  const six = rgb(3, 2, [[1, 2, 3], [4, 5, 6], [7, 8, 9], [11, 12, 13], [14, 15, 16], [17, 18, 19]]);
  const cropped = await toInputTensor(six, { width: 2, height: 2, resize: 'crop', dtype: 'uint8', layout: 'NHWC', channelOrder: 'BGR' });
  t.same(cropped.tensor.dims, [1, 2, 2, 3]);
  t.equal(cropped.tensor.type, 'uint8');
  t.same(Array.from(cropped.tensor.data as Uint8Array), [3, 2, 1, 6, 5, 4, 13, 12, 11, 16, 15, 14], 'bytes unchanged, BGR, pixel by pixel');

  // Stretch 1x1 to 3x2: every output pixel is the one input pixel; (b / 255 - 0.5) / 0.5 = 2b / 255 - 1.
  const stretched = await toInputTensor(rgb(1, 1, [[0, 255, 51]]), { width: 3, height: 2, resize: 'stretch', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  t.same(stretched.tensor.dims, [1, 3, 2, 3]);
  const got = Array.from(stretched.tensor.data as Float32Array);
  t.ok(close(got, [...new Array(6).fill(-1), ...new Array(6).fill(1), ...new Array(6).fill(-0.6)]), `NCHW RGB normalised: ${got}`);
  t.same(stretched.transform, { scaleX: 1 / 3, scaleY: 0.5, offsetX: 0, offsetY: 0 });
  const same = await toInputTensor(rgb(2, 1, [[0, 255, 51], [102, 153, 204]]), { width: 2, height: 1, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  t.ok(close(same.tensor.data as Float32Array, [-1, -0.2, 1, 0.2, -0.6, 0.6]), 'at its own size the image is only normalised');

  // BGR NHWC float: the ImageNet mean and std follow the channels in the output order.
  const bgr = await toInputTensor(rgb(1, 1, [[255, 0, 51]]), { layout: 'NHWC', channelOrder: 'BGR', mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.5] });
  t.same(bgr.tensor.dims, [1, 1, 1, 3]);
  t.ok(close(bgr.tensor.data as Float32Array, [(0.2 - 0.4) / 0.2, (0 - 0.5) / 0.25, (1 - 0.6) / 0.5]), 'blue, green, red');

  const grey = rgb(3, 2, new Array(6).fill([9, 9, 9]));
  const snapped = await toInputTensor(grey, { multipleOf: 2, dtype: 'uint8' });
  t.same(snapped.tensor.dims, [1, 3, 2, 4], 'sides rounded to the nearest multiple: 3 -> 4, 2 -> 2');
  t.ok((snapped.tensor.data as Uint8Array).every((v) => v === 9));
});

t.test('toInputTensor converts a large image on the pixel thread to the same floats, from a view of a larger buffer too', async (t) => {
  const width = 300;
  const height = 260;
  const backing = new Uint8Array(width * height * 3 + 7);
  for (let i = 0; i < backing.length; i++) backing[i] = (i * 31) % 251;
  const image: RawImage = { width, height, data: backing.subarray(7) };
  const spec = { mean: [0.485, 0.456, 0.406] as const, std: [0.229, 0.224, 0.225] as const, channelOrder: 'BGR' as const };
  const { tensor } = await toInputTensor(image, { ...spec, layout: 'NCHW' });
  t.same(tensor.dims, [1, 3, height, width]);
  t.ok(Buffer.from((tensor.data as Float32Array).buffer).equals(Buffer.from(toTensor(image, { ...spec, layout: 'NCHW' }).buffer)), 'bit for bit what toTensor makes here');
  t.equal(backing[7], 7 * 31 % 251, "the caller's bytes are left as they were");
});

t.test('inputSize: fixed size, one fixed side keeping the aspect, or the nearest multiple', async (t) => {
  t.same(inputSize(300, 200, { width: 224, height: 224 }), { width: 224, height: 224 });
  t.same(inputSize(300, 100, { height: 48, multipleOf: 8 }), { width: 144, height: 48 });
  t.same(inputSize(100, 300, { width: 30 }), { width: 30, height: 90 });
  t.same(inputSize(10, 50, { multipleOf: 32 }), { width: 32, height: 64 }, 'never below one multiple');
});

t.test('cropQuad cuts exact pixels, turns with the corner order and averages when shrinking', async (t) => {
  const px: number[][] = [];
  for (let i = 0; i < 16; i++) px.push([i * 10, 0, 0]);
  const img = rgb(4, 4, px);
  const red = (r: RawImage) => Array.from({ length: r.width * r.height }, (_, i) => r.data[i * 3]);
  const quad: Quad = [[1, 1], [3, 1], [3, 3], [1, 3]];
  t.same(red(cropQuad(img, quad, 2, 2)), [50, 60, 90, 100], 'the middle 2x2 block');
  const turned: Quad = [quad[2], quad[3], quad[0], quad[1]];
  t.same(red(cropQuad(img, turned, 2, 2)), [100, 90, 60, 50], 'starting from the bottom-right corner reads it upside down');
  const whole: Quad = [[0, 0], [4, 0], [4, 4], [0, 4]];
  t.same(red(cropQuad(img, whole, 2, 2)), [25, 45, 105, 125], 'each output pixel is the mean of a 2x2 block');
});

t.test('rotate180 reverses the pixel order', async (t) => {
  const img = rgb(2, 1, [[1, 2, 3], [4, 5, 6]]);
  t.same(Array.from(rotate180(img).data), [4, 5, 6, 1, 2, 3]);
});
