import t from 'tap';
import { parseImageInfo } from './image-info.js';

const DOC = 'https://images.example.org/iiif/abc/info.json';

t.test('Image API 3: level from the profile, extras added to what the level guarantees', async (t) => {
  const info = parseImageInfo(
    {
      '@context': 'http://iiif.io/api/image/3/context.json',
      id: 'https://images.example.org/iiif/abc/',
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level1',
      width: 6000,
      height: 4000,
      maxWidth: 3000,
      sizes: [
        { width: 600, height: 400 },
        { width: 150, height: 100 },
      ],
      tiles: [{ width: 512, scaleFactors: [4, 1, 2] }],
      extraFormats: ['png', 'webp'],
      extraQualities: ['gray'],
      extraFeatures: ['rotationArbitrary'],
    },
    DOC,
  );
  t.equal(info.id, 'https://images.example.org/iiif/abc', 'no trailing slash');
  t.same([info.version, info.level, info.width, info.height], [3, 1, 6000, 4000]);
  t.same([info.maxWidth, info.maxHeight, info.maxArea], [3000, 3000, undefined], 'maxHeight defaults to maxWidth');
  t.same(info.sizes, [
    { width: 150, height: 100 },
    { width: 600, height: 400 },
  ]);
  t.same(info.tiles, [{ width: 512, height: 512, scaleFactors: [1, 2, 4] }], 'tile height defaults to width');
  t.same(info.formats, ['jpg', 'png', 'webp']);
  t.same(info.qualities, ['default', 'gray']);
  t.ok(info.features.includes('regionByPx') && info.features.includes('sizeByWh'), 'level 1 guarantees');
  t.ok(info.features.includes('rotationArbitrary'), 'extra feature');
  t.notOk(info.features.includes('regionByPct'), 'a level 2 feature not listed');
});

t.test('Image API 2: compliance URI first in the profile list, limits and extras in the profile object', async (t) => {
  const info = parseImageInfo(
    {
      '@context': 'http://iiif.io/api/image/2/context.json',
      '@id': 'https://images.example.org/iiif/abc/info.json',
      protocol: 'http://iiif.io/api/image',
      width: 4000,
      height: 3000,
      profile: ['http://iiif.io/api/image/2/level2.json', { formats: ['gif'], qualities: ['color'], supports: ['mirroring'], maxArea: 1_000_000 }],
    },
    DOC,
  );
  t.same([info.id, info.version, info.level, info.maxArea], ['https://images.example.org/iiif/abc', 2, 2, 1_000_000]);
  t.same(info.formats, ['jpg', 'png', 'gif']);
  t.ok(info.features.includes('mirroring') && info.features.includes('sizeByWh'));
  t.same(info.tiles, []);
});

t.test('Image API 1.1: Stanford profile URI, tile_width and scale_factors', async (t) => {
  const info = parseImageInfo(
    {
      '@context': 'http://library.stanford.edu/iiif/image-api/1.1/context.json',
      '@id': 'http://localhost:8000/iiif/tiled',
      profile: 'http://library.stanford.edu/iiif/image-api/1.1/compliance.html#level1',
      width: 775,
      height: 1024,
      tile_width: 256,
      scale_factors: [1, 2, 4, 8],
      formats: ['jpg', 'png'],
      qualities: ['native', 'grey'],
    },
    'http://localhost:8000/iiif/tiled/info.json',
  );
  t.same([info.version, info.level], [1, 1]);
  t.same(info.tiles, [{ width: 256, height: 256, scaleFactors: [1, 2, 4, 8] }]);
  t.same(info.qualities, ['native', 'grey']);
  t.same(info.formats, ['jpg', 'png']);
});

t.test('a relative id is resolved against the service base', async (t) => {
  const json = { '@context': 'http://iiif.io/api/image/2/context.json', '@id': 'starfish', width: 3000, height: 4000, profile: ['http://iiif.io/api/image/2/level0.json'] };
  t.equal(parseImageInfo(json, 'https://static.example.org/tiles/starfish/info.json').id, 'https://static.example.org/tiles/starfish');
  t.equal(parseImageInfo(json, 'tiles/starfish/info.json').id, 'starfish', 'a file path cannot resolve it: kept as given');
});

t.test('an unknown level reads as level 0', async (t) => {
  const info = parseImageInfo({ id: 'https://x.example/i', type: 'ImageService3', profile: 'level3', width: 10, height: 10 }, DOC);
  t.equal(info.level, 0);
  t.same(info.features, []);
});

t.test('invalid descriptions name the document and the field', async (t) => {
  const base = { '@context': 'http://iiif.io/api/image/3/context.json', id: 'https://x.example/i', type: 'ImageService3', profile: 'level2' };
  t.throws(() => parseImageInfo({ ...base, height: 10 }, DOC), {
    code: 'LOUPE_ERR_IIIF_INFO_INVALID',
    message: `${DOC} is not a valid Image API description: "width" must be a positive integer below 2^31, got nothing`,
    details: { document: DOC, field: '"width"' },
  });
  t.throws(() => parseImageInfo({ ...base, width: 10, height: -4 }, DOC), { code: 'LOUPE_ERR_IIIF_INFO_INVALID', message: /"height" must be a positive integer below 2\^31, got -4/ });
  t.throws(() => parseImageInfo({ ...base, width: 10, height: 10, maxWidth: 0 }, DOC), { message: /"maxWidth"/ });
  t.throws(() => parseImageInfo({ ...base, width: 10, height: 10, sizes: 'big' }, DOC), { message: /"sizes" must be a list/ });
  t.throws(() => parseImageInfo({ type: 'ImageService3', width: 10, height: 10 }, DOC), { message: /"id" is missing/ });
  t.throws(() => parseImageInfo([1, 2], DOC), { code: 'LOUPE_ERR_IIIF_INFO_INVALID', message: /not a JSON object/ });
});

t.test('hostile values: refused in a few words, never echoed whole', async (t) => {
  const base = { id: 'https://x.example/i', type: 'ImageService3', profile: 'level2', height: 10 };
  t.throws(() => parseImageInfo({ ...base, width: 2 ** 32 }, DOC), { message: /"width" must be a positive integer below 2\^31, got 4294967296$/ }, 'a width no image has');
  t.throws(() => parseImageInfo({ ...base, width: 'x'.repeat(100_000) }, DOC), { message: /got "x{40}…"$/ }, 'a long string: an excerpt');
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i += 1) deep = [deep];
  t.throws(() => parseImageInfo({ ...base, width: deep }, DOC), { code: 'LOUPE_ERR_IIIF_INFO_INVALID', message: /got a list$/ }, 'a deep list: its kind');
  t.equal(parseImageInfo({ ...base, width: 10, maxArea: 2 ** 40 }, DOC).maxArea, 2 ** 40, 'an area may pass 2^31');
});

t.test('malformed entries of sizes and tiles are dropped, the rest kept', async (t) => {
  const info = parseImageInfo(
    {
      id: 'https://x.example/i',
      type: 'ImageService3',
      profile: 'level0',
      width: 6000,
      height: 4000,
      sizes: [{ width: 150, height: 100 }, { width: 600 }, { width: -3, height: 2 }, 'x'],
      tiles: [{ width: 256, scaleFactors: [] }, { width: 512, scaleFactors: [1, 0, 2.5, 2] }],
    },
    DOC,
  );
  t.same(info.sizes, [{ width: 150, height: 100 }]);
  t.same(info.tiles, [{ width: 512, height: 512, scaleFactors: [1, 2] }]);
});
