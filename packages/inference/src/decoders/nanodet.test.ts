import t from 'tap';
import { resizeTo, toInputTensor, type RawImage } from '../image-ops.js';
import { cardFeedsAsTested, flatImage, humanModel, nothingInEmptyPictures, personsInFixturePhotographs } from './detectors.test-support.js';
import { decodeNanoDet, detectNanoDet, distances, NANODET_INPUT } from './nanodet.js';

const BINS = 11;
const CLASSES = 80;
/** Grid side per stride at 416 x 416. */
const GRID = { 8: 52, 16: 26, 32: 13 } as const;
type Stride = keyof typeof GRID;

/** Logits for one side whose softmax puts `weights` (summing to 1) on the given bins and nothing elsewhere. */
function side(weights: Record<number, number>): number[] {
  return Array.from({ length: BINS }, (_, i) => (weights[i] === undefined ? -1000 : Math.log(weights[i]!)));
}

/** The six head outputs of an empty 416 x 416 image, named as the converted graph names them, and a way to plant a cell. */
function heads() {
  const names = { 8: ['Identity', 'Identity_3'], 16: ['Identity_1', 'Identity_4'], 32: ['Identity_2', 'Identity_5'] } as const;
  const out: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const s of [8, 16, 32] as const) {
    const cells = GRID[s] ** 2;
    out[names[s][0]] = { data: new Float32Array(cells * CLASSES), dims: [1, cells, CLASSES] };
    // Every side's distribution defaults to all mass on bin 0.
    const boxes = new Float32Array(cells * 4 * BINS);
    for (let k = 0; k < cells * 4; k++) boxes.set(side({ 0: 1 }), k * BINS);
    out[names[s][1]] = { data: boxes, dims: [1, cells, 4 * BINS] };
  }
  const plant = (stride: Stride, row: number, col: number, scores: Record<number, number>, sides: number[][]) => {
    const k = row * GRID[stride] + col;
    for (const [c, v] of Object.entries(scores)) out[names[stride][0]]!.data[k * CLASSES + Number(c)] = v;
    sides.forEach((logits, i) => out[names[stride][1]]!.data.set(logits, (k * 4 + i) * BINS));
  };
  return { out, plant };
}

t.test('a side distance is the mean of the softmax over the bins', async (t) => {
  const logits = Float32Array.from([...side({ 2: 0.25, 5: 0.75 }), ...side({ 3: 1 }), ...Array(BINS).fill(0), ...side({ 0: 0.5, 10: 0.5 })]);
  const [a, b, c, d] = distances(logits, 0, BINS);
  t.equal(a.toFixed(6), (2 * 0.25 + 5 * 0.75).toFixed(6), '4.25');
  t.equal(b, 3);
  t.equal(c.toFixed(6), '5.000000', 'flat logits: the middle of 0..10');
  t.equal(d.toFixed(6), '5.000000');
});

/** Boxes rounded to 1e-4 px: float32 logits put the mean a few 1e-7 strides off the exact value. */
const rounded = (b: { x: number; y: number; w: number; h: number }) => ({ x: +b.x.toFixed(4), y: +b.y.toFixed(4), w: +b.w.toFixed(4), h: +b.h.toFixed(4) });

t.test('one planted cell per stride becomes its box, worked by hand', async (t) => {
  const { out, plant } = heads();
  // Stride 16, row 5, column 7: centre (7.5 * 16, 5.5 * 16) = (120, 88).
  // Distances in strides 2, 3, 4 and 4.25: 32, 48, 64, 68 pixels -> x 88-184, y 40-156.
  plant(16, 5, 7, { 0: 0.9, 16: 0.5 }, [side({ 2: 1 }), side({ 3: 1 }), side({ 4: 1 }), side({ 2: 0.25, 5: 0.75 })]);
  // Stride 32, row 12, column 0: centre (16, 400); 1 stride each way -> x -16-48, y 368-432 (past the 416 input: no frame, no clamp there).
  plant(32, 12, 0, { 2: 0.6 }, [side({ 1: 1 }), side({ 1: 1 }), side({ 1: 1 }), side({ 1: 1 })]);
  // Stride 8, row 0, column 51: centre (412, 4); left 1 stride, bottom 1 -> x 404-412, y 4-12; a cat too weak for the default 0.4.
  plant(8, 0, 51, { 15: 0.39 }, [side({ 1: 1 }), side({ 0: 1 }), side({ 0: 1 }), side({ 1: 1 })]);

  const dets = decodeNanoDet(out);
  t.same(
    dets.map((d) => [d.label, Number(d.score.toFixed(2)), rounded(d.box)]),
    [
      ['person', 0.9, { x: 88, y: 40, w: 96, h: 116 }],
      ['car', 0.6, { x: 0, y: 368, w: 48, h: 64 }],
      ['dog', 0.5, { x: 88, y: 40, w: 96, h: 116 }],
    ],
    'each class over the threshold is a box of its own (the dog stays: suppression is per class); negative x is clamped to 0',
  );
  t.same(
    decodeNanoDet(out, {}, { minScore: 0.3 }).map((d) => [d.label, rounded(d.box)]),
    [
      ['person', { x: 88, y: 40, w: 96, h: 116 }],
      ['car', { x: 0, y: 368, w: 48, h: 64 }],
      ['dog', { x: 88, y: 40, w: 96, h: 116 }],
      ['cat', { x: 404, y: 4, w: 8, h: 8 }],
    ],
    'a lower threshold lets the cat in',
  );
  t.same(decodeNanoDet(out, {}, { classAgnostic: true }).map((d) => d.label), ['person', 'car'], 'across classes the dog goes');
  t.same(decodeNanoDet(out, {}, { maxDetections: 1 }).map((d) => d.label), ['person']);
  t.same(decodeNanoDet(Object.values(out).reverse()), dets, 'the heads are found by shape, in any order');
});

