import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManualClock, buildOnnxModel, tick } from '@loupe/testing';
import t, { type Test } from 'tap';
import type { ModelCard } from '../cards/model-card.js';
import type { InferenceLogger, Tensor } from '../session.js';
import type { BatcherClock } from './dynamic-batcher.js';
import { createEngine, type Engine } from './model-runner.js';

/** Y = X * 2 + 1, X of shape [batch, ...rest]. */
async function affineModel(dir: string, rest: (number | string)[]): Promise<string> {
  const path = join(dir, `affine-${rest.join('x')}.onnx`);
  const dims = ['batch', ...rest];
  const bytes = buildOnnxModel({
    inputs: [{ name: 'X', type: 'float32', dims }],
    outputs: [{ name: 'Y', type: 'float32', dims }],
    initializers: [
      { name: 'two', type: 'float32', dims: [], values: [2] },
      { name: 'one', type: 'float32', dims: [], values: [1] },
    ],
    nodes: [
      { op: 'Mul', inputs: ['X', 'two'], outputs: ['X2'] },
      { op: 'Add', inputs: ['X2', 'one'], outputs: ['Y'] },
    ],
  });
  await writeFile(path, bytes);
  return path;
}

function card(runtime: ModelCard['runtime'], input: Partial<ModelCard['input']> = {}): ModelCard {
  return {
    id: 'affine',
    version: '1',
    task: 'classification',
    name: 'Y = 2X + 1',
    files: { model: { path: 'affine.onnx', sha256: '0'.repeat(64), size: 1 } },
    input: {
      resize: 'stretch',
      channelOrder: 'RGB',
      scale: 1,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      layout: 'NCHW',
      dtype: 'float32',
      batch: true,
      ...input,
    },
    output: { decoder: 'identity' },
    licence: 'MIT',
    source: 'built in the test',
    ...(runtime ? { runtime } : {}),
  };
}

const x = (...values: number[]): Tensor => ({ data: Float32Array.from(values), dims: [values.length] });
const values = (out: Record<string, Tensor>) => Array.from(out.Y!.data as Float32Array);

function collectingLogger(): InferenceLogger & { infos: string[]; warnings: string[] } {
  const infos: string[] = [];
  const warnings: string[] = [];
  return { infos, warnings, info: (m) => infos.push(m), warn: (m, d) => warnings.push(`${m} ${JSON.stringify(d)}`) };
}

function engineFor(t: Test, opts: { clock?: BatcherClock; log?: InferenceLogger } = {}): Engine {
  const engine = createEngine({ executionProvider: 'cpu', intraOpNumThreads: 1, log: collectingLogger(), ...opts });
  t.teardown(() => engine.close());
  return engine;
}

t.test('concurrent requests share runs of at most maxBatch, and each gets its own output back', async (t) => {
  const dir = t.testdir();
  const engine = engineFor(t);
  const runner = await engine.load(card({ maxBatch: 4, maxWaitMs: 0 }), { model: await affineModel(dir, [3]) });
  const inputs = Array.from({ length: 10 }, (_, i) => x(i, 10 * i, -i));
  const outs = await Promise.all(inputs.map((input) => runner.run({ X: input })));
  outs.forEach((out, i) => {
    t.same(out.Y!.dims, [3], 'no batch dimension in, none out');
    t.same(values(out), [2 * i + 1, 20 * i + 1, -2 * i + 1], `request ${i}`);
  });
  const m = engine.metrics().affine!;
  t.equal(m.requests, 10);
  t.equal(m.batches, 3, 'runs of 4, 4 and 2');
  t.equal(m.meanBatch, 3.333);
  t.equal(m.errors, 0);
  t.match(m, { queued: 0, inFlight: 0, queueMs: { p50: Number, p95: Number }, runMs: { p50: Number, p95: Number } });
  const timing = engine.readiness().models.find((r) => r.id === 'affine')!.timing!;
  t.match(timing, { runs: 3, requests: 10, meanBatch: 3.333, queueMs: { p50: Number, p95: Number } }, 'readiness gives runs, requests and batch sizes per model');
  t.ok(timing.ms > 0 && Math.abs(timing.meanMs - timing.ms / 3) < 0.001, 'and the time in those runs, in total and per run');

  const withBatch = await runner.run({ X: { data: Float32Array.from([1, 2, 3]), dims: [1, 3] } });
  t.same(withBatch.Y!.dims, [1, 3], 'a batch of one in, a batch of one out');
  const batch = await runner.runBatch({ X: { data: Float32Array.from([0, 1, 2, 3, 4, 5]), dims: [2, 3] } });
  t.same(batch.Y!.dims, [2, 3]);
  t.same(values(batch), [1, 3, 5, 7, 9, 11], 'runBatch runs the caller’s batch as it is');
  await t.rejects(runner.run({ X: { data: new Float32Array(6), dims: [2, 3] } }), { code: 'LOUPE_ERR_INFERENCE', message: /runBatch/ });
});

