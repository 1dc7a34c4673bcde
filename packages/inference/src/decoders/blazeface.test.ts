import t from 'tap';
import { resizeTo, toInputTensor, type RawImage } from '../image-ops.js';
import { BLAZEFACE_INPUT, BLAZEFACE_KEYPOINTS, blazeFaceAnchors, decodeBlazeFace, detectFaces, type FaceDetection } from './blazeface.js';
import { cardFeedsAsTested, contains, describe, fixtureImage, flatImage, haveFixtures, humanModel, medianMs, NO_FIXTURES, nothingInEmptyPictures } from './detectors.test-support.js';

/** The four outputs of an image with no face (every logit -10), named as the converted graph names them, and a way to plant one anchor. */
function outputs() {
  const out = {
    Identity: { data: new Float32Array(512).fill(-10), dims: [1, 512, 1] },
    Identity_2: { data: new Float32Array(512 * 16), dims: [1, 512, 16] },
    Identity_1: { data: new Float32Array(384).fill(-10), dims: [1, 384, 1] },
    Identity_3: { data: new Float32Array(384 * 16), dims: [1, 384, 16] },
  };
  /** Anchor k of the concatenated order (0-511 the 16 x 16 grid, 512-895 the 8 x 8 one). */
  const plant = (k: number, logit: number, regression: readonly number[]) => {
    const [scores, boxes, i] = k < 512 ? [out.Identity, out.Identity_2, k] : [out.Identity_1, out.Identity_3, k - 512];
    scores.data[i] = logit;
    boxes.data.set(regression, i * 16);
  };
  return { out, plant };
}

t.test('896 anchors at cell centres: 16 x 16 cells of 16 px with 2 each, then 8 x 8 cells of 32 px with 6 each', async (t) => {
  const a = blazeFaceAnchors();
  const at = (k: number) => [a[2 * k], a[2 * k + 1]];
  t.equal(a.length, 896 * 2);
  t.same([at(0), at(1), at(2), at(31), at(32), at(511)], [[8, 8], [8, 8], [24, 8], [248, 8], [8, 24], [248, 248]]);
  t.same([at(512), at(517), at(518), at(895)], [[16, 16], [16, 16], [48, 16], [240, 240]]);
  const front = blazeFaceAnchors(128);
  t.same([front[0], front[1], front[1024], front[1025]], [4, 4, 8, 8], 'the 128 front model: strides 8 and 16');
});

t.test('one planted anchor per grid becomes a face with keypoints, worked by hand', async (t) => {
  const { out, plant } = outputs();
  // Anchor 2 * (3 * 16 + 5) = 106: row 3, column 5 of the fine grid, centre (88, 56).
  // Centre offset (2, -4), size 40 x 50 -> centre (90, 52), x 70-110, y 27-77. Logit ln 9: score 0.9.
  const kp = [-10, -8, 10, -8, 0, 2, 0, 12, -20, -4, 20, -4];
  plant(106, Math.log(9), [2, -4, 40, 50, ...kp]);
  // Anchor 512 + 6 * (2 * 8 + 3) + 4 = 630: row 2, column 3 of the coarse grid, centre (112, 80); logit 0: score 0.5.
  plant(630, 0, [0, 0, 64, 64, ...kp]);
  // Anchor 107 (the other anchor of 106's cell) sees the same face a little less surely: suppressed.
  plant(107, Math.log(4), [2, -3, 40, 50, ...kp]);

  const dets = decodeBlazeFace(out);
  t.same(
    dets.map((d) => [d.label, Number(d.score.toFixed(4)), d.box]),
    [
      ['face', 0.9, { x: 70, y: 27, w: 40, h: 50 }],
      ['face', 0.5, { x: 80, y: 48, w: 64, h: 64 }],
    ],
  );
  t.same(dets[0]?.keypoints, [[78, 48], [98, 48], [88, 58], [88, 68], [68, 52], [108, 52]], 'keypoints are offsets from the anchor, not from the box');
  t.same(BLAZEFACE_KEYPOINTS, ['right eye', 'left eye', 'nose tip', 'mouth centre', 'right ear', 'left ear']);
  t.same(decodeBlazeFace(out, {}, { minScore: 0.51 }).length, 1, 'logit 0 is a score of exactly 0.5');
  t.same(decodeBlazeFace(out, {}, { iouThreshold: 0.99 }).length, 3, 'without suppression the second anchor stays');
  t.same(decodeBlazeFace(Object.values(out).reverse()), dets, 'outputs found by shape, in any order');

  t.throws(() => decodeBlazeFace({ a: out.Identity, b: out.Identity_2 }), { code: 'LOUPE_ERR_MODEL_LOAD' }, 'the 8 x 8 grid is missing');
  t.throws(() => decodeBlazeFace({ ...out, x: { data: new Float32Array(512 * 17), dims: [1, 512, 17] } }), { code: 'LOUPE_ERR_MODEL_LOAD' });
});

