// Hostile input, generated. A few thousand mutants of real manifests, collections and info.json
// documents (../shared/fixtures; generated ones when it is absent) go through harvest and through
// the planner; malformed images go through the preprocess service; XML with a DOCTYPE goes to the
// dataset import. Every outcome must be a result or a LoupeError with a documented 4xx code: a 500,
// LOUPE_ERR_INTERNAL or a JavaScript error text is a defect. Seeded (LOUPE_FUZZ_SEED), so a failure
// names its mutant and reruns identically; bounded, so it runs in CI in well under two minutes.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t, { type Test } from 'tap';
import { ERRORS, LoupeError, isErrorCode } from '@loupe/contracts';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { seededRandom } from '@loupe/datasets';
import { collectionV2, collectionV3, manifestV2, manifestV3 } from '@loupe/testing';
// The library under test, from its source as the CLI tests do (test/ does not list @loupe/iiif).
import { MAX_TILES, UNREADABLE_CHANNEL, harvest, parseImageInfo, parseJsonDocument, planImageRequest, type DocumentLoader, type PlanTarget } from '../packages/iiif/src/index.js';

const SEED = process.env.LOUPE_FUZZ_SEED ?? 'loupe-fuzz-1';
const MUTANTS_PER_MANIFEST = 40;
const MUTANTS_PER_INFO = 100;
const FIXTURES = path.join(fileURLToPath(new URL('../../shared/fixtures/iiif', import.meta.url)));
const haveFixtures = existsSync(FIXTURES);

type Json = unknown;
type Random = () => number;

// ---------------------------------------------------------------------------------------------
// Mutations: one to three per mutant, at random places in the document.

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const HUGE = [1e308, -1e308, 2 ** 53 + 2, 1e-308, -0, -1, 4_294_967_296, 99_999_999_999, 0.5];
const NUMERIC_TEXT = ['NaN', 'Infinity', '-Infinity', '1e999', '0x10', ' 12 ', '12px', '', 'null', 'undefined', '-0'];
const UNICODE = ['\uD800', '\u202Eevil\u202C', 'ｈｔｔｐ://example.org', '💥'.repeat(500), 'a'.repeat(100_000), '\u0000', 'http://[::1]/x', '../../../etc/passwd', '__proto__', 'level2', 'sc:Canvas'];
const KINDS = [null, 0, 1.5, true, '', 'x', [], {}];

/** Every place in the document, as a path of keys. */
function placesOf(root: Json, limit = 200_000): (string | number)[][] {
  const places: (string | number)[][] = [];
  const walk = (node: Json, at: (string | number)[]): void => {
    if (places.length >= limit) return;
    if (Array.isArray(node)) node.forEach((item, i) => (places.push([...at, i]), walk(item, [...at, i])));
    else if (node !== null && typeof node === 'object') for (const [key, value] of Object.entries(node)) (places.push([...at, key]), walk(value, [...at, key]));
  };
  walk(root, []);
  return places;
}

