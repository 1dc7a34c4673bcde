import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createDetector, createEngine, openRegistry, prepareImage, type RawImage } from '@loupe/inference';
import { explainBox } from './box.explainer.js';

const ASTRONAUT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/fixtures/images/photo-astronaut-eileen-collins-nasa.png');

const engine = createEngine({ executionProvider: 'cpu' });
t.teardown(() => engine.close());

/**
 * A generated scene, a wide gradient with blocks, and one real person pasted into its right part
 * (the astronaut of the fixtures, cut from her flag and shuttle): the person is the only thing a
 * detector can call a person.
 */
async function sceneWithPerson(): Promise<{ image: RawImage; pasted: { x: number; y: number; w: number; h: number } }> {
  const photo = await prepareImage(await readFile(ASTRONAUT));
  const cut = { x: 20, w: 350 };
  const width = 900;
  const height = photo.height;
  const at = width - cut.w - 30;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      if (x >= at && x < at + cut.w) {
        data.set(photo.data.subarray((y * photo.width + cut.x + x - at) * 3, (y * photo.width + cut.x + x - at) * 3 + 3), o);
        continue;
      }
      const block = (Math.floor(x / 90) + Math.floor(y / 70)) % 3 === 0;
      data[o] = block ? 70 : 150 + (60 * x) / width;
      data[o + 1] = block ? 110 : 160 - (40 * y) / height;
      data[o + 2] = block ? 140 : 120;
    }
  }
  return { image: { data, width, height }, pasted: { x: at, y: 0, w: cut.w, h: height } };
}

t.test('a person box is explained by the person: the peak falls inside the box', { skip: existsSync(ASTRONAUT) ? false : `no fixture at ${ASTRONAUT} (../shared is absent)` }, async (t) => {
  const registry = openRegistry({ modelsDir: t.testdir() });
  const { card, files } = await registry.resolve('centernet-coco');
  const detector = createDetector(await engine.load(card, files));
  const { image, pasted } = await sceneWithPerson();
  const person = (await detector.detect(image)).filter((d) => d.label === 'person').sort((a, b) => b.score - a.score)[0];
  if (!person) return t.fail('the detector finds the pasted person');
  t.ok(person.box.x >= pasted.x - 20, `the person found is the pasted one (${JSON.stringify(person.box)})`);

  // Half-overlapping windows of 0.4: 41 passes on this wide image rather than the defaults' 92, still finer than the box.
  const map = await explainBox(image, detector, person, { window: 0.4 });
  t.equal(map.passes, 41);
  const { x, y } = map.peak;
  const b = person.box;
  t.ok(x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h, `peak (${x.toFixed(0)}, ${y.toFixed(0)}) inside the box ${JSON.stringify(b)}`);
  t.ok(map.score > 0.3, `the unmasked image scores the box as the detector did (${map.score.toFixed(3)}, found ${person.score.toFixed(3)})`);
  const left = Array.from({ length: map.height }, (_, r) => map.values[r * map.width]!);
  t.ok(Math.max(...left) < map.peak.value / 2, 'the generated background on the left barely matters');
});
