import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { buildOnnxModel, writeOnnxModel } from './onnx-builder.js';

const open = (bytes: Uint8Array) => ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });

t.test('Y = X @ W + B runs in onnxruntime with any batch size', async (t) => {
  const session = await open(
    buildOnnxModel({
      inputs: [{ name: 'X', type: 'float32', dims: ['batch', 2] }],
      outputs: [{ name: 'Y', type: 'float32', dims: ['batch', 3] }],
      initializers: [
        { name: 'W', type: 'float32', dims: [2, 3], values: [1, 2, 3, 4, 5, 6] },
        { name: 'B', type: 'float32', dims: [3], values: [0.5, 0.5, 0.5] },
      ],
      nodes: [
        { op: 'MatMul', inputs: ['X', 'W'], outputs: ['XW'] },
        { op: 'Add', inputs: ['XW', 'B'], outputs: ['Y'] },
      ],
    }),
  );
  t.teardown(() => session.release());
  t.same(session.inputNames, ['X']);
  t.same(session.outputNames, ['Y']);
  const meta = session.inputMetadata[0];
  t.same(meta?.isTensor && meta.shape, ['batch', 2], 'the symbolic batch dimension is kept');

  for (const batch of [1, 3]) {
    const x = new Float32Array(batch * 2).map((_, i) => i);
    const { Y } = await session.run({ X: new ort.Tensor('float32', x, [batch, 2]) });
    t.same(Y?.dims, [batch, 3]);
    const expected: number[] = [];
    for (let r = 0; r < batch; r++) {
      const [a, b] = [x[r * 2]!, x[r * 2 + 1]!];
      expected.push(a * 1 + b * 4 + 0.5, a * 2 + b * 5 + 0.5, a * 3 + b * 6 + 0.5);
    }
    t.same(Array.from(Y?.data as Float32Array), expected, `batch of ${batch}`);
  }
});

t.test('int64 and bool tensors, typed attributes and Constant values', async (t) => {
  const session = await open(
    buildOnnxModel({
      inputs: [
        { name: 'ids', type: 'int64', dims: ['batch', 'seq'] },
        { name: 'flag', type: 'bool', dims: [1] },
      ],
      outputs: [
        { name: 'rows', type: 'float32', dims: ['batch', 'seq', 2] },
        { name: 'scaled', type: 'float32' },
        { name: 'picked', type: 'float32' },
      ],
      initializers: [{ name: 'table', type: 'float32', dims: [3, 2], values: [0, 1, 10, 11, 20, 21] }],
      nodes: [
        { op: 'Gather', inputs: ['table', 'ids'], outputs: ['rows'], attributes: { axis: 0 } },
        // LeakyRelu's alpha must be a FLOAT attribute: a whole number needs { float }.
        { op: 'Constant', inputs: [], outputs: ['minus'], attributes: { value: { type: 'float32', dims: [2], values: [-4, 2] } } },
        { op: 'LeakyRelu', inputs: ['minus'], outputs: ['scaled'], attributes: { alpha: { float: 2 } } },
        { op: 'Constant', inputs: [], outputs: ['yes'], attributes: { value: { type: 'float32', dims: [1], values: [1] } } },
        { op: 'Constant', inputs: [], outputs: ['no'], attributes: { value: { type: 'float32', dims: [1], values: [0] } } },
        { op: 'Where', inputs: ['flag', 'yes', 'no'], outputs: ['picked'] },
      ],
    }),
  );
  t.teardown(() => session.release());
  const out = await session.run({
    ids: new ort.Tensor('int64', BigInt64Array.from([2n, 0n]), [1, 2]),
    flag: new ort.Tensor('bool', Uint8Array.from([1]), [1]),
  });
  t.same(out.rows?.dims, [1, 2, 2]);
  t.same(Array.from(out.rows?.data as Float32Array), [20, 21, 0, 1]);
  t.same(Array.from(out.scaled?.data as Float32Array), [-8, 2]);
  t.same(Array.from(out.picked?.data as Float32Array), [1]);
});

t.test('If takes subgraph attributes that read outer values', async (t) => {
  const session = await open(
    buildOnnxModel({
      inputs: [
        { name: 'cond', type: 'bool', dims: [1] },
        { name: 'x', type: 'float32', dims: ['n'] },
      ],
      outputs: [{ name: 'y', type: 'float32', dims: ['n'] }],
      nodes: [
        {
          op: 'If',
          inputs: ['cond'],
          outputs: ['y'],
          attributes: {
            then_branch: { graph: { inputs: [], outputs: [{ name: 'doubled', type: 'float32' }], nodes: [{ op: 'Add', inputs: ['x', 'x'], outputs: ['doubled'] }] } },
            else_branch: { graph: { inputs: [], outputs: [{ name: 'negated', type: 'float32' }], nodes: [{ op: 'Neg', inputs: ['x'], outputs: ['negated'] }] } },
          },
        },
      ],
    }),
  );
  t.teardown(() => session.release());
  const x = new ort.Tensor('float32', Float32Array.from([1, 2]), [2]);
  const run = async (c: number) => Array.from((await session.run({ cond: new ort.Tensor('bool', Uint8Array.from([c]), [1]), x })).y?.data as Float32Array);
  t.same(await run(1), [2, 4]);
  t.same(await run(0), [-1, -2]);
});

t.test('a tensor whose values do not fill its dims is refused before serialising', async (t) => {
  t.throws(
    () =>
      buildOnnxModel({
        inputs: [],
        outputs: [{ name: 'W', type: 'float32' }],
        initializers: [{ name: 'W', type: 'float32', dims: [2, 2], values: [1, 2, 3] }],
        nodes: [],
      }),
    { name: 'RangeError', message: /W has 3 values for dims \[2, 2\]/ },
  );
});

t.test('writeOnnxModel leaves a file onnxruntime opens by path', async (t) => {
  const dir = t.testdir();
  const path = await writeOnnxModel(join(dir, 'neg.onnx'), {
    inputs: [{ name: 'x', type: 'float32', dims: [2] }],
    outputs: [{ name: 'y', type: 'float32', dims: [2] }],
    nodes: [{ op: 'Neg', inputs: ['x'], outputs: ['y'] }],
  });
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  t.teardown(() => session.release());
  const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, -2]), [2]) });
  t.same(Array.from(y?.data as Float32Array), [-1, 2]);
});