function mutate(root: Json, places: (string | number)[][], random: Random): Json {
  const kind = random();
  if (kind < 0.03) return pick(random, KINDS);
  if (kind < 0.06 && root !== null && typeof root === 'object' && !Array.isArray(root)) {
    // Version confusion: a 2.x document typed as 3.0 and the other way round.
    const doc = root as Record<string, Json>;
    if (doc['@type'] === 'sc:Manifest') doc.type = 'Manifest';
    else if (doc.type === 'Manifest') doc['@type'] = 'sc:Manifest';
    return root;
  }
  const place = pick(random, places);
  let parent: Json = root;
  for (const key of place.slice(0, -1)) {
    parent = (parent as Record<string | number, Json> | undefined)?.[key];
    if (parent === null || typeof parent !== 'object') return root;
  }
  if (parent === null || typeof parent !== 'object') return root;
  const container = parent as Record<string | number, Json>;
  const key = place.at(-1)!;
  if (!Object.hasOwn(container, key)) return root;
  const value = container[key];
  const set = (v: Json): void => void (container[key] = v);
  switch (Math.floor(random() * 9)) {
    case 0:
      if (Array.isArray(container)) container.splice(Number(key), 1);
      else delete container[key];
      break;
    case 1:
      if (Array.isArray(container)) container.splice(Number(key), 0, structuredClone(value));
      else {
        // A sibling's value in this key: a label where the width was, a list where the id was.
        const sibling = pick(random, Object.keys(container));
        set(structuredClone(container[sibling]));
      }
      break;
    case 2:
      set(pick(random, KINDS));
      break;
    case 3:
      set(random() < 0.5 ? [value] : { '@value': value, value });
      break;
    case 4:
      set(pick(random, HUGE));
      break;
    case 5:
      set(pick(random, NUMERIC_TEXT));
      break;
    case 6:
      set(pick(random, UNICODE));
      break;
    case 7:
      // Written into the text after serialising (see `mutant`): JSON.parse takes any depth, JSON.stringify and structuredClone do not.
      set(`${DEEP}${random() < 0.5 ? '[' : '{'}${100 + Math.floor(random() * 100_000)}`);
      break;
    default:
      // A key of JSON.parse's making that a careless copy would turn into a prototype.
      Object.defineProperty(container, '__proto__', { value: structuredClone(value), enumerable: true, writable: true, configurable: true });
  }
  return root;
}

const DEEP = '\u0001deep:';
const DEEP_MARK = /"\\u0001deep:([[{])(\d+)"/g;

/** The mutant as the bytes a server would send: sometimes cut short. */
function mutant(seed: Json, places: (string | number)[][], random: Random): Buffer {
  let doc = structuredClone(seed);
  const count = 1 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) doc = mutate(doc, places, random);
  const text = (JSON.stringify(doc) ?? 'null').replace(DEEP_MARK, (_, open: string, depth: string) =>
    open === '[' ? `${'['.repeat(Number(depth))}0${']'.repeat(Number(depth))}` : `${'{"items":'.repeat(Number(depth))}0${'}'.repeat(Number(depth))}`,
  );
  return Buffer.from(random() < 0.05 ? text.slice(0, Math.floor(random() * text.length)) : text);
}

// ---------------------------------------------------------------------------------------------
// What a result or an error may look like.

