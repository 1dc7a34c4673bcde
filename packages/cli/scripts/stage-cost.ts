// Measures (not a test) what each stage of each pipeline costs per image on this machine: `loupe
// run` in this process over printed pages and photographs served by the demo's IIIF server, each
// pipeline with a fresh data folder. One JSON line per pipeline: per stage ms per image (the job's
// own stage times), per model mean ms and runs per image (the engine's), wall time, peak RSS.
//   node --import tsx --conditions=loupe-source packages/cli/scripts/stage-cost.ts [--pages N] [--pipelines text,objects,embed,enrich]
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { PipelineName } from '@loupe/contracts';
import { SAMPLE_TEXTS, manifestV3, renderTextPage, startIiifImageServer } from '@loupe/demo';
import { loadConfig, runPipeline } from '../src/index.js';

const { values } = parseArgs({ options: { pages: { type: 'string', default: '3' }, pipelines: { type: 'string', default: 'text,objects,embed,enrich' } } });
const PAGES = Number(values.pages);

const server = await startIiifImageServer();
const texts = [SAMPLE_TEXTS.catalogueNote, SAMPLE_TEXTS.letter, SAMPLE_TEXTS.latin];
const canvases = [];
for (let i = 0; i < PAGES; i++) {
  // Half printed pages at 1600 px, half photographs at 2400x1800: what a heritage collection mixes.
  const page = i % 2 === 0 ? await renderTextPage({ lines: texts[i % texts.length]!, font: 'serif', sizePt: 20, width: 1600, format: 'jpeg' }) : undefined;
  const image = page?.image ?? (await sharp({ create: { width: 2400, height: 1800, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer());
  const { width, height } = page ?? { width: 2400, height: 1800 };
  const serviceId = await server.addImage(`img-${i}`, image, { version: 3, level: 2 });
  canvases.push({ label: `image ${i}`, width, height, image: { serviceId, version: 3 as const, level: 2 as const, width, height } });
}
const manifest = `${server.url}/m/cost.json`;
server.addDocument('/m/cost.json', manifestV3({ id: manifest, label: 'Stage cost', canvases }));

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 100);
for (const pipeline of values.pipelines.split(',') as PipelineName[]) {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-stage-cost-'));
  peakRss = process.memoryUsage.rss();
  const started = performance.now();
  try {
    const report = await runPipeline(loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir }), { source: manifest, outDir: path.join(dataDir, 'out'), pipeline });
    const per = (ms: number) => Math.round(ms / Math.max(1, report.images));
    console.log(
      JSON.stringify({
        pipeline,
        state: report.state,
        failures: report.failures.map((f) => `${f.stage}: ${f.code}`),
        images: report.images,
        cores: os.cpus().length,
        wallMsPerImage: per(performance.now() - started),
        stageMsPerImage: Object.fromEntries(Object.entries(report.stages).map(([stage, s]) => [stage, per(s.ms)])),
        models: Object.fromEntries(Object.entries(report.models).map(([id, m]) => [id, { meanMs: Math.round(m.meanMs), runsPerImage: Math.round((m.runs / report.images) * 10) / 10 }])),
        peakRssMiB: Math.round(peakRss / 2 ** 20),
      }),
    );
  } catch (err) {
    console.log(JSON.stringify({ pipeline, error: (err as Error).message }));
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
clearInterval(sampler);
await server.close();