t.test('suppression of one object seen by neighbouring cells', async (t) => {
  const { out, plant } = heads();
  // Stride 8. Cell (10, 10), centre (84, 84), 2 strides each way: x 68-100, y 68-100.
  plant(8, 10, 10, { 0: 0.8 }, [side({ 2: 1 }), side({ 2: 1 }), side({ 2: 1 }), side({ 2: 1 })]);
  // Cell (10, 11), centre (92, 84), left 3 and right 1: the same box, less sure.
  plant(8, 10, 11, { 0: 0.7 }, [side({ 3: 1 }), side({ 2: 1 }), side({ 1: 1 }), side({ 2: 1 })]);
  // Cell (10, 13), centre (108, 84): x 92-124, IoU with the first (8 x 32) / (2 x 1024 - 256) = 0.14.
  plant(8, 10, 13, { 0: 0.6 }, [side({ 2: 1 }), side({ 2: 1 }), side({ 2: 1 }), side({ 2: 1 })]);
  t.same(
    decodeNanoDet(out).map((d) => [d.score.toFixed(1), d.box]),
    [
      ['0.8', { x: 68, y: 68, w: 32, h: 32 }],
      ['0.6', { x: 92, y: 68, w: 32, h: 32 }],
    ],
  );
});

t.test('letterbox frame and malformed heads', async (t) => {
  // 832 x 416 letterboxed into 416 x 416: scale 2, 104 rows of padding above and below.
  const { transform } = await resizeTo({ data: new Uint8Array(832 * 416 * 3), width: 832, height: 416 }, { width: 416, height: 416, mode: 'letterbox' });
  t.same(transform, { scaleX: 2, scaleY: 2, offsetX: 0, offsetY: -208 });
  const { out, plant } = heads();
  plant(16, 5, 7, { 0: 0.9 }, [side({ 2: 1 }), side({ 3: 1 }), side({ 4: 1 }), side({ 2: 0.25, 5: 0.75 })]); // x 88-184, y 40-156
  const [det] = decodeNanoDet(out, { transform, width: 832, height: 416 });
  t.same(rounded(det!.box), { x: 176, y: 0, w: 192, h: 104 }, 'y 40-156 -> -128 (clamped to 0) - 104');

  const { Identity_4: _dropped, ...missing } = out;
  t.throws(() => decodeNanoDet(missing), { code: 'LOUPE_ERR_MODEL_LOAD' }, 'a stride without its box head');
  t.throws(() => decodeNanoDet({ ...out, extra: { data: new Float32Array(7 * 3), dims: [1, 7, 3] } }), { code: 'LOUPE_ERR_MODEL_LOAD' });
  t.throws(() => decodeNanoDet(out, {}, { inputWidth: 320, inputHeight: 320 }), { code: 'LOUPE_ERR_MODEL_LOAD' }, '2704 cells fit no stride at 320');
});

cardFeedsAsTested(t, 'nanodet-coco', NANODET_INPUT);

t.test('the input spec is what toInputTensor needs for this graph', async (t) => {
  const raw: RawImage = flatImage(2, 2, [123.675, 116.28, 103.53].map(Math.round) as [number, number, number]);
  const input = await toInputTensor(raw, NANODET_INPUT);
  t.same(input.tensor.dims, [1, 3, 416, 416]);
  const plane = 416 * 416;
  const data = input.tensor.data as Float32Array;
  // BGR planes, ImageNet mean and std in that order: the mean colour is close to 0 in each plane.
  t.same([data[0], data[plane], data[2 * plane]].map((v) => Math.abs(v!) < 0.01), [true, true, true]);
});

t.test('the real NanoDet (human-models, converted to ONNX)', async (t) => {
  const model = await humanModel(t, 'nanodet');
  t.equal(model.outputNames.length, 6);
  const detect = async (raw: RawImage, minScore?: number) => {
    const input = await toInputTensor(raw, NANODET_INPUT);
    return detectNanoDet(model.run, input.tensor, { transform: input.transform, width: raw.width, height: raw.height }, minScore === undefined ? {} : { minScore });
  };

  nothingInEmptyPictures(t, detect);

  personsInFixturePhotographs(t, {
    name: 'nanodet',
    input: NANODET_INPUT,
    detect,
    runOn: (image) => detectNanoDet(model.run, image, {}),
    minScore: 0.4,
    confident: 0.6,
  });
});