const JS_ERROR_TEXT = /TypeError|RangeError|SyntaxError|Cannot read propert|is not a function|is not iterable|Maximum call stack|undefined \(reading/;

/** Empty when the error is one a caller may see: documented, 4xx, in words. */
function errorProblems(code: unknown, message: unknown): string[] {
  const problems: string[] = [];
  if (!isErrorCode(code)) problems.push(`undocumented code ${String(code)}`);
  // 502 to 504 say a remote server failed, which a document may point at; 500 is Loupe's own failure.
  else if (code === 'LOUPE_ERR_INTERNAL' || ERRORS[code].status === 500) problems.push(`${code} (${ERRORS[code].status})`);
  if (typeof message !== 'string' || JS_ERROR_TEXT.test(message)) problems.push(`message ${JSON.stringify(message)?.slice(0, 200)}`);
  else if (message.length > 2000) problems.push(`a ${message.length}-character message: errors must not carry the document`);
  return problems;
}

const finiteSize = (n: unknown): boolean => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 2 ** 31;

function fuzzManifests(t: Test, seeds: Map<string, Json>, random: Random): Promise<unknown> {
  return t.test(`${seeds.size} ${haveFixtures ? 'fixture' : 'generated'} manifests and collections, ${MUTANTS_PER_MANIFEST} mutants each, through harvest`, async (t) => {
    const unreadable: unknown[] = [];
    const listen = (message: unknown): void => void unreadable.push((message as { error: unknown }).error);
    subscribe(UNREADABLE_CHANNEL, listen);
    t.teardown(() => unsubscribe(UNREADABLE_CHANNEL, listen));
    const defects: string[] = [];
    let mutants = 0;
    let manifests = 0;
    let errors = 0;
    for (const [name, seed] of seeds) {
      const places = placesOf(seed);
      for (let i = 0; i < MUTANTS_PER_MANIFEST; i++) {
        const label = `${name} mutant ${i} (seed ${SEED})`;
        const source = `https://fuzz.test/${name}/${i}`;
        const bytes = mutant(seed, places, random);
        const load: DocumentLoader = async (ref) => {
          if (ref === source) return parseJsonDocument(bytes, ref);
          throw new LoupeError('LOUPE_ERR_FETCH_HTTP', `${ref}: 404 Not Found`, { details: { url: ref } });
        };
        mutants += 1;
        try {
          for await (const event of harvest(source, load, { maxManifests: 20 })) {
            if (event.type === 'error') {
              errors += 1;
              for (const p of errorProblems(event.error.code, event.error.message)) defects.push(`${label}: ${p}`);
              continue;
            }
            manifests += 1;
            const m = event.manifest;
            if (typeof m.id !== 'string' || m.id === '') defects.push(`${label}: manifest id ${JSON.stringify(m.id)}`);
            for (const c of m.canvases) {
              if (typeof c.id !== 'string' || !finiteSize(c.width) || !finiteSize(c.height) || !finiteSize(c.index)) defects.push(`${label}: canvas ${JSON.stringify(c).slice(0, 200)}`);
              for (const image of c.images) {
                if (typeof image.id !== 'string' || (image.service && ![1, 2, 3].includes(image.service.version))) defects.push(`${label}: image ${JSON.stringify(image).slice(0, 200)}`);
              }
            }
            // The 3.0 document (the upgrade, for 2.x) is made on demand: it must never throw either.
            if (i % 8 === 0 && (typeof m.v3 !== 'object' || m.v3 === null)) defects.push(`${label}: no v3 document`);
          }
        } catch (err) {
          defects.push(`${label}: harvest threw ${err instanceof LoupeError ? err.code : String(err).slice(0, 200)}`);
        }
      }
    }
    t.same(defects.slice(0, 20), [], `${defects.length} defects among ${mutants} mutants (${manifests} manifests read, ${errors} errors reported)`);
    const unexpected = unreadable.filter((e) => !(e instanceof RangeError));
    t.same(unexpected.map((e) => String(e).slice(0, 200)), [], `what was hidden behind "cannot be read" was only nesting too deep (${unreadable.length} cases)`);
  });
}

function fuzzInfos(t: Test, seeds: Map<string, Json>, random: Random): Promise<unknown> {
  return t.test(`${seeds.size} ${haveFixtures ? 'fixture' : 'generated'} info.json documents, ${MUTANTS_PER_INFO} mutants each, through parse and plan`, async (t) => {
    const defects: string[] = [];
    let mutants = 0;
    let plans = 0;
    for (const [name, seed] of seeds) {
      const places = placesOf(seed);
      for (let i = 0; i < MUTANTS_PER_INFO; i++) {
        const label = `${name} mutant ${i} (seed ${SEED})`;
        const url = `https://fuzz.test/iiif/${i}/info.json`;
        const bytes = mutant(seed, places, random);
        mutants += 1;
        try {
          const info = parseImageInfo(parseJsonDocument(bytes, url), url);
          const targets: PlanTarget[] = [
            { shortSide: 512 },
            { fit: { width: 1024, height: 1024 } },
            { shortSide: 1e9 },
            { shortSide: 224, region: { x: info.width / 4, y: info.height / 4, w: info.width / 3, h: info.height / 3 } },
          ];
          for (const target of targets) {
            try {
              const plan = planImageRequest(info, target);
              plans += 1;
              const ok =
                finiteSize(plan.width) && plan.width > 0 && finiteSize(plan.height) && plan.height > 0 && Number.isFinite(plan.scale) && plan.scale > 0 &&
                (plan.kind === 'single' ? typeof plan.url === 'string' : (plan.tiles?.length ?? 0) > 0 && plan.tiles!.length <= MAX_TILES);
              if (!ok) defects.push(`${label} ${JSON.stringify(target)}: plan ${JSON.stringify(plan).slice(0, 300)}`);
            } catch (err) {
              if (!(err instanceof LoupeError)) defects.push(`${label} ${JSON.stringify(target)}: threw ${String(err).slice(0, 200)}`);
              else for (const p of errorProblems(err.code, err.message)) defects.push(`${label} ${JSON.stringify(target)}: ${p}`);
            }
          }
        } catch (err) {
          if (!(err instanceof LoupeError)) defects.push(`${label}: threw ${String(err).slice(0, 200)}`);
          else for (const p of errorProblems(err.code, err.message)) defects.push(`${label}: ${p}`);
        }
      }
    }
    t.same(defects.slice(0, 20), [], `${defects.length} defects among ${mutants} mutants (${plans} plans made)`);
  });
}

// ---------------------------------------------------------------------------------------------
// Seeds: the shared fixtures, or generated documents when ../shared is absent.

function readSeeds(folder: string): Map<string, Json> {
  const seeds = new Map<string, Json>();
  const dir = path.join(FIXTURES, folder);
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    if (!name.endsWith('.json')) continue;
    try {
      seeds.set(path.basename(name), JSON.parse(readFileSync(path.join(dir, name), 'utf8')));
    } catch {
      // Not JSON (a deliberately broken fixture): nothing to mutate.
    }
  }
  return seeds;
}

