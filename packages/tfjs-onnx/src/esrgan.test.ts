import t from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertLayersModel } from './layers.js';
import { compare, loadReference, registerUpscalerLayers, upscalerDir } from './tfjs-reference.test-support.js';

// UpscalerJS' ESRGAN models (npm @upscalerjs/esrgan-slim, -medium, -thick; x2, x3, x4, x8), converted as
// the offline pack converts them and run by onnxruntime on a crop of a real photograph, against TF.js
// running the package's model with its own custom layers. The error is in the output's 0..255 terms.

const fixture = fileURLToPath(new URL('../../../../shared/fixtures/images/photo-sailing-ship-california.jpg', import.meta.url));
const cardsDir = fileURLToPath(new URL('../../inference/cards/', import.meta.url));
// sharp is @loupe/inference's (it decodes every image there), not this package's: only what is used here is typed.
interface SharpChain {
  extract(region: { left: number; top: number; width: number; height: number }): SharpChain;
  removeAlpha(): SharpChain;
  raw(): SharpChain;
  toBuffer(): Promise<Buffer>;
}
const sharp = createRequire(new URL('../../inference/package.json', import.meta.url))('sharp') as (file: string) => SharpChain;

/** Slim and medium (RDN) take and give 0..255; thick (RRDN) 0..1, as each package's model definition says. */
const FAMILIES = [
  { size: 'slim', white: 255, crop: 32 },
  { size: 'medium', white: 255, crop: 32 },
  { size: 'thick', white: 1, crop: 20 },
] as const;
const SCALES = [2, 3, 4, 8] as const;
// float32 through up to 154 convolutions, run in a different order by each engine.
const TOLERANCE_255 = 0.01;

/** A crop of the ship's rigging and hull (edges and texture), RGB bytes. */
async function crop(size: number): Promise<Uint8Array> {
  return sharp(fixture).extract({ left: 230, top: 170, width: size, height: size }).removeAlpha().raw().toBuffer();
}

for (const family of FAMILIES) {
  t.test(`esrgan-${family.size} x2, x3, x4, x8 convert with dynamic size and match TF.js on a real photograph`, { skip: existsSync(fixture) ? false : `no fixture image at ${fixture} (../shared is absent)` }, async (t) => {
    const pixels = await crop(family.crop);
    const input = Float32Array.from(pixels, (v) => (v * family.white) / 255);
    for (const scale of SCALES) {
      const model = join(upscalerDir(`@upscalerjs/esrgan-${family.size}`), 'models', `x${scale}`, 'model.json');
      const converted = await convertLayersModel(model);
      t.same(converted.inputs.map((i) => i.shape), [[-1, -1, -1, 3]], `x${scale}: height and width stay dynamic`);
      t.same(converted.outputs.map((o) => [o.name, o.shape]), [['SR', [-1, -1, -1, 3]]]);

      if (family.size === 'thick') registerUpscalerLayers(scale);
      const reference = await loadReference(model);
      const [result] = await compare(converted, reference, input, [1, family.crop, family.crop, 3]);
      reference.dispose();
      const diff255 = (result!.maxDiff * 255) / family.white;
      t.comment(`esrgan-${family.size}-x${scale}: ${converted.onnx.byteLength} bytes; on a ${family.crop} px crop max |diff| ${diff255.toExponential(2)} of 255`);
      t.same(result!.shapeOnnx, [1, family.crop * scale, family.crop * scale, 3]);
      t.ok(diff255 <= TOLERANCE_255, `x${scale}: max |diff| ${diff255} <= ${TOLERANCE_255} (0..255)`);

      // The card pins the converted bytes: the conversion is deterministic.
      const card = JSON.parse(readFileSync(join(cardsDir, `esrgan-${family.size}-x${scale}.json`), 'utf8')) as { files: { model: { sha256: string; size: number } } };
      t.equal(createHash('sha256').update(converted.onnx).digest('hex'), card.files.model.sha256, `x${scale}: the card's sha256`);
      t.equal(converted.onnx.byteLength, card.files.model.size);
    }
  });
}
