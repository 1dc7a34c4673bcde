// Development tool: converts every built-in card's TF.js model (files.<role>.convert) and writes the
// converted file's sha256 and size into the card. Run it after changing the converter or a model
// package version, review the diff, and commit the cards: the registry refuses bytes that differ.
//   pnpm run models:pin
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertGraphModel, convertLayersModel } from '@loupe/tfjs-onnx';
import { packageDir } from '../src/registry/model-files.js';

const cardsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'cards');
for (const name of readdirSync(cardsDir).filter((n) => n.endsWith('.json')).sort()) {
  const path = join(cardsDir, name);
  const card = JSON.parse(readFileSync(path, 'utf8')) as { id: string; files: Record<string, { package?: string; convert?: { from: string; model: string; outputs?: string[]; inputShape?: number[] }; sha256: string; size?: number }> };
  let changed = false;
  for (const [role, file] of Object.entries(card.files)) {
    if (!file.convert || !file.package) continue;
    const source = join(packageDir(file.package), file.convert.model);
    const opts = { ...(file.convert.outputs && { outputs: file.convert.outputs }), ...(file.convert.inputShape && { inputShape: file.convert.inputShape }) };
    const { onnx } = file.convert.from === 'tfjs-layers' ? await convertLayersModel(source, opts) : await convertGraphModel(source, opts);
    const sha256 = createHash('sha256').update(onnx).digest('hex');
    if (file.sha256 !== sha256 || file.size !== onnx.byteLength) {
      console.log(`${card.id}/${role}: ${file.sha256.slice(0, 12)}… ${file.size ?? '?'} B -> ${sha256.slice(0, 12)}… ${onnx.byteLength} B`);
      file.sha256 = sha256;
      file.size = onnx.byteLength;
      changed = true;
    } else {
      console.log(`${card.id}/${role}: unchanged`);
    }
  }
  if (changed) writeFileSync(path, JSON.stringify(card, null, 2) + '\n');
}