function generatedManifests(): Map<string, Json> {
  const canvases = Array.from({ length: 6 }, (_, i) => ({
    label: i % 2 ? `f. ${i}r` : { fr: [`page ${i}`], en: [`page ${i}`] },
    width: 2000 + i,
    height: 3000,
    ...(i !== 3 && { image: { serviceId: `https://img.fuzz.test/iiif/p${i}`, version: (i % 2 ? 2 : 3) as 2 | 3, level: (i % 3) as 0 | 1 | 2 } }),
  }));
  const spec = { id: 'https://fuzz.test/m/book.json', label: 'book', canvases };
  const items = [{ id: 'https://fuzz.test/m/a.json' }, { id: 'https://fuzz.test/c/sub.json', type: 'Collection' as const }];
  return new Map<string, Json>([
    ['generated-p2.json', manifestV2(spec)],
    ['generated-p3.json', manifestV3(spec)],
    ['generated-c2.json', collectionV2({ id: 'https://fuzz.test/c.json', items })],
    ['generated-c3.json', collectionV3({ id: 'https://fuzz.test/c.json', items })],
  ]);
}

function generatedInfos(): Map<string, Json> {
  const tiles = [{ width: 512, scaleFactors: [1, 2, 4, 8, 16] }];
  return new Map<string, Json>([
    ['generated-v3-l1.json', { '@context': 'http://iiif.io/api/image/3/context.json', id: 'https://img.fuzz.test/a', type: 'ImageService3', protocol: 'http://iiif.io/api/image', profile: 'level1', width: 6000, height: 4000, tiles }],
    ['generated-v2-l0.json', { '@context': 'http://iiif.io/api/image/2/context.json', '@id': 'https://img.fuzz.test/b', protocol: 'http://iiif.io/api/image', profile: ['http://iiif.io/api/image/2/level0.json'], width: 3000, height: 4000, sizes: [{ width: 750, height: 1000 }, { width: 1500, height: 2000 }], tiles }],
    ['generated-v2-l2.json', { '@context': 'http://iiif.io/api/image/2/context.json', '@id': 'https://img.fuzz.test/c', profile: ['http://iiif.io/api/image/2/level2.json', { maxWidth: 2000 }], width: 9000, height: 7000 }],
  ]);
}

