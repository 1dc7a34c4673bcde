import t from 'tap';
import { decodeWeight, halfToFloat } from './tfjs-model.js';

t.test('float16 decodes normals, subnormals, zero signs and specials', async (t) => {
  t.equal(halfToFloat(0x3c00), 1);
  t.equal(halfToFloat(0xc000), -2);
  t.equal(halfToFloat(0x3555), 0.333251953125);
  t.equal(halfToFloat(0x0001), 2 ** -24);
  t.equal(halfToFloat(0x7bff), 65504);
  t.equal(halfToFloat(0x7c00), Infinity);
  t.ok(Number.isNaN(halfToFloat(0x7e00)));
  t.ok(Object.is(halfToFloat(0x8000), -0));
});

t.test('weights decode at their offset: affine uint8/uint16 to float32, float16, int32 kept', async (t) => {
  const buf = new Uint8Array([9, 0, 2, 255, /* uint16 */ 1, 0, 0, 1, /* f16 1.5 */ 0x00, 0x3e, /* int32 -3 */ 0xfd, 0xff, 0xff, 0xff]);
  const u8 = decodeWeight({ name: 'a', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', min: -1, scale: 0.5 } }, buf, 1);
  t.equal(u8.bytes, 3);
  t.same(Array.from(u8.tensor.data), [-1, 0, 126.5]);
  const u16 = decodeWeight({ name: 'b', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', min: 0, scale: 2 } }, buf, 4);
  t.same(Array.from(u16.tensor.data), [2, 512]);
  const f16 = decodeWeight({ name: 'c', shape: [], dtype: 'float32', quantization: { dtype: 'float16' } }, buf, 8);
  t.same(Array.from(f16.tensor.data), [1.5]);
  t.equal(f16.tensor.dtype, 'float32');
  const i32 = decodeWeight({ name: 'd', shape: [1], dtype: 'int32' }, buf, 10);
  t.equal(i32.tensor.dtype, 'int32');
  t.same(Array.from(i32.tensor.data), [-3]);
  const q = decodeWeight({ name: 'e', shape: [2], dtype: 'int32', quantization: { dtype: 'uint8', min: -2, scale: 1 } }, buf, 1);
  t.equal(q.tensor.dtype, 'int32');
  t.same(Array.from(q.tensor.data), [-2, 0]);
});
