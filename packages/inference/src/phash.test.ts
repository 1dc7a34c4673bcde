import sharp from 'sharp';
import t from 'tap';
import { hammingDistance, hashOfGrey, perceptualHash } from './phash.js';

// A real-looking picture: smooth shapes, an edge and some texture.
async function picture(seed: number): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480">
    <rect width="640" height="480" fill="rgb(${40 + seed * 30},${90 + seed * 7},${120 - seed * 9})"/>
    <circle cx="${200 + seed * 40}" cy="${220 - seed * 15}" r="${120 - seed * 10}" fill="#e8d8a0"/>
    <rect x="${380 - seed * 30}" y="${60 + seed * 20}" width="180" height="300" fill="#30404a" transform="rotate(${seed * 7} 470 210)"/>
    <path d="M0 420 Q 320 ${300 + seed * 30} 640 440 L640 480 L0 480 Z" fill="#556b2f"/>
  </svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}

t.test('each bit is one low frequency above the median: checked on an image built from known frequencies', async (t) => {
  // 32 of the 63 AC frequencies get a negative weight and 31 a positive one (chosen by a fixed
  // pattern), so the median falls between them and the expected bits are exactly the positive ones.
  const positive = (i: number) => i > 0 && (i * 37) % 64 < 32;
  const weights = Array.from({ length: 64 }, (_, i) => (i === 0 ? 0 : positive(i) ? 1.5 : -1.5));
  t.equal(weights.filter((w) => w > 0).length, 31);
  const grey = new Uint8Array(32 * 32);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      let v = 128;
      for (let i = 0; i < 64; i++) {
        const u = i % 8;
        const w = Math.floor(i / 8);
        v += weights[i]! * Math.cos(((2 * x + 1) * u * Math.PI) / 64) * Math.cos(((2 * y + 1) * w * Math.PI) / 64);
      }
      grey[y * 32 + x] = Math.round(v);
    }
  }
  // Bit order: row-major over the 8x8 block (vertical frequency, then horizontal), first bit highest;
  // the DC term, always far above the median, is the first bit.
  let expected = 0n;
  for (let i = 0; i < 64; i++) expected = (expected << 1n) | (i === 0 || positive(i) ? 1n : 0n);
  t.equal(hashOfGrey(grey), expected.toString(16).padStart(16, '0'));
  t.throws(() => hashOfGrey(new Uint8Array(10)), RangeError);
});

t.test('the same picture re-encoded, resized or shifted in colour keeps (nearly) its hash; another picture does not', async (t) => {
  const original = await picture(0);
  const base = await perceptualHash(original);
  t.match(base, /^[0-9a-f]{16}$/);
  const variants = {
    'jpeg quality 40': await sharp(original).jpeg({ quality: 40 }).toBuffer(),
    'resized to 37 %': await sharp(original).resize(240).png().toBuffer(),
    'colour shift': await sharp(original).modulate({ brightness: 1.08, saturation: 0.85 }).png().toBuffer(),
  };
  for (const [what, image] of Object.entries(variants)) {
    const d = hammingDistance(base, await perceptualHash(image));
    t.ok(d <= 6, `${what}: distance ${d}`);
  }
  for (const seed of [2, 3]) {
    const d = hammingDistance(base, await perceptualHash(await picture(seed)));
    t.ok(d >= 12, `a different picture (${seed}): distance ${d}`);
  }
});

t.test('raw RGB and encoded input hash alike', async (t) => {
  const image = await picture(1);
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  t.equal(await perceptualHash({ data, width: info.width, height: info.height }), await perceptualHash(image));
  t.equal(hammingDistance('ffffffffffffffff', '0000000000000000'), 64);
});
