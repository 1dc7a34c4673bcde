// A captioning model instead of the composed caption: a ViT-GPT2-shaped encoder-decoder (its
// names, its merged decoder with use_cache_branch and past keys and values) made small by the test
// and installed with a card as `loupe models pull` leaves one. POST /v1/caption and the caption
// pipeline run it on a real fixture photograph served over the IIIF Image API; the registry, the
// engine, the tokenizer and the decoders are the real ones. The weights decide the caption, so the
// test knows it word for word: greedy and beam search disagree on purpose.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import type { Annotation, AnnotationPage } from '@loupe/contracts';
import { createEmbedded, loadConfig, main, runPipeline } from '@loupe/cli';
import { manifestV3, startIiifImageServer } from '@loupe/testing';
import { installTinyCaptioner, noCache, withPastModel } from '../packages/inference/src/decoders/seq2seq.test-support.js';
import { runLoupe } from './support/loupe-process.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures/images');
const PHOTO = path.join(FIXTURES, 'photo-cameraman-bw.png');

// GPT-2 byte-level tokens; the last is the start and end token, as 50256 is in ViT-GPT2.
const TOKENS = ['A', 'ĠThe', 'Ġhorse', 'Ġboat', 'Ġin', 'Ġa', 'Ġfield', '<|endoftext|>'];
const [A, THE, HORSE, BOAT, IN, AN, FIELD, END] = TOKENS.map((_, i) => i) as [number, number, number, number, number, number, number, number];
// Greedy follows the likeliest next word: A (.5) horse (.5) in (.4) a (.9) field (.9) end (.95), p = .077.
// A beam search keeps "The" (.45) and finds The boat end: p = .406, far better per token.
const NEXT: Record<number, number>[] = [];
NEXT[A] = { [HORSE]: 0.5, [BOAT]: 0.3, [FIELD]: 0.2 };
NEXT[THE] = { [BOAT]: 0.95, [FIELD]: 0.05 };
NEXT[HORSE] = { [IN]: 0.4, [END]: 0.35, [BOAT]: 0.25 };
NEXT[BOAT] = { [END]: 0.95, [IN]: 0.05 };
NEXT[IN] = { [AN]: 0.9, [END]: 0.1 };
NEXT[AN] = { [FIELD]: 0.9, [END]: 0.1 };
NEXT[FIELD] = { [END]: 0.95, [IN]: 0.05 };
NEXT[END] = { [A]: 0.5, [THE]: 0.45, [FIELD]: 0.05 };

await t.test('loupe run: --caption-model goes with the caption and enrich pipelines, --beams with --caption-model', async (t) => {
  // Refused before anything is read or harvested: the file need not exist.
  await t.rejects(main(['run', 'manifest.json', '--caption-model', 'vit-gpt2-captioning']), { message: /--caption-model and --beams go with --pipeline caption or enrich/ });
  await t.rejects(main(['run', 'manifest.json', '--pipeline', 'caption', '--beams', '3']), { message: /--beams goes with --caption-model/ });
  await t.rejects(main(['run', 'manifest.json', '--pipeline', 'caption', '--caption-model', 'm', '--beams', '9']), { message: /--beams must be an integer from 1 to 8/ });
});

await t.test('loupe run: a captioning model that is not installed is said before anything is harvested', async (t) => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-caption-preflight-'));
  t.teardown(() => fs.rm(tmp, { recursive: true, force: true }));
  const manifest = path.join(tmp, 'manifest.json');
  const id = 'https://iiif.example.org/caption-preflight/manifest';
  await fs.writeFile(manifest, JSON.stringify(manifestV3({ id, canvases: [{ label: 'p. 1', width: 640, height: 480, image: { url: 'https://images.example.org/1.jpg' } }] })));
  const env = { LOUPE_DATA_DIR: path.join(tmp, 'data'), LOUPE_MODELS_DIR: path.join(tmp, 'models') };
  const ran = await runLoupe(['run', manifest, '--pipeline', 'caption', '--caption-model', 'vit-gpt2-captioning', '--out', path.join(tmp, 'out')], { cwd: tmp, env });
  t.not(ran.code, 0);
  t.match(ran.stderr, /the caption \(--caption-model\) needs vit-gpt2-captioning/);
  t.match(ran.stderr, /nothing was harvested/);
});

