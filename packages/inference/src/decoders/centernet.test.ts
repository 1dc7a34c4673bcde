import t from 'tap';
import { resizeTo, toInputTensor, type RawImage } from '../image-ops.js';
import { COCO_LABELS } from '../coco.js';
import { CENTERNET_INPUT, CENTERNET_OUTPUT, decodeCenterNet, detectCenterNet } from './centernet.js';
import { cardFeedsAsTested, flatImage, humanModel, nothingInEmptyPictures, personsInFixturePhotographs } from './detectors.test-support.js';
import { placeBox } from './yolo.js';

/** [1, K, 6] from rows of x1, y1, x2, y2, score, class, padded to 100 rows of zeros as the graph's TopK gives. */
function detections(rows: readonly (readonly number[])[]): { data: Float32Array; dims: number[] } {
  const data = new Float32Array(100 * 6);
  rows.forEach((r, k) => data.set(r, k * 6));
  return { data, dims: [1, 100, 6] };
}

t.test('COCO labels: the 80 contiguous classes in their usual order', async (t) => {
  t.equal(COCO_LABELS.length, 80);
  t.same([COCO_LABELS[0], COCO_LABELS[16], COCO_LABELS[27], COCO_LABELS[61], COCO_LABELS[79]], ['person', 'dog', 'tie', 'toilet', 'toothbrush']);
  t.ok(Object.isFrozen(COCO_LABELS));
});

t.test('rows become boxes: threshold, class-wise suppression, labels, worked by hand', async (t) => {
  // IoU(0, 1) = (98 * 198) / (100 * 200 * 2 - 98 * 198) = 19404 / 20596 = 0.94; box 3 is box 0 again but a dog.
  const out = detections([
    [10, 20, 110, 220, 0.9, 0], // 0: person
    [12, 22, 112, 222, 0.5, 0], // 1: the same person from the next cell
    [300, 300, 400, 350, 0.45, 2], // 2: a car
    [10, 20, 110, 220, 0.4, 16], // 3: where the person is, as a dog
    [50, 50, 60, 60, 0.29, 0], // 4: under the default 0.3
    [0, 0, 10, 10, 0.8, Number.NaN], // 5: no class, no detection
  ]);
  const dets = decodeCenterNet(out);
  t.same(
    dets.map((d) => [d.label, d.classIndex, Number(d.score.toFixed(2)), d.box]),
    [
      ['person', 0, 0.9, { x: 10, y: 20, w: 100, h: 200 }],
      ['car', 2, 0.45, { x: 300, y: 300, w: 100, h: 50 }],
      ['dog', 16, 0.4, { x: 10, y: 20, w: 100, h: 200 }],
    ],
  );
  t.same(
    decodeCenterNet(out, {}, { classAgnostic: true }).map((d) => d.label),
    ['person', 'car'],
    'across classes the dog goes with the person',
  );
  t.same(
    decodeCenterNet(out, {}, { iouThreshold: 0.95, minScore: 0.2 }).map((d) => d.score.toFixed(2)),
    ['0.90', '0.50', '0.45', '0.40', '0.29'],
    'a looser IoU keeps the duplicate; a lower threshold lets the weak row in',
  );
  t.same(decodeCenterNet(out, {}, { maxDetections: 1 }).length, 1);
  t.same(decodeCenterNet(out, {}, { labels: ['a', 'b', 'c'] })[1]?.label, 'c');
  t.same(decodeCenterNet({ data: out.data.slice(0, 12), dims: [2, 6] }).length, 1, 'a [K, 6] output without its batch dimension');
  t.throws(() => decodeCenterNet({ data: new Float32Array(12), dims: [1, 2, 5] }), { code: 'LOUPE_ERR_MODEL_LOAD' });
  t.throws(() => decodeCenterNet({ data: new Float32Array(24), dims: [2, 2, 6] }), { code: 'LOUPE_ERR_MODEL_LOAD' }, 'one image at a time');
});

t.test('boxes map back through the letterbox to image pixels, clamped; padding-only boxes go', async (t) => {
  // 1024 x 512 letterboxed into 512 x 512: scale 2, 128 rows of padding above and below (256 image rows).
  const { transform } = await resizeTo({ data: new Uint8Array(1024 * 512 * 3), width: 1024, height: 512 }, { width: 512, height: 512, mode: 'letterbox' });
  t.same(transform, { scaleX: 2, scaleY: 2, offsetX: 0, offsetY: -256 });
  const frame = { transform, width: 1024, height: 512 };
  const dets = decodeCenterNet(
    detections([
      [100, 178, 200, 228, 0.9, 0], // image x 200-400, y 100-200
      [400, 300, 530, 400, 0.8, 2], // runs off the right edge: x 800-1060 -> 800-1024
      [10, 10, 60, 100, 0.7, 0], // y 10-100: wholly in the top padding
      [-6, 120, 20, 140, 0.6, 5], // x from -12, y from -16: clamped to 0
    ]),
    frame,
  );
  t.same(
    dets.map((d) => [d.label, d.box]),
    [
      ['person', { x: 200, y: 100, w: 200, h: 100 }],
      ['car', { x: 800, y: 344, w: 224, h: 168 }],
      ['bus', { x: 0, y: 0, w: 40, h: 24 }],
    ],
  );
  t.same(placeBox(frame, { x1: 0, y1: 0, x2: 512, y2: 128 }), undefined);
});

cardFeedsAsTested(t, 'centernet-coco', CENTERNET_INPUT);

t.test('the input spec is what toInputTensor needs for this graph', async (t) => {
  const raw: RawImage = flatImage(4, 2, [10, 20, 30]);
  const input = await toInputTensor(raw, CENTERNET_INPUT);
  t.same(input.tensor.dims, [1, 512, 512, 3]);
  // Bytes as they are, RGB interleaved; the letterbox pads black above and below.
  const mid = (256 * 512 + 256) * 3;
  t.same([...(input.tensor.data as Float32Array).slice(mid, mid + 3)], [10, 20, 30]);
  t.same([...(input.tensor.data as Float32Array).slice(0, 3)], [0, 0, 0]);
});

t.test('the real CenterNet (human-models, converted to ONNX)', async (t) => {
  const model = await humanModel(t, 'centernet');
  t.ok(model.outputNames.includes(CENTERNET_OUTPUT));
  const detect = async (raw: RawImage, minScore?: number) => {
    const input = await toInputTensor(raw, CENTERNET_INPUT);
    return detectCenterNet(model.run, input.tensor, { transform: input.transform, width: raw.width, height: raw.height }, minScore === undefined ? {} : { minScore });
  };

  nothingInEmptyPictures(t, detect);

  personsInFixturePhotographs(t, {
    name: 'centernet',
    input: CENTERNET_INPUT,
    detect,
    runOn: (image) => detectCenterNet(model.run, image, {}),
    minScore: 0.3,
    confident: 0.5,
  });
});
