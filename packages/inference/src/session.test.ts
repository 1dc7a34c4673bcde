import { join } from 'node:path';
import t from 'tap';
import { resolveBuiltinFile } from './builtin-models.js';
import { toInputTensor } from './image-ops.js';
import { floatOutput, loadSession, type InferenceLogger } from './session.js';

const CLS = resolveBuiltinFile('assets/ch_ppocr_mobile_v2.0_cls_infer.onnx');
const blank = (n = 1) => ({ data: new Float32Array(n * 3 * 48 * 192), dims: [n, 3, 48, 192] });

t.test('a session runs and reports its provider and names', async (t) => {
  const session = await loadSession(CLS, { intraOpNumThreads: 1 });
  t.teardown(() => session.close());
  t.equal(session.provider, 'cpu');
  t.equal(session.fallbackReason, undefined);
  t.same(session.inputNames, ['x']);
  t.match(session.inputs, [{ name: 'x', type: 'float32', shape: [String, 3, String, String] }], 'dynamic dimensions by name');
  const out = await session.run({ x: blank(2) });
  const probs = floatOutput(out, session.outputNames[0]!, 'the classifier');
  t.same(probs.dims, [2, 2]);
  t.ok(Math.abs(probs.data[0]! + probs.data[1]! - 1) < 1e-4, 'two orientation probabilities summing to 1');
});

t.test("a run copies the caller's feeds and hands over those toInputTensor made", async (t) => {
  const session = await loadSession(CLS, { intraOpNumThreads: 1 });
  t.teardown(() => session.close());
  const own = blank();
  await session.run({ x: own });
  t.equal(own.data.length, 3 * 48 * 192, "the caller's array is copied: still there to reuse");
  const { tensor } = await toInputTensor({ width: 192, height: 48, data: new Uint8Array(192 * 48 * 3).fill(200) }, { width: 192, height: 48 });
  const out = await session.run({ x: tensor });
  t.same(floatOutput(out, session.outputNames[0]!, 'the classifier').dims, [1, 2]);
  t.equal(tensor.data.length, 0, 'the made tensor went to the inference thread uncopied');
});

t.test('concurrent runs queue behind each other and all complete', async (t) => {
  const session = await loadSession(CLS, { intraOpNumThreads: 1 });
  t.teardown(() => session.close());
  const runs = [session.run({ x: blank() }), session.run({ x: blank() }), session.run({ x: blank() })];
  t.equal(session.pending, 3, 'three runs waiting or running');
  const results = await Promise.all(runs);
  t.equal(results.length, 3);
  t.equal(session.pending, 0);

  const aborted = AbortSignal.abort();
  const first = session.run({ x: blank() });
  await t.rejects(session.run({ x: blank() }, { signal: aborted }), { name: 'AbortError' }, 'a cancelled run leaves the queue without running');
  await first;
  await t.rejects(session.run({ x: { data: new Float32Array(3), dims: [1, 3, 1, 1, 1] } }), { code: 'LOUPE_ERR_INFERENCE' }, 'a bad input is an inference error');
  t.ok((await session.run({ x: blank() }))[session.outputNames[0]!], 'the queue keeps going after a failure');
});

t.test('asking for CUDA where it cannot start falls back to the CPU and says why', async (t) => {
  const warnings: string[] = [];
  const logger: InferenceLogger = { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details)}`) };
  const session = await loadSession(CLS, { executionProvider: 'cuda', intraOpNumThreads: 1, logger });
  t.teardown(() => session.close());
  if (session.provider === 'cuda') {
    t.equal(session.fallbackReason, undefined, 'this machine has CUDA');
    return;
  }
  t.equal(session.provider, 'cpu');
  t.match(session.fallbackReason, /CUDA/);
  t.equal(warnings.length, 1);
  t.match(warnings[0], /falling back to CPU/);
  t.ok(await session.run({ x: blank() }));
});

t.test('missing and corrupt model files fail with model codes', async (t) => {
  const dir = t.testdir({ 'broken.onnx': 'this is not a protobuf' });
  await t.rejects(loadSession(join(dir, 'absent.onnx')), { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /absent\.onnx/ });
  await t.rejects(loadSession(join(dir, 'broken.onnx')), { code: 'LOUPE_ERR_MODEL_LOAD', message: /broken\.onnx/ });
  const closed = await loadSession(CLS, { intraOpNumThreads: 1 });
  await closed.close();
  await t.rejects(closed.run({ x: blank() }), { code: 'LOUPE_ERR_SHUTTING_DOWN' });
});