if (existsSync(PHOTO)) await captionModelTests();
else t.plan(0, `skip: no fixtures at ${FIXTURES} (../shared is absent): the model caption tests need a real photograph`);

/** Everything below reads the fixture photograph. */
async function captionModelTests(): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-caption-model-'));
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
  const modelsDir = path.join(dataDir, 'models');
  await installTinyCaptioner(modelsDir, { id: 'tiny-captioner', tokens: TOKENS, next: NEXT });
  // Files that contradict their card: it says three layers of cache, the decoder has two.
  await installTinyCaptioner(modelsDir, { id: 'tiny-captioner-wrong-card', tokens: TOKENS, next: NEXT, options: { layers: 3 } });
  // A decoder exported without the merged branch, under a card that says merged.
  await installTinyCaptioner(modelsDir, { id: 'tiny-captioner-unmerged', tokens: TOKENS, next: NEXT, decoder: withPastModel(noCache(TOKENS.map(() => new Array<number>(TOKENS.length).fill(0))), false) });

  const server = await startIiifImageServer();
  t.teardown(() => server.close());
  const photo = await fs.readFile(PHOTO);
  const { width = 0, height = 0 } = await sharp(photo).metadata();
  const serviceId = await server.addImage('cameraman', photo, { version: 3, level: 2 });
  const image = { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3 as const, level: 2 as const } };

  const env = { LOUPE_MODELS_DIR: modelsDir, LOUPE_FETCH_ALLOW: '127.0.0.1' };
  const embedded = await createEmbedded(loadConfig(env, { logLevel: 'silent', dataDir, services: ['caption'] }));
  t.teardown(() => embedded.close());
  await embedded.app.start();
  const caption = async (body: Record<string, unknown>) => {
    const res = await embedded.app.inject({ method: 'POST', url: '/v1/caption', payload: body });
    return { status: res.statusCode, body: res.json() as Record<string, any> };
  };
  const near = (a: number, b: number) => Math.abs(a - b) < 0.01;

  await t.test('POST /v1/caption: greedy by default, the tokens’ log probabilities, the card’s language', async (t) => {
    const out = await caption({ model: 'tiny-captioner', image });
    t.equal(out.status, 200, JSON.stringify(out.body));
    t.match(out.body.model, { id: 'tiny-captioner', version: '1', runtime: 'onnxruntime' });
    t.equal(out.body.caption.text, 'A horse in a field');
    t.equal(out.body.caption.language, 'en');
    t.same(
      out.body.caption.tokens.map((tok: { text: string }) => tok.text),
      ['A', ' horse', ' in', ' a', ' field'],
    );
    t.ok(near(Math.exp(out.body.caption.tokens[2].logProb), 0.4), 'each token with its probability (in: .4)');
    const p = 0.5 * 0.5 * 0.4 * 0.9 * 0.9 * 0.95;
    t.ok(near(out.body.caption.logProb, Math.log(p)), `log p of the whole caption, end token included: ${out.body.caption.logProb}`);
    t.ok(near(out.body.caption.confidence, p ** (1 / 6)), `confidence is the geometric mean of the six tokens' probabilities: ${out.body.caption.confidence}`);
    t.equal(out.body.caption.finished, true);
    t.match(out.body.request, new RegExp(`^${serviceId}/full/`), 'the image was fetched through its Image API service');
  });

  await t.test('POST /v1/caption with beams: the beam search finds the likelier caption; maxTokens cuts one short', async (t) => {
    for (const beams of [2, 3]) {
      const out = await caption({ model: 'tiny-captioner', image, beams });
      t.equal(out.status, 200, JSON.stringify(out.body));
      t.equal(out.body.caption.text, 'The boat', `${beams} beams`);
      t.equal(out.body.caption.beams, beams);
      t.ok(near(out.body.caption.confidence, (0.45 * 0.95 * 0.95) ** (1 / 3)));
    }
    const short = await caption({ model: 'tiny-captioner', image, maxTokens: 2 });
    t.equal(short.body.caption.text, 'A horse');
    t.equal(short.body.caption.finished, false);
  });

  await t.test('POST /v1/caption says what is wrong: no model, no image, files that contradict the card, a bad option', async (t) => {
    const missing = await caption({ model: 'vit-gpt2-captioning', image });
    t.equal(missing.status, 503);
    t.match(missing.body, { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /loupe models pull vit-gpt2-captioning/ });
    const unknown = await caption({ model: 'no-such-captioner', image });
    t.match(unknown.body, { code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /tiny-captioner/ }, 'names the captioning models it has');

    const gone = await caption({ model: 'tiny-captioner', image: { id: `${server.url}/nothing-here.jpg` } });
    t.equal(gone.status, 502, JSON.stringify(gone.body));
    t.match(gone.body, { code: 'LOUPE_ERR_FETCH_NOT_FOUND' });

    const layers = await caption({ model: 'tiny-captioner-wrong-card', image });
    t.equal(layers.status, 500);
    t.match(layers.body, { code: 'LOUPE_ERR_MODEL_LOAD', message: /do not match its card: .*3 layers, the decoder has 2/ });
    const unmerged = await caption({ model: 'tiny-captioner-unmerged', image });
    t.match(unmerged.body, { code: 'LOUPE_ERR_MODEL_LOAD', message: /no use_cache_branch input/ });

    const changed = path.join(modelsDir, 'tiny-captioner-wrong-card', 'vocab.json');
    await fs.appendFile(changed, ' ');
    t.match((await caption({ model: 'tiny-captioner-wrong-card', image })).body, { code: 'LOUPE_ERR_MODEL_CHECKSUM' }, 'a changed file is refused, not used');

    const wide = await caption({ model: 'tiny-captioner', image, beams: 9 });
    t.equal(wide.status, 400);
    t.equal(wide.body.code, 'LOUPE_ERR_VALIDATION');
  });

  const manifest = `${server.url}/m/cameraman.json`;
  server.addDocument(
    '/m/cameraman.json',
    manifestV3({ id: manifest, label: 'Cameraman', canvases: [{ id: `${manifest}/canvas/1`, label: 'The cameraman', width, height, image: { width, height, serviceId, version: 3, level: 2 } }] }),
  );
  /** The caption pipeline with nothing to detect: preprocess, the caption stage, the store. */
  const captionRun = (outDir: string, model: string, beams?: number) =>
    runPipeline(loadConfig(env, { logLevel: 'silent', dataDir }), {
      source: manifest,
      outDir: path.join(dataDir, outDir),
      pipeline: 'caption',
      skip: ['orientation', 'objects', 'faces', 'text'],
      caption: { model, ...(beams !== undefined && { beams }) },
    });

  await t.test('the caption pipeline with a model: its caption is the describing annotation, and its generator names it', async (t) => {
    const report = await captionRun('out-model', 'tiny-captioner', 3);
    t.same(report.failures, []);
    t.equal(report.state, 'done');
    const dir = path.join(dataDir, 'out-model', 'annotations');
    const [file] = await fs.readdir(dir);
    const page = JSON.parse(await fs.readFile(path.join(dir, file!), 'utf8')) as AnnotationPage;
    const described = (page.items as Annotation[]).filter((a) => a.motivation === 'describing');
    t.equal(described.length, 1);
    t.match(described[0], {
      target: `${manifest}/canvas/1`,
      body: { type: 'TextualBody', value: 'The boat', language: 'en' },
      generator: { 'loupe:model': 'tiny-captioner', 'loupe:version': '1' },
    });
    t.notOk('loupe:derivedFrom' in described[0]!, 'a model caption says no annotation it was made from');
    t.ok(near((described[0] as Record<string, any>)['loupe:confidence'], (0.45 * 0.95 * 0.95) ** (1 / 3)));
  });

  await t.test('a model that is not installed fails the canvas with the reason, not the run', async (t) => {
    const report = await captionRun('out-missing', 'vit-gpt2-captioning');
    t.match(report.failures, [{ canvas: `${manifest}/canvas/1`, stage: 'caption', code: 'LOUPE_ERR_MODEL_NOT_INSTALLED', message: /loupe models pull vit-gpt2-captioning/ }]);
    t.equal(report.failures.length, 1);
  });
}
