// CLIP's layout in miniature, for tests: an image tower and a text tower made as small ONNX
// graphs with CLIP's names and shapes. CLIP itself needs `loupe models pull`, which tests never
// do. The image tower gives an image's mean colour; the text tower adds up colour words letter by
// letter. The registry, the engine, the tokenizer and everything after them are the real ones.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BYTE_CHARS_IN_VOCAB_ORDER } from '@loupe/inference';
import { buildOnnxModel } from '@loupe/testing';

/** The card ids installColourTowers writes. */
export const COLOUR_TOWERS = { image: 'colour-image', text: 'colour-text' } as const;

/** Writes both towers' cards and files under `modelsDir` (what LOUPE_MODELS_DIR names). */
export async function installColourTowers(modelsDir: string): Promise<typeof COLOUR_TOWERS> {
  async function install(id: string, files: Record<string, Uint8Array | string>, card: Record<string, unknown>): Promise<void> {
    const dir = path.join(modelsDir, id);
    await fs.mkdir(dir, { recursive: true });
    const entries: Record<string, unknown> = {};
    for (const [role, bytes] of Object.entries(files)) {
      const name = role === 'model' ? 'model.onnx' : `${role}.${typeof bytes === 'string' && role === 'vocab' ? 'json' : 'txt'}`;
      const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      await fs.writeFile(path.join(dir, name), data);
      entries[role] = { path: name, sha256: createHash('sha256').update(data).digest('hex'), size: data.byteLength };
    }
    await fs.writeFile(path.join(dir, 'card.json'), JSON.stringify({ id, version: '1', licence: 'CC0-1.0', source: 'made by the test', files: entries, ...card }));
  }

  // The image tower: [N, 3, 16, 16] -> each channel's mean: a picture's colour, as a 3-d vector.
  await install(
    'colour-image',
    {
      model: buildOnnxModel({
        inputs: [{ name: 'pixel_values', type: 'float32', dims: ['batch_size', 3, 16, 16] }],
        outputs: [{ name: 'image_embeds', type: 'float32', dims: ['batch_size', 3] }],
        nodes: [{ op: 'ReduceMean', inputs: ['pixel_values'], outputs: ['image_embeds'], attributes: { axes: [2, 3], keepdims: 0 } }],
      }),
    },
    { task: 'image-embedding', name: 'Colour (test image tower)', input: { name: 'pixel_values', width: 16, height: 16 }, output: { decoder: 'clip-image', options: { output: 'image_embeds' } } },
  );

  // The text tower: a byte-level vocabulary with no merges (one token per character), and an
  // embedding table in which one letter of each colour word that the other two lack ("reD",
  // "greeN", "blUe") points along R, G or B.
  const vocab: Record<string, number> = {};
  [...BYTE_CHARS_IN_VOCAB_ORDER, ...BYTE_CHARS_IN_VOCAB_ORDER.map((c) => `${c}</w>`)].forEach((tok, id) => (vocab[tok] = id));
  vocab['<|startoftext|>'] = 49406;
  vocab['<|endoftext|>'] = 49407;
  const table = new Float32Array(49408 * 3);
  const letters: Record<string, [number, number, number]> = { d: [1, 0, 0], n: [0, 1, 0], u: [0, 0, 1] };
  for (const [ch, v] of Object.entries(letters)) for (const tok of [ch, `${ch}</w>`]) table.set(v, vocab[tok]! * 3);
  await install(
    'colour-text',
    {
      model: buildOnnxModel({
        inputs: [{ name: 'input_ids', type: 'int64', dims: ['batch_size', 77] }],
        outputs: [{ name: 'text_embeds', type: 'float32', dims: ['batch_size', 3] }],
        initializers: [
          { name: 'W', type: 'float32', dims: [49408, 3], values: table },
          { name: 'axes', type: 'int64', dims: [1], values: BigInt64Array.from([1n]) },
        ],
        nodes: [
          { op: 'Gather', inputs: ['W', 'input_ids'], outputs: ['per_token'] },
          { op: 'ReduceSum', inputs: ['per_token', 'axes'], outputs: ['text_embeds'], attributes: { keepdims: 0 } },
        ],
      }),
      vocab: JSON.stringify(vocab),
      merges: '#version: 0.2\n',
    },
    {
      task: 'text-embedding',
      name: 'Colour words (test text tower)',
      input: { name: 'input_ids', dtype: 'int64' },
      output: { decoder: 'clip-text', options: { output: 'text_embeds', imageModel: 'colour-image', maxLength: 77 } },
    },
  );
  return COLOUR_TOWERS;
}