t.test('requests of different shapes run separately unless the input may be padded', async (t) => {
  const dir = t.testdir();
  const engine = engineFor(t);
  const path = await affineModel(dir, ['w']);
  const plain = await engine.load(card({ maxBatch: 8, maxWaitMs: 0 }), { model: path });
  const [a, b, c] = await Promise.all([plain.run({ X: x(1, 2) }), plain.run({ X: x(3, 4, 5) }), plain.run({ X: x(6, 7) })]);
  t.same([values(a!), values(b!), values(c!)], [[3, 5], [7, 9, 11], [13, 15]]);
  t.equal(engine.metrics().affine!.batches, 2, 'the two pairs met, the triple ran alone');

  const padded = await engine.load({ ...card({ maxBatch: 8, maxWaitMs: 0 }), id: 'affine-padded' }, { model: path }, { padding: { axes: [1], value: 0 } });
  const [p, q] = await Promise.all([padded.run({ X: x(1, 2) }), padded.run({ X: x(3, 4, 5) })]);
  t.equal(engine.metrics()['affine-padded']!.batches, 1, 'one run for both');
  t.same(values(p!), [3, 5, 1], 'the short request comes back at the padded width: 2*0+1 where it was padded');
  t.same(values(q!), [7, 9, 11]);
});


t.test('a lone request waits maxWait for company, and no longer', async (t) => {
  const dir = t.testdir();
  const clock = new ManualClock();
  const engine = engineFor(t, { clock });
  const runner = await engine.load(card({ maxBatch: 8, maxWaitMs: 50 }), { model: await affineModel(dir, [3]) });
  const metrics = () => engine.metrics().affine!;

  const first = runner.run({ X: x(1, 1, 1) });
  await tick();
  clock.advance(30);
  const second = runner.run({ X: x(2, 2, 2) });
  await tick();
  t.equal(metrics().queued, 2, 'both still wait: the first has waited 30 of its 50 ms');
  clock.advance(20);
  t.same([values(await first), values(await second)], [[3, 3, 3], [5, 5, 5]]);
  t.match(metrics(), { batches: 1, meanBatch: 2 }, 'they ran together when the first had waited 50 ms');

  const third = runner.run({ X: x(0, 0, 0) });
  await tick();
  clock.advance(49);
  await tick();
  t.equal(metrics().queued, 1, 'not yet at 49 ms');
  clock.advance(1);
  t.same(values(await third), [1, 1, 1], 'alone at 50 ms');
  t.equal(metrics().batches, 2);
});

t.test('a full queue answers overloaded, naming the model and the queue length', async (t) => {
  const dir = t.testdir();
  const engine = engineFor(t);
  const runner = await engine.load(card({ maxBatch: 1, maxQueue: 2, concurrency: 1 }), { model: await affineModel(dir, [3]) });
  const runs = [1, 2, 3].map((v) => runner.run({ X: x(v, v, v) }));
  await t.rejects(runs[2]!, {
    code: 'LOUPE_ERR_OVERLOADED',
    status: 503,
    retryable: true,
    message: /affine.*2 requests are already waiting/,
    details: { model: 'affine', queued: 2, maxQueue: 2 },
  });
  t.same((await Promise.all(runs.slice(0, 2))).map(values), [[3, 3, 3], [5, 5, 5]], 'those already queued still run');
  t.match(engine.metrics().affine, { requests: 3, errors: 1, overloaded: 1, batches: 2 });
});

