/**
 * The engine's cost: the same inputs through bare onnxruntime-node (InferenceSession.run) and
 * through the engine, same model file, same threads, same process. `ratio`: one image per run in
 * both. `grouped_ratio` (models whose card allows batches): images submitted together, which the
 * batcher joins into runs of maxBatch, against bare runs of the same batches joined by hand;
 * `grouping_gain` compares those grouped runs with one image per bare run.
 * One JSON line per model on stdout. The engine should keep at least 85 % of bare throughput.
 *
 * Run: node --import tsx --conditions=loupe-source packages/inference/bench/engine.bench.ts
 *        [--threads N] [--images N] [--rounds N] [--isnet-images N] [--models-dir DIR] [--max-wait-ms MS]
 * ISNet's file is joined from its package's chunks by the model registry, in --models-dir (else
 * LOUPE_MODELS_DIR, else a temporary folder removed afterwards); where the registry cannot give
 * it, ISNet is skipped with a message on stderr.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderTextPage, SAMPLE_TEXTS, type PageFont } from '@loupe/testing';
import * as ort from 'onnxruntime-node';
import type { ModelCard } from '../src/cards/model-card.js';
import { builtinPpocrModels, createEngine, prepareImage, toInputTensor, type Tensor } from '../src/index.js';
import { concatBatch } from '../src/engine/tensor-batch.js';
import { networkSize } from '../src/ppocr/ppocr-detector.js';
import { openRegistry } from '../src/registry/registry.js';

const { values } = parseArgs({
  options: {
    threads: { type: 'string' },
    images: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '3' },
    'models-dir': { type: 'string' },
    'max-wait-ms': { type: 'string' },
    'isnet-images': { type: 'string', default: '3' },
  },
});
const threads = values.threads ? Number(values.threads) : os.availableParallelism();

// The rendered pages, stretched to the detector's 960 px input as the OCR pipeline does.
const fonts: [PageFont, number][] = [['sans', 14], ['serif', 16], ['mono', 18], ['serif-italic', 20]];
const pages = await Promise.all(
  fonts.map(async ([font, sizePt]) => prepareImage((await renderTextPage({ lines: Object.values(SAMPLE_TEXTS).flat(), font, sizePt, width: 1200 })).image)),
);

const { det } = await builtinPpocrModels(['det']);
const detSize = networkSize(pages[0]!.width, pages[0]!.height, 960);
const detInputs = await Promise.all(
  Array.from({ length: Number(values.images) }, async (_, i) => {
    const { tensor } = await toInputTensor(pages[i % pages.length]!, { ...det!.card.input, ...detSize });
    return tensor;
  }),
);
await compare(det!.card, det!.files.model!, detInputs, `${detSize.width}x${detSize.height}`);

// ISNet: its file is joined from its package's chunks by the model registry (once, into the models folder).
const modelsDir = values['models-dir'] ?? process.env.LOUPE_MODELS_DIR ?? (await mkdtemp(join(os.tmpdir(), 'loupe-bench-')));
try {
  const isnet = await openRegistry({ modelsDir }).resolve('isnet-general-medium');
  const inputs = await Promise.all(
    Array.from({ length: Number(values['isnet-images']) }, async (_, i) => (await toInputTensor(pages[i % pages.length]!, isnet.card.input)).tensor),
  );
  await compare(isnet.card, isnet.files.model!, inputs, `${isnet.card.input.width}x${isnet.card.input.height}`);
} catch (err) {
  console.error(`isnet-general-medium: skipped (${err instanceof Error ? err.message : String(err)})`);
} finally {
  if (!values['models-dir'] && !process.env.LOUPE_MODELS_DIR) await rm(modelsDir, { recursive: true, force: true });
}

async function compare(card: ModelCard, path: string, inputs: Tensor[], size: string): Promise<void> {
  const bare = await ort.InferenceSession.create(path, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    executionProviders: ['cpu'],
  });
  const engine = createEngine({ executionProvider: 'cpu', intraOpNumThreads: threads, log: { warn: (m) => console.error(m) } });
  const runner = await engine.load(card, { model: path }, values['max-wait-ms'] ? { runtime: { maxWaitMs: Number(values['max-wait-ms']) } } : {});
  const name = runner.inputName;
  const bareRun = (x: Tensor) => bare.run({ [name]: new ort.Tensor(x.data as Float32Array, [...x.dims]) });
  const groups = card.input.batch && runner.limits.maxBatch > 1;
  type Mode = 'bare' | 'engine' | 'bareBatched' | 'engineGrouped';
  const modes: Partial<Record<Mode, (xs: Tensor[]) => Promise<unknown>>> = {
    bare: async (xs) => {
      for (const x of xs) await bareRun(x);
    },
    engine: async (xs) => {
      for (const x of xs) await runner.run({ [name]: x });
    },
  };
  if (groups) {
    // Submitted together, the batcher joins them into one run; bare gets the same batch joined by hand.
    modes.engineGrouped = (xs) => Promise.all(xs.map((x) => runner.run({ [name]: x })));
    modes.bareBatched = (xs) => bareRun(concatBatch(xs));
  }
  const order = Object.keys(modes) as Mode[];
  const ms: Record<Mode, number> = { bare: 0, engine: 0, bareBatched: 0, engineGrouped: 0 };
  // Per group of images, bare time over engine time: their median shrugs off a slow spell.
  const ratios = { engine: [] as number[], grouped: [] as number[] };
  // The machine is shared and noisy: the modes take turns on every group of maxBatch images, in a
  // rotating order, so that a slow spell falls on all of them alike. Round 0 is not timed: first
  // runs at a new shape grow onnxruntime's memory arena.
  const step = groups ? runner.limits.maxBatch : 1;
  let turn = 0;
  for (let round = 0; round <= Number(values.rounds); round++) {
    for (let at = 0; at < inputs.length; at += step) {
      const chunk = inputs.slice(at, at + step);
      const took: Record<Mode, number> = { bare: 0, engine: 0, bareBatched: 0, engineGrouped: 0 };
      for (let k = 0; k < order.length; k++) {
        const mode = order[(k + turn) % order.length]!;
        const started = performance.now();
        await modes[mode]!(chunk);
        took[mode] = performance.now() - started;
      }
      turn++;
      if (round === 0) continue;
      for (const mode of order) ms[mode] += took[mode];
      ratios.engine.push(took.bare / took.engine);
      if (groups) ratios.grouped.push(took.bareBatched / took.engineGrouped);
    }
  }
  const images = inputs.length * Number(values.rounds);
  const rate = (mode: Mode) => round2((images / ms[mode]) * 1000);
  const metrics = engine.metrics()[runner.id]!;
  await engine.close();
  await bare.release();
  console.log(
    JSON.stringify({
      bench: 'engine',
      model: card.id,
      provider: runner.provider,
      threads,
      max_wait_ms: runner.limits.maxWaitMs,
      input: size,
      images,
      // One image per run in both: what the engine itself costs.
      bare_images_per_s: rate('bare'),
      engine_images_per_s: rate('engine'),
      ratio: round2(ms.bare / ms.engine),
      ratio_median: round2(median(ratios.engine)),
      ...(groups
        ? {
            // The same batches of maxBatch in both.
            max_batch: runner.limits.maxBatch,
            bare_batched_images_per_s: rate('bareBatched'),
            engine_grouped_images_per_s: rate('engineGrouped'),
            grouped_ratio: round2(ms.bareBatched / ms.engineGrouped),
            grouped_ratio_median: round2(median(ratios.grouped)),
            // What grouping itself does on this machine, against one image per bare run.
            grouping_gain: round2(ms.bare / ms.engineGrouped),
          }
        : {}),
      engine_run_ms_p50: metrics.runMs.p50,
      engine_queue_ms_p95: metrics.queueMs.p95,
    }),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
