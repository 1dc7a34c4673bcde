// Benchmark (not a test): what each pipeline asks of an image server. A local Image API server
// serves N canvases (3000x4000 masters and smaller scans, a mix of level 0 sizes-only, level 1,
// level 2 and plain images); `loupe run` runs in this process for each pipeline, each with a fresh
// data folder (so a fresh fetch cache), and one JSON line per pipeline gives the image requests,
// the bytes served against the originals' bytes, the wall time and the engine's inference time.
//   node --import tsx --conditions=loupe-source test/bench/fetch-once.bench.ts [--canvases N] [--pipelines text,objects,embed,enrich]
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import type { PipelineName } from '@loupe/contracts';
import { loadConfig, runPipeline } from '@loupe/cli';
import { manifestV3, startIiifImageServer, type ImageProfile } from '@loupe/testing';

const { values } = parseArgs({ options: { canvases: { type: 'string', default: '12' }, pipelines: { type: 'string', default: 'text,objects,embed,enrich' } } });
const CANVASES = Number(values.canvases);
const PIPELINES = values.pipelines.split(',') as PipelineName[];

/** Realistic sizes: camera masters of a book and smaller scans; the profiles cycle with them. */
const SIZES = [
  { width: 3000, height: 4000 },
  { width: 2400, height: 3200 },
  { width: 4000, height: 3000 },
  { width: 1600, height: 2200 },
];
const PROFILES: (ImageProfile | 'plain')[] = [{ version: 3, level: 2 }, { version: 2, level: 1 }, { version: 3, level: 0 }, 'plain'];

/** A picture with some structure (a JPEG of flat colour is unrealistically small). */
async function picture(width: number, height: number, seed: number): Promise<Buffer> {
  const shapes = Array.from({ length: 12 }, (_, i) => {
    const x = ((seed * 7919 + i * 104729) % 97) / 97;
    const y = ((seed * 6271 + i * 7877) % 89) / 89;
    return `<rect x="${Math.round(x * width * 0.8)}" y="${Math.round(y * height * 0.8)}" width="${Math.round(width * 0.15)}" height="${Math.round(height * 0.1)}" fill="hsl(${(i * 37 + seed * 11) % 360},60%,50%)"/>`;
  }).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f4ead5"/><stop offset="1" stop-color="#8a7a5a"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>${shapes}<text x="${width * 0.1}" y="${height * 0.5}" font-size="${Math.round(height / 30)}" font-family="serif">Folio ${seed}: an inventory of the collection</text></svg>`;
  const noise = await sharp({ create: { width, height, channels: 3, noise: { type: 'gaussian', mean: 0, sigma: 12 } } }).png().toBuffer();
  return sharp(Buffer.from(svg)).composite([{ input: noise, blend: 'soft-light' }]).jpeg({ quality: 88 }).toBuffer();
}

const server = await startIiifImageServer();
let originalBytes = 0;
const canvases = [];
for (let i = 0; i < CANVASES; i++) {
  const size = SIZES[i % SIZES.length]!;
  const profile = PROFILES[i % PROFILES.length]!;
  const bytes = await picture(size.width, size.height, i);
  originalBytes += bytes.length;
  if (profile === 'plain') {
    canvases.push({ label: `plain ${i}`, width: size.width, height: size.height, image: { url: server.addFile(`/files/${i}.jpg`, bytes, 'image/jpeg'), ...size } });
  } else {
    const serviceId = await server.addImage(`img-${i}`, bytes, profile);
    canvases.push({ label: `level ${profile.level} v${profile.version} ${i}`, width: size.width, height: size.height, image: { serviceId, version: profile.version, level: profile.level, ...size } });
  }
}
const manifestUrl = `${server.url}/m/bench.json`;
server.addDocument('/m/bench.json', manifestV3({ id: manifestUrl, label: 'Fetch bench', canvases }));

/** Bytes the server sent for each image path, learnt by asking again after the timed run. */
const sizeOf = new Map<string, number>();
async function bytesServed(paths: readonly string[]): Promise<number> {
  let total = 0;
  for (const p of paths) {
    if (!sizeOf.has(p)) sizeOf.set(p, (await (await fetch(`${server.url}${p}`)).arrayBuffer()).byteLength);
    total += sizeOf.get(p)!;
  }
  return total;
}

for (const pipeline of PIPELINES) {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-fetch-bench-'));
  try {
    const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir });
    server.reset();
    const started = performance.now();
    const report = await runPipeline(config, { source: manifestUrl, outDir: path.join(dataDir, 'out'), pipeline });
    const wallMs = performance.now() - started;
    const requests = [...server.requests];
    const images = requests.filter((p) => !p.endsWith('/info.json') && !p.startsWith('/m/'));
    const infos = requests.filter((p) => p.endsWith('/info.json')).length;
    const served = await bytesServed(images);
    const modelMs = Object.values(report.models).reduce((sum, m) => sum + m.ms, 0);
    console.log(
      JSON.stringify({
        pipeline,
        state: report.state,
        failures: report.failures.length,
        canvases: CANVASES,
        imageRequests: images.length,
        perCanvas: Math.round((images.length / CANVASES) * 100) / 100,
        infoRequests: infos,
        bytesServed: served,
        ofOriginals: `${Math.round((served / originalBytes) * 100)} %`,
        wallMs: Math.round(wallMs),
        // Inference time the engine counted (runs overlap with fetching and with each other on other
        // canvases, so this is a share of work, not of the critical path).
        modelMs: Math.round(modelMs),
        modelShare: `${Math.round((modelMs / wallMs) * 100)} %`,
      }),
    );
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
await server.close();