t.test('manifests, collections and info.json mutants', async (t) => {
  if (!haveFixtures) t.comment(`no fixtures at ${FIXTURES}: generated documents instead (packages/testing builders)`);
  const random = seededRandom(SEED);
  const manifests = haveFixtures ? new Map([...readSeeds('manifests'), ...readSeeds('collections')]) : generatedManifests();
  const infos = haveFixtures ? readSeeds('info') : generatedInfos();
  const started = performance.now();
  await fuzzManifests(t, manifests, random);
  await fuzzInfos(t, infos, random);
  t.comment(`mutants: ${manifests.size * MUTANTS_PER_MANIFEST} manifests/collections, ${infos.size * MUTANTS_PER_INFO} info.json; ${((performance.now() - started) / 1000).toFixed(1)} s`);
});

// ---------------------------------------------------------------------------------------------
// Images and XML, through the services' HTTP API.

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-fuzz-'));
t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));

/** A PNG whose header claims `width` x `height` and whose data is one empty chunk: what a decompression bomb looks like. */
function pngClaiming(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer): number => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.alloc(0)), chunk('IEND', Buffer.alloc(0))]);
}

async function images(): Promise<Record<string, { bytes: Buffer; type: string; expect: 'ok' | readonly string[] }>> {
  const base = sharp({ create: { width: 320, height: 240, channels: 3, background: '#3366cc' } });
  const jpeg = await base.clone().jpeg().toBuffer();
  const png = await base.clone().png().toBuffer();
  const frame = (r: number) => sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g: 40, b: 90 } } }).png().toBuffer();
  const frames = await Promise.all([frame(255), frame(0), frame(128)]);
  const DECODE = ['LOUPE_ERR_IMAGE_DECODE', 'LOUPE_ERR_IMAGE_UNSUPPORTED'];
  const noisy = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg({ quality: 90 }).toBuffer();
  const corrupt = (bytes: Buffer): Buffer => {
    const out = Buffer.from(bytes);
    out.fill(0xff, Math.floor(out.length * 0.6), Math.floor(out.length * 0.6) + 200);
    return out;
  };
  return {
    'control.jpg': { bytes: jpeg, type: 'image/jpeg', expect: 'ok' },
    'truncated.jpg': { bytes: jpeg.subarray(0, Math.floor(jpeg.length / 2)), type: 'image/jpeg', expect: DECODE },
    'truncated.png': { bytes: png.subarray(0, Math.floor(png.length / 2)), type: 'image/png', expect: DECODE },
    'wrong-magic.jpg': { bytes: Buffer.concat([Buffer.from('GIF89a'), jpeg.subarray(6)]), type: 'image/jpeg', expect: DECODE },
    // A damaged scan after a sound header: it passes the fetcher's checks, and once answered 500.
    'corrupt-middle.jpg': { bytes: corrupt(noisy), type: 'image/jpeg', expect: 'ok' },
    'text-as-image.png': { bytes: Buffer.from('<html><body>Not found</body></html>'), type: 'image/png', expect: [...DECODE, 'LOUPE_ERR_FETCH_CONTENT_TYPE'] },
    'zero-bytes.jpg': { bytes: Buffer.alloc(0), type: 'image/jpeg', expect: [...DECODE, 'LOUPE_ERR_FETCH_CONTENT_TYPE'] },
    'cmyk.jpg': { bytes: await base.clone().toColourspace('cmyk').jpeg().toBuffer(), type: 'image/jpeg', expect: 'ok' },
    '16-bit.png': { bytes: await base.clone().toColourspace('rgb16').png().toBuffer(), type: 'image/png', expect: 'ok' },
    'animated.gif': { bytes: await sharp(frames, { join: { animated: true } }).gif().toBuffer(), type: 'image/gif', expect: 'ok' },
    'animated.webp': { bytes: await sharp(frames, { join: { animated: true } }).webp().toBuffer(), type: 'image/webp', expect: 'ok' },
    '100000x100000.png': { bytes: pngClaiming(100_000, 100_000), type: 'image/png', expect: ['LOUPE_ERR_IMAGE_TOO_MANY_PIXELS'] },
  };
}