t.test('failed runs and malformed inputs are counted as errors; aborted waits are not', async (t) => {
  const dir = t.testdir();
  const engine = engineFor(t);
  const runner = await engine.load(card({ maxBatch: 4, maxWaitMs: 0 }), { model: await affineModel(dir, [3]) });
  await t.rejects(runner.run({ X: { data: Int32Array.from([1, 2, 3]), dims: [3] } }), { code: 'LOUPE_ERR_INFERENCE' }, 'int32 into a float model');
  await t.rejects(runner.run({ X: { data: new Float32Array(6), dims: [2, 3] } }), { code: 'LOUPE_ERR_INFERENCE' });
  await t.rejects(runner.run({ X: x(1, 2, 3) }, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  const controller = new AbortController();
  const waiting = runner.run({ X: x(1, 2, 3) }, { signal: controller.signal });
  controller.abort();
  await t.rejects(waiting, { name: 'AbortError' }, 'a request aborted while it waits leaves the queue');
  t.same(values(await runner.run({ X: x(1, 2, 3) })), [3, 5, 7], 'the model still answers');
  t.match(engine.metrics().affine, { requests: 5, errors: 2, queued: 0 });
});

t.test('warm-up runs once, at load unless turned off, and shows in readiness', async (t) => {
  const dir = t.testdir();
  const log = collectingLogger();
  const engine = engineFor(t, { log });
  const path = await affineModel(dir, [3]);
  const runner = await engine.load(card(undefined), { model: path });
  await runner.warmUp();
  t.equal(log.infos.filter((m) => /warmed up/.test(m)).length, 1, 'one warm-up run');
  t.ok(log.infos.some((m) => /model affine 1 runs on cpu/.test(m)), 'the provider in use is logged');
  t.match(engine.readiness(), { requested: 'cpu', provider: 'cpu', ready: true, models: [{ id: 'affine', version: '1', provider: 'cpu', state: 'ready', warmUpMs: Number }] });
  t.match(engine.metrics().affine, { requests: 0, batches: 0 }, 'warm-up is not a request');
  t.same(runner.limits, { maxBatch: 8, maxWaitMs: 5, maxQueue: 256, concurrency: 1 }, 'defaults where the card says nothing');

  const cold = await engine.load({ ...card(undefined), id: 'cold' }, { model: path }, { warmUp: false });
  t.notOk(engine.readiness().models.find((m) => m.id === 'cold')!.warmUpMs, 'not warmed up');
  await Promise.all([cold.warmUp(), cold.warmUp()]);
  t.equal(log.infos.filter((m) => /warmed up/.test(m)).length, 2, 'one more warm-up for the cold model, however often asked');

  const again = await engine.load(card(undefined), { model: path });
  t.equal(again, runner, 'loading the same card again shares the runner');
  await again.close();
  t.same(values(await runner.run({ X: x(0, 0, 0) })), [1, 1, 1], 'still open for the first load');
  await runner.close();
  await t.rejects(runner.run({ X: x(0, 0, 0) }), { code: 'LOUPE_ERR_SHUTTING_DOWN' });
  t.same(engine.readiness().models.map((m) => m.id), ['cold']);
});

t.test('asking for CUDA where it cannot start runs on the CPU and says why', async (t) => {
  const dir = t.testdir();
  const log = collectingLogger();
  const engine = createEngine({ executionProvider: 'cuda', intraOpNumThreads: 1, log });
  t.teardown(() => engine.close());
  const runner = await engine.load(card(undefined), { model: await affineModel(dir, [3]) });
  const readiness = engine.readiness();
  if (runner.provider === 'cuda') {
    t.match(readiness, { requested: 'cuda', provider: 'cuda' }, 'this machine has CUDA');
    return;
  }
  t.match(readiness, {
    requested: 'cuda',
    provider: 'cpu',
    fallbackReason: /CUDA/,
    models: [{ id: 'affine', provider: 'cpu', fallbackReason: /CUDA/, state: 'ready' }],
  });
  t.equal(log.warnings.length, 1, 'one warning, not one per model');
  t.match(log.warnings[0], /CUDA/);
  t.same(values(await runner.run({ X: x(1, 2, 3) })), [3, 5, 7]);
});

t.test('load failures name the model; close drains what is queued and refuses more', async (t) => {
  const dir = t.testdir({ 'broken.onnx': 'not a protobuf' });
  const engine = createEngine({ executionProvider: 'cpu', intraOpNumThreads: 1 });
  await t.rejects(engine.load(card(undefined), { keys: join(dir, 'x.txt') }), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /role model/ });
  await t.rejects(engine.load(card(undefined), { model: join(dir, 'broken.onnx') }), { code: 'LOUPE_ERR_MODEL_LOAD' });
  t.match(engine.readiness(), { ready: false, models: [{ id: 'affine', state: 'failed', error: /broken\.onnx/ }] });

  const runner = await engine.load(card({ maxBatch: 2, maxWaitMs: 10_000 }), { model: await affineModel(dir, [3]) });
  t.equal(engine.readiness().ready, true, 'a good load replaces the failed one');
  const queued = runner.run({ X: x(1, 1, 1) });
  await engine.close();
  t.same(values(await queued), [3, 3, 3], 'close ran the waiting request without waiting for company');
  await t.rejects(runner.run({ X: x(1, 1, 1) }), { code: 'LOUPE_ERR_SHUTTING_DOWN' });
  await t.rejects(engine.load(card(undefined), { model: join(dir, 'x.onnx') }), { code: 'LOUPE_ERR_SHUTTING_DOWN' });
});
