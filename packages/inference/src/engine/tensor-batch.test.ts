import t from 'tap';
import { batchKey, concatBatch, splitBatch } from './tensor-batch.js';

const f32 = (...v: number[]) => Float32Array.from(v);

t.test('concatBatch stacks along dim 0 and pads the named axes to the largest', async (t) => {
  const a = { data: f32(1, 2, 3, 4), dims: [1, 2, 2] };
  const b = { data: f32(5, 6, 7, 8, 9, 10), dims: [1, 2, 3] };
  const joined = concatBatch([a, b], { axes: [2], value: -1 });
  t.same(joined.dims, [2, 2, 3]);
  t.same(Array.from(joined.data as Float32Array), [1, 2, -1, 3, 4, -1, 5, 6, 7, 8, 9, 10], 'rows of a padded with -1 on the right');

  const plain = concatBatch([{ data: f32(1, 2), dims: [1, 2] }, { data: f32(3, 4, 5, 6), dims: [2, 2] }]);
  t.same([plain.dims, Array.from(plain.data as Float32Array)], [[3, 2], [1, 2, 3, 4, 5, 6]]);
  t.equal(concatBatch([a]), a, 'one item is passed through, not copied');

  const ids = concatBatch([{ data: BigInt64Array.from([1n]), dims: [1, 1] }, { data: BigInt64Array.from([2n, 3n]), dims: [1, 2] }], { axes: [1] });
  t.same(Array.from(ids.data as BigInt64Array), [1n, 0n, 2n, 3n], 'int64 token ids pad with 0');
  t.equal(ids.type, 'int64');
});

t.test('batchKey separates shapes and types, and ignores the batch and padded axes', async (t) => {
  const key = (dims: number[], data: Float32Array | Int32Array = new Float32Array(dims.reduce((a, b) => a * b, 1))) => batchKey({ x: { data, dims } }, { x: { axes: [2] } });
  t.equal(key([1, 3, 4]), key([2, 3, 9]));
  t.not(key([1, 3, 4]), key([1, 2, 4]));
  t.not(key([1, 3, 4]), key([1, 3, 4], new Int32Array(12)));
});

t.test('splitBatch gives each request its rows, squeezed where it came without a batch dimension', async (t) => {
  const out = { data: f32(1, 2, 3, 4, 5, 6), dims: [3, 2] };
  const parts = splitBatch('y', out, [1, 2], [true, false]);
  t.same(parts.map((p) => [p.dims, Array.from(p.data as Float32Array)]), [[[2], [1, 2]], [[2, 2], [3, 4, 5, 6]]]);
  t.throws(() => splitBatch('y', { data: f32(1), dims: [1] }, [1, 1], [true, true]), { code: 'LOUPE_ERR_INFERENCE', message: /y.*cannot be split/ });
});