t.test('box and keypoints map back through the letterbox', async (t) => {
  // 512 x 256 letterboxed into 256 x 256: scale 2, 64 rows of padding above and below.
  const { transform } = await resizeTo({ data: new Uint8Array(512 * 256 * 3), width: 512, height: 256 }, { width: 256, height: 256, mode: 'letterbox' });
  t.same(transform, { scaleX: 2, scaleY: 2, offsetX: 0, offsetY: -128 });
  const { out, plant } = outputs();
  plant(106, Math.log(9), [2, -4, 40, 50, -10, -8, 10, -8, 0, 2, 0, 12, -20, -4, 20, -4]); // x 70-110, y 27-77 around (88, 56)
  const [face] = decodeBlazeFace(out, { transform, width: 512, height: 256 }) as [FaceDetection];
  t.same(face.box, { x: 140, y: 0, w: 80, h: 26 }, 'y 27-77 -> -74 (clamped to 0) - 26');
  t.same(face.keypoints, [[156, -32], [196, -32], [176, -12], [176, 8], [136, -24], [216, -24]], 'keypoints are not clamped');
});

cardFeedsAsTested(t, 'blazeface-back', BLAZEFACE_INPUT);

t.test('the input spec is what toInputTensor needs for this graph', async (t) => {
  const raw: RawImage = flatImage(2, 2, [0, 255, 51]);
  const input = await toInputTensor(raw, BLAZEFACE_INPUT);
  t.same(input.tensor.dims, [1, 256, 256, 3]);
  t.same([...(input.tensor.data as Float32Array).slice(0, 3)].map((v) => Number(v.toFixed(4))), [-1, 1, -0.6], 'RGB bytes to -1..1');
});

t.test('the real BlazeFace (human-models blazeface.json, converted to ONNX)', async (t) => {
  const model = await humanModel(t, 'blazeface');
  const detect = async (raw: RawImage, minScore?: number) => {
    const input = await toInputTensor(raw, BLAZEFACE_INPUT);
    return detectFaces(model.run, input.tensor, { transform: input.transform, width: raw.width, height: raw.height }, minScore === undefined ? {} : { minScore });
  };

  nothingInEmptyPictures(t, detect);

  t.test('fixture photographs', { skip: haveFixtures() ? false : NO_FIXTURES }, async (t) => {
    const near = (p: readonly number[] | undefined, q: readonly number[], tol: number) => p !== undefined && Math.hypot(p[0]! - q[0]!, p[1]! - q[1]!) <= tol;
    const astronaut = await fixtureImage('photo-astronaut-eileen-collins-nasa.png');
    const faces = await detect(astronaut);
    t.comment(`astronaut: ${describe(faces)} keypoints ${JSON.stringify(faces[0]?.keypoints?.map((p) => p.map(Math.round)))}`);
    t.equal(faces.length, 1, 'one face');
    const [face] = faces;
    t.ok(face!.score > 0.8, `confident (${face!.score.toFixed(2)})`);
    // By eye: her nose tip is near (222, 127), her eyes near (203, 102) and (248, 103), the face about 100 px wide.
    t.ok(contains(face!.box, [222, 127]), 'the box holds her nose');
    t.ok(face!.box.w > 80 && face!.box.w < 140 && face!.box.h > 80 && face!.box.h < 140, 'face-sized');
    const [rightEye, leftEye, nose, mouth] = face!.keypoints!;
    t.ok(near(rightEye, [203, 102], 10) && near(leftEye, [248, 103], 10), 'her right eye on the image left, her left on the right');
    t.ok(near(nose, [222, 127], 10), 'nose tip');
    t.ok(mouth![1] > nose![1] && nose![1] > rightEye![1], 'eyes above the nose above the mouth');

    const hopper = await detect(await fixtureImage('thumb-photo-grace-hopper-128.jpg'));
    t.comment(`grace hopper 128: ${describe(hopper)}`);
    t.equal(hopper.length, 1, 'one face');
    t.ok(contains(hopper[0]!.box, [63, 52]), 'around her nose');

    const children = await detect(await fixtureImage('photo-genthe-chinatown-children-walking.jpg'));
    t.comment(`chinatown children: ${describe(children)}`);
    t.ok(children.some((d) => contains(d.box, [819, 327])), "the man's face");

    const fishmonger = await detect(await fixtureImage('photo-genthe-chinatown-fishmonger.jpg'));
    t.comment(`fishmonger: ${describe(fishmonger)} (both men are in profile or under a hat)`);
    const renoir = await detect(await fixtureImage('photo-renoir-by-dornac-grayscale-crop.png'));
    t.comment(`renoir: ${describe(renoir)}`);
    t.ok(renoir.some((d) => contains(d.box, [523, 226])), "Renoir's face, around his nose");

    const input = await toInputTensor(astronaut, BLAZEFACE_INPUT);
    const ms = await medianMs(() => detectFaces(model.run, input.tensor, {}));
    t.comment(`blazeface latency: ${ms.toFixed(1)} ms per 256 x 256 image (inference + decoding, median of 5 after 1 warm-up)`);
  });
});
