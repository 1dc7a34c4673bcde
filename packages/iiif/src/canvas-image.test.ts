import sharp from 'sharp';
import t from 'tap';
import { startIiifImageServer } from '@loupe/testing';
import { fetchCanvasImage } from './canvas-image.js';
import { createFetcher } from './fetch/index.js';

// 400x200: left half red, right half blue; so where pixels came from is easy to tell.
const halves = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#ff0000' } })
  .composite([{ input: await sharp({ create: { width: 200, height: 200, channels: 3, background: '#0000ff' } }).png().toBuffer(), left: 200, top: 0 }])
  .png()
  .toBuffer();

const server = await startIiifImageServer();
t.teardown(() => server.close());
const fetcher = createFetcher({ retries: 0 });
const pixel = (img: { data: Buffer; width: number }, x: number, y: number) => [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
const isRed = (p: number[]) => p[0]! > 200 && p[2]! < 60;
const isBlue = (p: number[]) => p[2]! > 200 && p[0]! < 60;

t.test('the whole image, through a level-2 service, covers the painted area of the canvas', async (t) => {
  const serviceId = await server.addImage('halves', halves, { version: 3, level: 2, extraFormats: ['png'] });
  const img = await fetchCanvasImage(fetcher, { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3, level: 2 } }, { width: 800, height: 400 }, { fit: { width: 200, height: 200 } });
  t.same([img.width, img.height], [200, 100], 'fetched at the target size, not the master');
  t.same(img.canvasRegion, { x: 0, y: 0, w: 800, h: 400 });
  t.ok(isRed(pixel(img, 10, 50)) && isBlue(pixel(img, 190, 50)));
});

t.test('a painted region is the only part requested; the canvas region is where it is painted', async (t) => {
  const serviceId = server.serviceId('halves');
  const img = await fetchCanvasImage(
    fetcher,
    { id: 'x', service: { id: serviceId, version: 3, level: 2 }, region: { x: 200, y: 0, w: 200, h: 200 }, target: { x: 100, y: 50, w: 300, h: 300 } },
    { width: 800, height: 400 },
    { fit: { width: 100, height: 100 } },
  );
  t.same([img.width, img.height], [100, 100]);
  t.ok(isBlue(pixel(img, 5, 5)) && isBlue(pixel(img, 95, 95)), 'only the blue half came back');
  t.same(img.canvasRegion, { x: 100, y: 50, w: 300, h: 300 });
  t.match(img.request, /\/200,0,200,200\/100,100\/0\/default\.jpg$/);
});

t.test('a region on a level-0 service is cut locally from what the server offers', async (t) => {
  const serviceId = await server.addImage('halves-l0', halves, { version: 3, level: 0 });
  const img = await fetchCanvasImage(fetcher, { id: 'x', service: { id: serviceId, version: 3, level: 0 }, region: { x: 0, y: 0, w: 200, h: 200 } }, { width: 400, height: 200 }, { shortSide: 50 });
  t.equal(img.width, img.height, 'a square region stays square');
  t.ok(isRed(pixel(img, 2, 2)) && isRed(pixel(img, img.width - 3, img.height - 3)), 'only the red half is kept');
});

t.test('a painted rotation turns the pixels as the canvas shows them', async (t) => {
  const img = await fetchCanvasImage(fetcher, { id: 'x', service: { id: server.serviceId('halves'), version: 3, level: 2 }, rotation: 90 }, { width: 200, height: 400 }, { fit: { width: 400, height: 400 } });
  t.same([img.width, img.height], [200, 400]);
  t.ok(isRed(pixel(img, 100, 10)) && isBlue(pixel(img, 100, 390)), 'red on top after a quarter turn clockwise');
});

t.test('a plain image is oriented by its EXIF tag', async (t) => {
  // Stored 400x200 with orientation 6: shown 200x400, red half on top.
  const stored = await sharp(halves).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const url = server.addFile('/files/exif.jpg', stored, 'image/jpeg');
  const img = await fetchCanvasImage(fetcher, { id: url }, { width: 200, height: 400 }, { fit: { width: 1000, height: 1000 } });
  t.equal(img.exifOrientation, 6);
  t.same([img.width, img.height], [200, 400]);
  t.ok(isRed(pixel(img, 100, 10)) && isBlue(pixel(img, 100, 390)));
});
