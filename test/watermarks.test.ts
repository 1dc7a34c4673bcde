// The watermark head, with real pictures (../shared/fixtures/images): the generator gives the same
// set from the same seed and keeps a picture's clean and marked views in one fold; the head Loupe
// ships answers POST /v1/classify on a fresh install (no `loupe train`, an empty models folder),
// flagging a marked picture and not its clean original.
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createEmbedded, loadConfig, rawPixels, tileVectors, visibleInk, watermarkedView, watermarkSetCommand } from '@loupe/cli';
import { groupedKFold, NO_WATERMARK_CONCEPT, planWatermarkSet, WATERMARK_CONCEPT, watermarkStream, type WatermarkSpec } from '@loupe/datasets';
import { fitHead, saveHead, tileRects, type TileSpec } from '@loupe/heads';
import { openProcessModels } from '@loupe/inference';
import { startIiifImageServer } from '@loupe/testing';
import sharp from 'sharp';

const imagesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures/images');
if (!existsSync(imagesDir)) {
  t.comment(`skipped: ${imagesDir} is absent (../shared/fixtures is not beside this checkout)`);
  process.exit(0);
}
const PICTURES = ['painting-bruegel-harvesters.jpg', 'photo-cameraman-bw.png', 'map-nypl-insurance-atlas-detail.png', 'coin-justinian-follis-obverse.jpg'];

t.test('the generator: the same seed gives the same set, to the byte', async (t) => {
  const a = planWatermarkSet(PICTURES, { seed: 'one', views: 3 });
  t.same(planWatermarkSet([...PICTURES].reverse(), { seed: 'one', views: 3 }), a, 'the same plan whatever order the pictures come in');
  t.notSame(planWatermarkSet(PICTURES, { seed: 'two', views: 3 }), a, 'another seed, other crops and marks');
  t.equal(a.length, PICTURES.length * 3 * 2, 'every view clean and marked');
  const marked = a.find((p) => p.mark)!;
  const once = await watermarkedView(path.join(imagesDir, marked.source), marked.crop, marked.mark);
  const twice = await watermarkedView(path.join(imagesDir, marked.source), marked.crop, marked.mark);
  t.ok(once.equals(twice), 'the marked view is the same JPEG twice');
  const clean = await watermarkedView(path.join(imagesDir, marked.source), marked.crop, undefined);
  t.notOk(clean.equals(once), 'the mark changes the picture');

  const marks: WatermarkSpec[] = [];
  const next = watermarkStream('spread');
  for (let i = 0; i < 200; i++) marks.push(next());
  t.ok(marks.every((m) => m.opacity >= 0.15 && m.opacity <= 0.6), 'opacity from 0.15 to 0.6');
  t.same(new Set(marks.map((m) => m.placement)).size, 7, 'corners, centre, diagonal and tiled all drawn');
  t.same(new Set(marks.map((m) => m.kind)), new Set(['text', 'logo']));
});

t.test('a mark nobody could see is drawn again, and the mask holds only the ink that shows', async (t) => {
  const whole = { left: 0, top: 0, width: 1, height: 1 };
  const picture = path.join(imagesDir, 'painting-bruegel-harvesters.jpg');
  const clean = await rawPixels(await watermarkedView(picture, whole, undefined));
  const base: WatermarkSpec = { kind: 'text', text: '© Hensworth Library 2001', font: 'DejaVu Sans', bold: true, placement: 'centre', size: 0.1, opacity: 0.6, colour: '#ffffff', blend: 'over', outline: false, angle: 0 };
  // At 3 % opacity white moves no pixel by more than 8 levels: a mark on paper only.
  const ghost = { ...base, opacity: 0.03 };
  const unseen = await visibleInk(await watermarkedView(picture, whole, ghost), clean, ghost);
  t.ok(unseen.share < 0.05, `white at 3 %: ${(unseen.share * 100).toFixed(1)} % of the ink shows`);
  const seen = await visibleInk(await watermarkedView(picture, whole, base), clean, base);
  t.ok(seen.share > 0.5, `white over the painting: ${(seen.share * 100).toFixed(1)} % of the ink shows`);
  const mask = await sharp(seen.mask).extractChannel(0).raw().toBuffer();
  t.ok(mask.some((v) => v === 255) && mask.some((v) => v === 0), 'the mask is ink on black');

  const dir = t.testdir();
  const [out, pictures] = [path.join(dir, 'set'), path.join(dir, 'pictures')];
  await fs.mkdir(pictures);
  for (const file of PICTURES) await fs.symlink(path.join(imagesDir, file), path.join(pictures, file));
  const said: string[] = [];
  await watermarkSetCommand({ from: pictures, out, views: '3', seed: 'visible' }, (line) => said.push(line));
  t.match(said.at(-1), /wrote 24 images \(12 watermarked, 12 clean\).*; marks drawn again because nobody could have seen them: \d+;/u);
  for (const row of (await fs.readFile(path.join(out, 'labels.csv'), 'utf8')).trim().split(/\r?\n/u).slice(1)) {
    const [file, , label, , maskFile] = row.split(',');
    if (label !== 'watermark') continue;
    const ink = await sharp(path.join(out, maskFile!)).extractChannel(0).raw().toBuffer();
    t.ok(ink.some((v) => v > 0), `${file}: some of its ink shows`);
  }
  const drawn = JSON.parse(await fs.readFile(path.join(out, 'marks.json'), 'utf8')) as Record<string, WatermarkSpec>;
  const plan = planWatermarkSet(PICTURES, { seed: 'visible', views: 3 }).filter((p) => p.mark);
  t.same(Object.keys(drawn).sort(), plan.map((p) => p.file).sort(), 'marks.json: the mark of every marked view');
  const redrawn = Number(/drawn again because nobody could have seen them: (\d+)/u.exec(said.at(-1)!)![1]);
  const replaced = plan.filter((p) => JSON.stringify(drawn[p.file]) !== JSON.stringify(p.mark)).length;
  t.ok(replaced <= redrawn && (redrawn === 0) === (replaced === 0), `${replaced} views carry a mark drawn again (${redrawn} draws)`);
});

