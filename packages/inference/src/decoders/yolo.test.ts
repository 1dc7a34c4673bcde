import { join } from 'node:path';
import { writeOnnxModel } from '@loupe/testing';
import t from 'tap';
import { resizeTo } from '../image-ops.js';
import { loadSession } from '../session.js';
import { decodeYolo, detectObjects, iou, type Detection } from './yolo.js';

/** [1, 4 + classes, anchors] from rows of (cx, cy, w, h, ...class scores). */
function head(anchors: readonly (readonly number[])[]): { data: Float32Array; dims: number[] } {
  const channels = anchors[0]!.length;
  const data = new Float32Array(channels * anchors.length);
  anchors.forEach((row, k) => row.forEach((v, c) => (data[c * anchors.length + k] = v)));
  return { data, dims: [1, channels, anchors.length] };
}

function transposed(h: { data: Float32Array; dims: number[] }): { data: Float32Array; dims: number[] } {
  const [, c, a] = h.dims as [number, number, number];
  const data = new Float32Array(h.data.length);
  for (let i = 0; i < c; i++) for (let k = 0; k < a; k++) data[k * c + i] = h.data[i * a + k]!;
  return { data, dims: [1, a, c] };
}

// Two classes. Boxes 0-3 overlap: IoU(0,1) = 1400/1800 = 0.778, IoU(0,3) = 1200/2000 = 0.6, IoU(1,3) = 0.778.
const ANCHORS = [
  [50, 50, 40, 40, 0.9, 0.1], // 0: class 0
  [55, 50, 40, 40, 0.8, 0.0], // 1: class 0, the same object as 0
  [55, 50, 40, 40, 0.0, 0.7], // 2: class 1, where 1 is
  [60, 50, 40, 40, 0.6, 0.0], // 3: class 0, less overlap with 0
  [200, 200, 20, 10, 0.1, 0.3], // 4: class 1, alone
  [300, 300, 10, 10, 0.2, 0.1], // 5: too weak
  [400, 300, 10, 10, 0.2499, 0], // 6: just below 0.25
];
const box = (k: number) => {
  const [cx, cy, w, h] = ANCHORS[k]!;
  return { x: cx! - w! / 2, y: cy! - h! / 2, w: w!, h: h! };
};
const picked = (dets: Detection[] | undefined) => (dets ?? []).map((d) => ANCHORS.findIndex((a, k) => Math.fround(a[4 + d.classIndex]!) === d.score && box(k).x === d.box.x));

t.test('IoU of boxes given by corners', async (t) => {
  const a = { x1: 30, y1: 30, x2: 70, y2: 70 };
  t.equal(iou(a, { x1: 35, y1: 30, x2: 75, y2: 70 }), 1400 / 1800);
  t.equal(iou(a, { x1: 70, y1: 30, x2: 110, y2: 70 }), 0, 'touching boxes do not overlap');
  t.equal(iou(a, a), 1);
});

t.test('best class score, threshold and class-wise suppression, worked by hand', async (t) => {
  const out = head(ANCHORS);
  const [dets] = decodeYolo(out);
  t.same(picked(dets), [0, 2, 3, 4], 'box 1 is box 0 again (IoU 0.78 > 0.7); box 2 is another class; box 3 overlaps only 0.6');
  t.same(dets?.[0], { classIndex: 0, score: Math.fround(0.9), box: { x: 30, y: 30, w: 40, h: 40 } });
  t.same(dets?.[3]?.box, { x: 190, y: 195, w: 20, h: 10 });

  t.same(picked(decodeYolo(out, [], { classAgnostic: true })[0]), [0, 3, 4], 'across classes box 2 goes with box 1');
  t.same(picked(decodeYolo(out, [], { iouThreshold: 0.8 })[0]), [0, 1, 2, 3, 4], 'a looser IoU keeps the near-duplicates');
  t.same(picked(decodeYolo(out, [], { maxDetections: 2 })[0]), [0, 2]);
  t.same(picked(decodeYolo(out, [], { minScore: 0.2 })[0]), [0, 2, 3, 4, 6, 5], 'a lower threshold lets the weak boxes in, best first');
  t.same(
    decodeYolo(out, [], { labels: ['cat', 'dog'] })[0]?.map((d) => d.label),
    ['cat', 'dog', 'cat', 'dog'],
  );
});