t.test('malformed images through the preprocess service: a 4xx with its code, or processed; never a 500', async (t) => {
  const files = await images();
  const server = createServer((req, res) => {
    const file = files[(req.url ?? '/').slice(1)];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.type, 'content-length': file.bytes.length }).end(file.bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const env = { LOUPE_DATA_DIR: path.join(dataDir, 'pre'), LOUPE_LOG_LEVEL: 'silent', LOUPE_FETCH_ALLOW: '127.0.0.1', LOUPE_FETCH_RETRIES: '0' };
  const embedded = await createEmbedded(loadConfig(env, { services: ['preprocess'] }));
  t.teardown(() => embedded.close());
  await embedded.app.start();
  for (const [name, file] of Object.entries(files)) {
    const task = {
      jobId: 'fuzz',
      manifestId: 'https://fuzz.test/m',
      canvasId: `https://fuzz.test/m/${name}`,
      canvasIndex: 0,
      canvasLabel: name,
      canvasWidth: 320,
      canvasHeight: 240,
      imageIndex: 0,
      image: { id: `http://127.0.0.1:${port}/${name}` },
    };
    const res = await embedded.app.inject({ method: 'POST', url: '/v1/preprocess', payload: { task, results: {}, options: {} } });
    const body = res.json() as { code?: string; message?: string; width?: number; height?: number };
    if (file.expect === 'ok') {
      t.equal(res.statusCode, 200, `${name}: processed (${res.body.slice(0, 200)})`);
      t.ok((body.width ?? 0) > 0 && (body.height ?? 0) > 0, `${name}: ${body.width}x${body.height}`);
    } else {
      t.ok(res.statusCode >= 400 && res.statusCode < 500, `${name}: ${res.statusCode} ${body.code}`);
      t.ok(file.expect.includes(body.code ?? ''), `${name}: ${body.code} is one of ${file.expect.join(', ')}`);
      t.same(errorProblems(body.code, body.message), [], `${name}: ${body.message}`);
    }
  }
});

t.test('XML with a DOCTYPE or entities, imported as a Pascal VOC dataset: 400 LOUPE_ERR_XML_UNSAFE', async (t) => {
  const env = { LOUPE_DATA_DIR: path.join(dataDir, 'gt'), LOUPE_LOG_LEVEL: 'silent' };
  const embedded = await createEmbedded(loadConfig(env, { services: ['ground-truth'] }));
  t.teardown(() => embedded.close());
  await embedded.app.start();
  const created = await embedded.app.inject({ method: 'POST', url: '/v1/datasets', payload: { name: 'voc' } });
  t.equal(created.statusCode, 200, created.body);
  const annotation = '<annotation><filename>a.jpg</filename><object><name>cat</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox></object></annotation>';
  const xxe = `<?xml version="1.0"?><!DOCTYPE annotation [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><annotation><filename>&xxe;</filename></annotation>`;
  for (const [what, content] of [
    ['a DOCTYPE', `<!DOCTYPE annotation>${annotation}`],
    ['an external entity', xxe],
  ] as const) {
    const res = await embedded.app.inject({ method: 'POST', url: '/v1/datasets/voc/import', payload: { name: 'voc', format: 'voc', content: [annotation, content] } });
    t.equal(res.statusCode, 400, `${what}: ${res.body}`);
    t.match(res.json(), { code: 'LOUPE_ERR_XML_UNSAFE', message: /document 2: the XML declares a DOCTYPE or entities/ }, what);
  }
  const fine = await embedded.app.inject({ method: 'POST', url: '/v1/datasets/voc/import', payload: { name: 'voc', format: 'voc', content: [annotation] } });
  t.equal(fine.statusCode, 200, `the same file without a DOCTYPE is imported (${fine.body})`);
});