t.test("folds keep a picture's clean and marked views together", async (t) => {
  const plan = planWatermarkSet(PICTURES, { seed: 'folds', views: 4 });
  const items = plan.map((p) => ({ id: p.file, labels: [p.concept] }));
  const source = new Map(plan.map((p) => [p.file, p.source]));
  const folds = groupedKFold(items, (item) => source.get(item.id)!, { seed: 'folds', k: 4 });
  for (const picture of PICTURES) {
    const seen = new Set(plan.filter((p) => p.source === picture).map((p) => folds.get(p.file)));
    t.equal(seen.size, 1, `${picture}: all 8 views in one fold`);
  }
  t.equal(new Set(folds.values()).size, 4, 'four pictures, four folds');
});

t.test('the shipped head through POST /v1/classify: the marked picture flagged, the clean one not', async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-watermarks-'));
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
  const server = await startIiifImageServer();
  t.teardown(() => server.close());
  const embedded = await createEmbedded({ ...loadConfig({ LOUPE_DATA_DIR: dataDir, LOUPE_LOG_LEVEL: 'warn', LOUPE_FETCH_ALLOW: '127.0.0.1' }), services: ['classify', 'embed'] });
  t.teardown(() => embedded.close());
  await embedded.app.start();

  const heads = (await embedded.app.inject({ method: 'GET', url: '/v1/heads' })).json() as { items: { id: string; caution?: string; latest: { trainedOn?: { dataset: string } } }[] };
  t.match(heads.items.find((h) => h.id === 'watermark'), { latest: { trainedOn: { dataset: 'watermarks-synthetic-fixtures' } } }, 'listed with what it was trained on');
  const caution = /^head watermark version 1 is close to chance: cross-validated accuracy 0\.5\d\d on 360 images/;
  t.match(heads.items.find((h) => h.id === 'watermark')?.caution, caution, 'listed as close to chance');

  // A heavy tiled mark, the kind that moves the features most. The margins are thin (p 0.63 and
  // 0.56 when written): the head is near chance overall (docs/watermarks.md), so the test holds the
  // marked picture to the head's threshold and the clean one only to the right side of 0.5.
  const mark: WatermarkSpec = { kind: 'text', text: '© Lindqvist Picture Library', font: 'DejaVu Sans', bold: true, placement: 'tiled', size: 0.06, opacity: 0.5, colour: '#ffffff', blend: 'over', outline: true, angle: -30 };
  const picture = path.join(imagesDir, 'photo-cameraman-bw.png');
  const whole = { left: 0, top: 0, width: 1, height: 1 };
  const classify = async (name: string, image: Buffer) => {
    const serviceId = await server.addImage(name, image, { version: 3, level: 2 });
    const res = await embedded.app.inject({ method: 'POST', url: '/v1/classify', payload: { head: 'watermark', image: { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3, level: 2 } } } });
    t.equal(res.statusCode, 200, res.body);
    return res.json() as { predictions: { concept: string; label: string; probability: number; aboveThreshold: boolean }[]; head: { id: string; version: string }; caution?: string };
  };
  const marked = await classify('marked', await watermarkedView(picture, whole, mark));
  t.match(marked.predictions[0], { concept: WATERMARK_CONCEPT, label: 'watermark' });
  t.ok(marked.predictions[0]!.aboveThreshold, `p(watermark) ${marked.predictions[0]!.probability} reaches the head's threshold`);
  t.same(marked.head.id, 'watermark');
  t.match(marked.caution, caution, 'every answer says the head is close to chance');
  const clean = await classify('clean', await watermarkedView(picture, whole, undefined));
  t.match(clean.predictions[0], { concept: NO_WATERMARK_CONCEPT, label: 'no watermark' }, `p(no watermark) ${clean.predictions[0]!.probability}`);
});