t.test('the transposed [N, anchors, 4 + C] layout decodes the same', async (t) => {
  const out = head(ANCHORS);
  t.same(decodeYolo(transposed(out)), decodeYolo(out), 'told apart by shape: 7 anchors, 6 channels');
  // Three anchors and six channels: only the class count tells which axis is which.
  const few = head(ANCHORS.slice(0, 3));
  t.same(picked(decodeYolo(few, [], { numClasses: 2 })[0]), [0, 2]);
  t.same(picked(decodeYolo(transposed(few), [], { labels: ['cat', 'dog'] })[0]), [0, 2]);
  t.throws(() => decodeYolo(few, [], { numClasses: 3 }), { code: 'LOUPE_ERR_MODEL_LOAD' });
  t.throws(() => decodeYolo({ data: new Float32Array(5), dims: [1, 5, 2] }), { code: 'LOUPE_ERR_MODEL_LOAD' }, 'data and dims disagree');
});

t.test('boxes map back through the letterbox to image pixels, clamped, and padding-only boxes go', async (t) => {
  // 320 x 240 letterboxed into 640 x 640: scale 2, 80 rows of padding above and below.
  const { transform } = await resizeTo({ data: new Uint8Array(320 * 240 * 3), width: 320, height: 240 }, { width: 640, height: 640, mode: 'letterbox' });
  t.same(transform, { scaleX: 0.5, scaleY: 0.5, offsetX: 0, offsetY: -40 });
  const out = head([
    [320, 320, 100, 50, 0.9, 0], // centre of the image
    [100, 40, 40, 20, 0, 0.95], // y 30-50: in the top padding
    [600, 500, 100, 40, 0, 0.5], // x 550-650 runs past the right edge
  ]);
  const [dets] = decodeYolo(out, [{ transform, width: 320, height: 240 }], { numClasses: 2 });
  t.same(
    dets?.map((d) => d.box),
    [
      { x: 135, y: 107.5, w: 50, h: 25 },
      { x: 275, y: 200, w: 45, h: 20 },
    ],
  );
});

t.test('a generated images -> output0 [N, 84, 8400] model, decoded per image', async (t) => {
  // The model hands back the first 84 x 8400 values of each image as its head, so the test plants detections in the pixels.
  const path = await writeOnnxModel(join(t.testdir(), 'echo-detector.onnx'), {
    inputs: [{ name: 'images', type: 'float32', dims: ['batch', 3, 640, 640] }],
    outputs: [{ name: 'output0', type: 'float32', dims: ['batch', 84, 8400] }],
    initializers: [
      { name: 'starts', type: 'int64', dims: [1], values: [0] },
      { name: 'ends', type: 'int64', dims: [1], values: [84 * 8400] },
      { name: 'axes', type: 'int64', dims: [1], values: [1] },
      { name: 'shape', type: 'int64', dims: [3], values: [-1, 84, 8400] },
    ],
    nodes: [
      { op: 'Flatten', inputs: ['images'], outputs: ['flat'], attributes: { axis: 1 } },
      { op: 'Slice', inputs: ['flat', 'starts', 'ends', 'axes'], outputs: ['head'] },
      { op: 'Reshape', inputs: ['head', 'shape'], outputs: ['output0'] },
    ],
  });
  const session = await loadSession(path, { intraOpNumThreads: 1 });
  t.teardown(() => session.close());

  const perImage = 3 * 640 * 640;
  const images = new Float32Array(2 * perImage);
  const plant = (img: number, anchor: number, [cx, cy, w, h]: number[], cls: number, score: number) => {
    [cx!, cy!, w!, h!].forEach((v, c) => (images[img * perImage + c * 8400 + anchor] = v));
    images[img * perImage + (4 + cls) * 8400 + anchor] = score;
  };
  plant(0, 100, [320, 320, 100, 50], 16, 0.9);
  plant(0, 5000, [325, 320, 100, 50], 16, 0.85); // the same dog again: IoU 4750/5250
  plant(0, 8399, [600, 500, 100, 40], 79, 0.5);
  plant(1, 42, [64, 96, 32, 32], 0, 0.75);

  const labels = Array.from({ length: 80 }, (_, i) => (i === 0 ? 'person' : i === 16 ? 'dog' : i === 79 ? 'toothbrush' : `class ${i}`));
  const transform = { scaleX: 0.5, scaleY: 0.5, offsetX: 0, offsetY: -40 };
  const dets = await detectObjects(
    (feeds) => session.run(feeds),
    { data: images, dims: [2, 3, 640, 640] },
    [{ transform, width: 320, height: 240 }, {}],
    { labels },
  );
  t.same(
    dets[0]?.map((d) => [d.label, Number(d.score.toFixed(2)), d.box]),
    [
      ['dog', 0.9, { x: 135, y: 107.5, w: 50, h: 25 }],
      ['toothbrush', 0.5, { x: 275, y: 200, w: 45, h: 20 }],
    ],
  );
  t.same(dets[1], [{ classIndex: 0, label: 'person', score: 0.75, box: { x: 48, y: 80, w: 32, h: 32 } }], 'no frame: network pixels as they are');
});
