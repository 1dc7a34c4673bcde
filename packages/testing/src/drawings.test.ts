import sharp from 'sharp';
import t from 'tap';
import { DRAWINGS, type DrawingKind, renderLineDrawing, renderPhotoLike, renderPrintedPage } from './drawings.js';

interface Stats {
  width: number;
  height: number;
  channels: number;
  format: string | undefined;
  /** Share of near-white pixels (mean of the channels above 225): bare paper. */
  paper: number;
  /** Share of dark pixels (mean below 100): ink. */
  ink: number;
  /** Mean of max - min channel: how colourful. */
  chroma: number;
  /** Separate bands of rows holding ink. */
  inkBands: number;
}

async function stats(png: Buffer): Promise<Stats> {
  const meta = await sharp(png).metadata();
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  let paper = 0;
  let ink = 0;
  let chroma = 0;
  let inkBands = 0;
  let inBand = false;
  for (let y = 0; y < height; y++) {
    let rowInk = false;
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
      const l = (r + g + b) / 3;
      if (l > 225) paper++;
      if (l < 100) {
        ink++;
        rowInk = true;
      }
      chroma += Math.max(r, g, b) - Math.min(r, g, b);
    }
    if (rowInk && !inBand) inkBands++;
    inBand = rowInk;
  }
  const n = width * height;
  return { width, height, channels, format: meta.format, paper: paper / n, ink: ink / n, chroma: chroma / n, inkBands };
}

const kinds = Object.keys(DRAWINGS) as DrawingKind[];

t.test('each kind is the same bytes for the same seed and different for another', async (t) => {
  for (const kind of kinds) {
    const draw = DRAWINGS[kind];
    const [a, again, b] = await Promise.all([draw({ seed: 7 }), draw({ seed: 7 }), draw({ seed: 8 })]);
    t.ok(a.image.equals(again.image), `${kind}: seed 7 twice gives the same PNG`);
    t.notOk(a.image.equals(b.image), `${kind}: seeds 7 and 8 differ`);
  }
});

t.test('the size asked for, the same default for every kind, as PNG with three channels', async (t) => {
  for (const kind of kinds) {
    const draw = DRAWINGS[kind];
    const byDefault = await draw({ seed: 1 });
    const s = await stats(byDefault.image);
    t.same([byDefault.width, byDefault.height, s.width, s.height], [512, 384, 512, 384], `${kind}: default 512x384`);
    t.same([s.format, s.channels], ['png', 3], `${kind}: an RGB PNG, so that no alpha channel gives the kind away`);
    const portrait = await draw({ seed: 1, width: 300, height: 420 });
    const p = await stats(portrait.image);
    t.same([portrait.width, portrait.height, p.width, p.height], [300, 420, 300, 420], `${kind}: 300x420 when asked`);
  }
});

t.test('the kinds look like what they stand for, over many seeds', async (t) => {
  for (let seed = 100; seed < 112; seed++) {
    const [line, photo, page] = await Promise.all([
      renderLineDrawing({ seed }).then((d) => stats(d.image)),
      renderPhotoLike({ seed }).then((d) => stats(d.image)),
      renderPrintedPage({ seed }).then((d) => stats(d.image)),
    ]);
    t.ok(line.paper > 0.6 && line.ink > 0.005 && line.chroma < 25, `line drawing ${seed}: ink on bare paper (paper ${line.paper.toFixed(2)}, ink ${line.ink.toFixed(3)}, chroma ${line.chroma.toFixed(1)})`);
    t.ok(photo.paper < 0.02 && photo.chroma > 25, `photograph ${seed}: no bare paper, colourful (paper ${photo.paper.toFixed(3)}, chroma ${photo.chroma.toFixed(1)})`);
    t.ok(page.paper > 0.6 && page.ink > 0.005 && page.inkBands >= 4, `printed page ${seed}: rows of type on paper (paper ${page.paper.toFixed(2)}, ${page.inkBands} bands of ink)`);
  }
});

t.test('a bad seed or size is refused with the value named', async (t) => {
  await t.rejects(renderLineDrawing({ seed: 1.5 }), { code: 'LOUPE_ERR_VALIDATION', message: /seed must be an integer, got 1\.5/ });
  await t.rejects(renderPhotoLike({ seed: 1, width: 10 }), { code: 'LOUPE_ERR_VALIDATION', message: /width must be an integer from 64 to 4096 pixels, got 10/ });
  await t.rejects(renderPrintedPage({ seed: 1, height: 5000 }), { code: 'LOUPE_ERR_VALIDATION', message: /height must be .* got 5000/ });
});
