// `loupe run --enhance` as a user runs it, on a real low-resolution printed page: the run offers the
// upscale before it starts (never applies it unasked), an enhanced run reads the text from the
// upscaled derived image and puts each line where it is on the canvas, and a bad value is a usage error.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { manifestV3, startIiifImageServer } from '@loupe/testing';
import { runLoupe } from './support/loupe-process.js';

const PAGE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures/images/page-printed-text-modern-low-res.png');
if (!existsSync(PAGE)) {
  t.plan(0, `no fixture ${PAGE} (../shared is absent)`);
} else {
  await main();
}

type Line = { text: string; box: { x: number; y: number; w: number; h: number } };

async function main(): Promise<void> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-cli-enhance-'));
  const server = await startIiifImageServer();
  t.teardown(async () => {
    await server.close();
    await fs.rm(tmp, { recursive: true, force: true });
  });
  const loupe = (args: string[]) => runLoupe(args, { cwd: tmp, env: { LOUPE_DATA_DIR: path.join(tmp, 'data') } });

  // A 384 x 191 master (scikit-image's page) on a canvas twice its size: the text reader wants 2048 px.
  const page = await fs.readFile(PAGE);
  const serviceId = await server.addImage('page', page, { version: 3, level: 2 });
  const manifestFile = path.join(tmp, 'page.json');
  await fs.writeFile(
    manifestFile,
    JSON.stringify(manifestV3({ id: `${server.url}/m/page.json`, label: 'Low-res page', canvases: [{ label: 'p. 1', width: 768, height: 382, image: { serviceId, version: 3, level: 2, width: 384, height: 191 } }] })),
  );

  /** The text lines the run wrote for the canvas, in canvas coordinates. */
  const linesOf = async (out: string): Promise<Line[]> => {
    const [file] = await fs.readdir(path.join(out, 'annotations'));
    const page = JSON.parse(await fs.readFile(path.join(out, 'annotations', file!), 'utf8')) as { items: { body: { value?: string }; target: unknown }[] };
    return page.items.flatMap((a) => {
      const xywh = /xywh=([\d.]+),([\d.]+),([\d.]+),([\d.]+)/.exec(JSON.stringify(a.target));
      return a.body.value && xywh ? [{ text: a.body.value, box: { x: Number(xywh[1]), y: Number(xywh[2]), w: Number(xywh[3]), h: Number(xywh[4]) } }] : [];
    });
  };

  let plainLines: Line[] = [];
  t.test('unasked, the run says once that the page comes small and what would upscale it, and reads the page as it is', async (t) => {
    const out = path.join(tmp, 'plain');
    const ran = await loupe(['run', manifestFile, '--pipeline', 'text', '--out', out]);
    t.equal(ran.code, 0, ran.stderr);
    t.match(ran.stderr, /Low-res page: 1 of 1 canvases come at most 384 px where the text reader wants 2048: add --enhance upscale=8/);
    t.equal(ran.stderr.split('\n').filter((l) => l.includes('--enhance')).length, 1, 'one line for the manifest');
    await t.rejects(fs.readdir(path.join(tmp, 'data', 'derived')), 'nothing enhanced unasked');
    plainLines = await linesOf(out);
    t.ok(plainLines.length >= 3, `lines read: ${plainLines.map((l) => l.text).join(' | ')}`);
  });

  t.test('--enhance upscale=2: the text stage reads the derived image, and every line lands where it is on the canvas', async (t) => {
    const out = path.join(tmp, 'enhanced');
    const ran = await loupe(['run', manifestFile, '--pipeline', 'text', '--enhance', 'upscale=2', '--out', out]);
    t.equal(ran.code, 0, ran.stderr);
    t.notMatch(ran.stderr, /add --enhance/, 'no offer when the job upscales');
    const shards = await fs.readdir(path.join(tmp, 'data', 'derived'));
    const kept = (await Promise.all(shards.map((d) => fs.readdir(path.join(tmp, 'data', 'derived', d))))).flat();
    const provenance = JSON.parse(await fs.readFile(path.join(tmp, 'data', 'derived', shards[0]!, kept.find((f) => f.endsWith('.json'))!), 'utf8'));
    t.match(provenance, { width: 768, height: 382, factor: 2, steps: [{ model: 'esrgan-slim-x2' }] }, 'the derived image, kept with its provenance');
    const lines = await linesOf(out);
    t.equal(lines.length, plainLines.length, 'the same lines: preprocess found them once, in the original pixels');
    // One image pixel is two canvas units: the lines are scaled to the derived image and back.
    const gaps = lines.map((l, i) => {
      const p = plainLines[i]!.box;
      return Math.max(Math.abs(l.box.x - p.x), Math.abs(l.box.y - p.y), Math.abs(l.box.w - p.w), Math.abs(l.box.h - p.h));
    });
    t.comment(`line box gaps, canvas units: ${gaps.map((g) => g.toFixed(1)).join(', ')}`);
    t.ok(gaps.every((g) => g <= 2), 'each line within one image pixel of where the plain run put it');
    t.comment(`plain:    ${plainLines.map((l) => l.text).join(' | ')}`);
    t.comment(`enhanced: ${lines.map((l) => l.text).join(' | ')}`);
  });

  t.test('loupe iiif plan shows the offer on a real small master (775 x 1024), and none where the size is reached', async (t) => {
    const info = path.resolve(path.dirname(PAGE), '..', 'iiif', 'info', 'v3-l2-osd-extraformats.json');
    const small = await loupe(['iiif', 'plan', info, '--fit', '2048x2048']);
    t.equal(small.code, 0, small.stderr);
    t.match(small.stdout, /\nupscale: offered x2 \(the server gives 1024 px where 2048 are wanted; loupe run --enhance upscale=2\)/);
    const enough = await loupe(['iiif', 'plan', info, '--fit', '1024x1024']);
    t.notMatch(enough.stdout, /^upscale:/m);
  });

  t.test('a bad --enhance is a usage error; a missing model is said before anything is harvested', async (t) => {
    for (const [value, said] of [
      ['upscale=5', /--enhance takes deblur, upscale=2\|3\|4\|8 and model=slim\|medium\|thick, comma-separated; got upscale=5/],
      ['model=medium', /--enhance needs deblur, upscale=<factor> or both/],
    ] as const) {
      const ran = await loupe(['run', manifestFile, '--enhance', value, '--out', path.join(tmp, 'bad')]);
      t.equal(ran.code, 2, `${value}: usage`);
      t.match(ran.stderr, said, value);
    }
    const ran = await loupe(['run', manifestFile, '--enhance', 'upscale=2,model=no-such-upscaler', '--out', path.join(tmp, 'missing')]);
    t.not(ran.code, 0);
    t.match(ran.stderr, /enhancement \(--enhance\) needs no-such-upscaler/);
    t.match(ran.stderr, /nothing was harvested/);
  });
}