t.test('a head that reads tiles: POST /v1/classify answers with its most positive tile', async (t) => {
  const spec: TileSpec = { fit: 672, size: 224, overlap: 0.25, corners: 0.5, positive: WATERMARK_CONCEPT };
  const rects = tileRects(672, 504, spec);
  t.equal(rects.length, 4 * 3 + 4, 'a 4 x 3 overlapping grid and four corners');
  t.ok(rects.every((r) => r.x >= 0 && r.y >= 0 && r.x + r.w <= 672 && r.y + r.h <= 504), 'every tile inside the picture');

  // A logo in the bottom-right corner: a small share of the picture, most of one corner tile.
  const mark: WatermarkSpec = { kind: 'logo', text: 'KL', logo: 'ring', font: 'DejaVu Sans', bold: true, placement: 'bottom-right', size: 0.16, opacity: 0.6, colour: '#ffffff', blend: 'over', outline: false, angle: 0 };
  const whole = { left: 0, top: 0, width: 1, height: 1 };
  const pictures = { clean: await watermarkedView(path.join(imagesDir, 'painting-bruegel-harvesters.jpg'), whole, undefined), marked: await watermarkedView(path.join(imagesDir, 'painting-bruegel-harvesters.jpg'), whole, mark) };

  // Trained on these two pictures' tiles (tileVectors, as the service embeds them): the corner
  // tiles of the marked one positive, every tile of the clean one negative.
  const models = openProcessModels({ modelsDir: t.testdir(), executionProvider: 'cpu' });
  t.teardown(() => models.close());
  const embedder = await models.imageEmbedder('mobilenet-v2-features');
  const vectors: Float32Array[] = [];
  const labels: string[][] = [];
  for (const [name, image] of Object.entries(pictures)) {
    const fitted = await sharp(image).resize({ width: spec.fit, height: spec.fit, fit: 'inside' }).raw().toBuffer({ resolveWithObject: true });
    const tiles = await tileVectors({ data: fitted.data, width: fitted.info.width, height: fitted.info.height }, spec, embedder);
    tiles.rects.forEach((r, i) => {
      const corner = r.x + r.w === fitted.info.width && r.y + r.h === fitted.info.height;
      vectors.push(tiles.vectors[i]!);
      labels.push([name === 'marked' && corner ? WATERMARK_CONCEPT : NO_WATERMARK_CONCEPT]);
    });
  }
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-tiles-'));
  t.teardown(() => fs.rm(dataDir, { recursive: true, force: true }));
  const { head } = fitHead({ vectors, labels }, { id: 'corner-logo', version: '1', embedding: { model: 'mobilenet-v2-features', version: embedder.model.version, dims: vectors[0]!.length }, folds: 0, seed: 'tiles' });
  await saveHead(path.join(dataDir, 'models/heads'), { ...head, input: { tiles: spec } });

  const server = await startIiifImageServer();
  t.teardown(() => server.close());
  const embedded = await createEmbedded({ ...loadConfig({ LOUPE_DATA_DIR: dataDir, LOUPE_LOG_LEVEL: 'warn', LOUPE_FETCH_ALLOW: '127.0.0.1' }), services: ['classify', 'embed'] });
  t.teardown(() => embedded.close());
  await embedded.app.start();
  const pWatermark = async (name: string, image: Buffer): Promise<number> => {
    const serviceId = await server.addImage(name, image, { version: 3, level: 2 });
    const res = await embedded.app.inject({ method: 'POST', url: '/v1/classify', payload: { head: 'corner-logo', k: 2, image: { id: `${serviceId}/full/max/0/default.jpg`, service: { id: serviceId, version: 3, level: 2 } } } });
    t.equal(res.statusCode, 200, res.body);
    const out = res.json() as { predictions: { concept: string; probability: number }[]; ms: Record<string, number> };
    t.ok('fetch' in out.ms, 'the service fetched and cut the picture itself');
    return out.predictions.find((p) => p.concept === WATERMARK_CONCEPT)!.probability;
  };
  const marked = await pWatermark('tiles-marked', pictures.marked);
  const clean = await pWatermark('tiles-clean', pictures.clean);
  t.ok(marked > 0.5 && clean < 0.5 && marked - clean > 0.3, `p(watermark) marked ${marked.toFixed(3)}, clean ${clean.toFixed(3)}`);
});
