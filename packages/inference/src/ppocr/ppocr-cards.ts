import { join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import { builtinCard } from '../builtin-models.js';
import type { ModelCard } from '../cards/model-card.js';
import type { ModelRunner } from '../engine/model-runner.js';
import { packageDir, verifyFile } from '../registry/model-files.js';

/** A card with the verified local paths of its files, by role: what the engine loads (the registry's ResolvedModel). */
export interface ModelSource {
  card: ModelCard;
  files: Record<string, string>;
}

/** The three PP-OCR models a text recogniser runs; the recogniser's card lists its dictionary as the `keys` file. */
export interface PpocrModels {
  det: ModelSource;
  rec: ModelSource;
  cls: ModelSource;
}

/** The built-in cards (cards/<id>.json) of the offline pack's OCR models. */
export const PPOCR_CARD_IDS: Readonly<Record<keyof PpocrModels, string>> = Object.freeze({
  det: 'ppocr-v4-det',
  rec: 'ppocr-v4-rec',
  cls: 'ppocr-mobile-v2-cls',
});

/**
 * The built-in PP-OCR cards with their files found inside the installed OCR package and checked
 * against their sha256 and size: no models folder is needed for them.
 */
export async function builtinPpocrModels(which: readonly (keyof PpocrModels)[] = ['det', 'rec', 'cls']): Promise<Partial<PpocrModels>> {
  const out: Partial<PpocrModels> = {};
  await Promise.all(
    which.map(async (key) => {
      const card = builtinCard(PPOCR_CARD_IDS[key]);
      const files: Record<string, string> = {};
      await Promise.all(
        Object.entries(card.files).map(async ([role, file]) => {
          if (!file.package || !file.path || file.chunks) {
            throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Model ${card.id} has no packaged ${role} file; open it through the registry`, {
              details: { model: card.id, role },
            });
          }
          const path = join(packageDir(file.package), file.path);
          await verifyFile(path, file, `${card.id}/${role} (${file.path})`);
          files[role] = path;
        }),
      );
      out[key] = { card, files };
    }),
  );
  return out;
}

/** The output a decoder reads: the card's `output.options.output`, else the graph's first output. */
export function decodedOutput(runner: ModelRunner): string {
  const named = runner.card.output.options?.['output'];
  return typeof named === 'string' ? named : (runner.outputs[0]?.name ?? 'output');
}
