import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { AnnotationPage } from '@loupe/contracts';
import { characterErrorRate } from '@loupe/datasets';
import { SAMPLE_TEXTS, collectionV3, manifestV2, manifestV3, renderTextPage, startIiifImageServer, type ImageProfile, type PageFont } from '@loupe/demo';
import { openSqliteContentSearch } from '@loupe/store';
import { loadConfig, type LoupeConfig } from './config.js';
import { embeddedDbPath } from './stores.js';
import { runPipeline } from './commands/run.js';
import { Progress } from './progress.js';

/** Canvas units per image pixel: the sample canvases are twice the image size, as scans often are. */
const CANVAS_SCALE = 2;

interface SamplePage {
  readonly id: string;
  readonly label: string;
  readonly font: PageFont;
  readonly lines: readonly string[];
  readonly rotate180?: boolean;
  /** Served through an Image API service with this profile; absent: a plain image URL with no service. */
  readonly profile?: ImageProfile;
}

const PAGES: readonly SamplePage[] = [
  { id: 'catalogue-note', label: 'Catalogue note', font: 'sans', lines: SAMPLE_TEXTS.catalogueNote, profile: { version: 3, level: 2 } },
  { id: 'letter', label: 'Letter to the Keeper', font: 'serif', lines: SAMPLE_TEXTS.letter, profile: { version: 2, level: 1 } },
  { id: 'title-page', label: 'Title page (scanned upside down)', font: 'mono', lines: SAMPLE_TEXTS.titlePage, rotate180: true, profile: { version: 3, level: 0 } },
  { id: 'incipit', label: 'Incipit', font: 'serif-italic', lines: SAMPLE_TEXTS.latin, profile: { version: 2, level: 0, sizes: false, tiles: true } },
  { id: 'register', label: 'Register (no IIIF service)', font: 'sans', lines: SAMPLE_TEXTS.french },
];

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function iou(a: Box, b: Box): number {
  const x = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const y = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = x * y;
  return inter / (a.w * a.h + b.w * b.h - inter);
}

function boxOf(annotation: AnnotationPage['items'][number]): Box | undefined {
  const t = annotation.target;
  const value = typeof t === 'string' ? t.split('#')[1] : t.selector?.value;
  const m = /xywh=(\d+),(\d+),(\d+),(\d+)/.exec(value ?? '');
  return m ? { x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), h: Number(m[4]) } : undefined;
}

function textOf(annotation: AnnotationPage['items'][number]): string {
  const bodies = [annotation.body].flat();
  return bodies.find((b) => b.type === 'TextualBody')?.value ?? '';
}

/**
 * Character error rate of a page: each true line is matched to the annotation whose box overlaps
 * it most, so a line found in the wrong place counts as wrong; lines not found count in full.
 */
function pageErrors(truth: { text: string; box: Box }[], annotations: AnnotationPage['items']): { errors: number; chars: number } {
  let errors = 0;
  let chars = 0;
  const used = new Set<number>();
  for (const line of truth) {
    chars += line.text.length;
    let best = -1;
    let bestIou = 0.3;
    annotations.forEach((a, i) => {
      const box = boxOf(a);
      const overlap = box ? iou(box, line.box) : 0;
      if (!used.has(i) && overlap > bestIou) {
        best = i;
        bestIou = overlap;
      }
    });
    if (best < 0) {
      errors += line.text.length;
      continue;
    }
    used.add(best);
    errors += characterErrorRate(line.text, textOf(annotations[best]!)) * line.text.length;
  }
  // Text found where there is none is an error too.
  annotations.forEach((a, i) => {
    if (!used.has(i)) errors += textOf(a).length;
  });
  return { errors, chars };
}

export interface DemoResult {
  readonly ok: boolean;
  readonly cer: number;
}

/** One word per manifest through the Content Search index, as `loupe serve` answers `/v1/iiif/search/2/...`. */
async function searchDemo(config: LoupeConfig, queries: readonly { manifest: string; label: string; q: string }[]): Promise<{ lines: string[]; all: boolean }> {
  const index = await openSqliteContentSearch({ path: embeddedDbPath(config) });
  try {
    const lines: string[] = [];
    let all = true;
    for (const { manifest, label, q } of queries) {
      const { total, hits } = await index.search({ manifestId: manifest, q, limit: 1, offset: 0 });
      const hit = hits[0];
      const words = hit?.kind === 'ocr' ? hit.matched.map((i) => hit.line.words?.[i]?.text).join(' ') : '';
      all &&= total > 0;
      lines.push(`Content Search "${q}" in ${label}: ${total} hit${total === 1 ? '' : 's'}${hit ? ` (${words || 'a tag'} on ${hit.canvasId})` : ''}`);
    }
    return { lines, all };
  } finally {
    await index.close();
  }
}

/**
 * The README's demo: renders a small collection of printed pages (four fonts, one page upside
 * down, one image with no IIIF service), serves it through a local IIIF Image API server
 * (v2 and v3, levels 0 to 2), runs `loupe run` on it and reports the character error rate.
 */
export async function runDemo(opts: { outDir: string; log?: (line: string) => void }): Promise<DemoResult> {
  const say = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-demo-'));
  const server = await startIiifImageServer();
  try {
    const rendered = await Promise.all(
      PAGES.map((p) => renderTextPage({ lines: p.lines, font: p.font, sizePt: 20, width: 1100, format: 'jpeg', ...(p.rotate180 && { rotate180: true }) })),
    );
    const canvases = await Promise.all(
      PAGES.map(async (page, i) => {
        const r = rendered[i]!;
        const canvas = { label: page.label, width: r.width * CANVAS_SCALE, height: r.height * CANVAS_SCALE };
        if (page.profile) {
          const serviceId = await server.addImage(page.id, r.image, page.profile);
          return { ...canvas, image: { serviceId, version: page.profile.version ?? 3, level: page.profile.level ?? 2, width: r.width, height: r.height } };
        }
        const url = server.addFile(`/files/${page.id}.jpg`, await sharp(r.image).jpeg({ quality: 92 }).toBuffer(), 'image/jpeg');
        return { ...canvas, image: { url, width: r.width, height: r.height } };
      }),
    );
    const printed = `${server.url}/manifests/printed-pages.json`;
    const leaves = `${server.url}/manifests/loose-leaves.json`;
    server.addDocument('/manifests/printed-pages.json', manifestV3({ id: printed, label: 'Printed pages', canvases: canvases.slice(0, 3) }));
    server.addDocument('/manifests/loose-leaves.json', manifestV2({ id: leaves, label: 'Loose leaves', canvases: canvases.slice(3) }));
    const collection = `${server.url}/collections/sample.json`;
    server.addDocument(
      '/collections/sample.json',
      collectionV3({ id: collection, label: 'Loupe sample collection', items: [{ id: printed, label: 'Printed pages' }, { id: leaves, label: 'Loose leaves' }] }),
    );
    say(`Sample collection: ${PAGES.length} pages in 2 manifests (IIIF Presentation 3 and 2.1), served at ${collection}`);
    say('  Image API 3 level 2, 2.1 level 1, 3 level 0 (sizes only), 2.1 level 0 (tiles only), and one plain JPEG with no service');

    // The sample server listens on loopback, which the egress policy denies unless told: allow that address alone.
    const allow = [process.env.LOUPE_FETCH_ALLOW, new URL(server.url).hostname].filter(Boolean).join(',');
    const config = loadConfig({ ...process.env, LOUPE_FETCH_ALLOW: allow }, { logLevel: (process.env.LOUPE_LOG_LEVEL as 'info' | undefined) ?? 'silent', dataDir });
    // Each demo serves its sample on a new port, so an earlier, interrupted demo's job cannot be resumed: start afresh.
    await fs.rm(path.join(opts.outDir, '.loupe'), { recursive: true, force: true });
    const report = await runPipeline(config, { source: collection, outDir: opts.outDir, progress: new Progress() });

    // Score every page against the text it was rendered from.
    let errors = 0;
    let chars = 0;
    say('');
    say('page                               lines  found  CER');
    for (const [m, file] of report.outputs.manifests.entries()) {
      const manifest = JSON.parse(await fs.readFile(file, 'utf8')) as { items: { id: string; annotations?: AnnotationPage[] }[] };
      for (const [c, canvas] of manifest.items.entries()) {
        const pageIndex = m === 0 ? c : 3 + c;
        const page = PAGES[pageIndex]!;
        const truth = rendered[pageIndex]!.lines.map((l) => ({
          text: l.text,
          box: { x: l.box.x * CANVAS_SCALE, y: l.box.y * CANVAS_SCALE, w: l.box.w * CANVAS_SCALE, h: l.box.h * CANVAS_SCALE },
        }));
        const annotations = (canvas.annotations ?? []).flatMap((p) => p.items);
        const score = pageErrors(truth, annotations);
        errors += score.errors;
        chars += score.chars;
        say(`${page.label.padEnd(34)} ${String(truth.length).padStart(5)}  ${String(annotations.length).padStart(5)}  ${((score.errors / score.chars) * 100).toFixed(1)} %`);
      }
    }
    const cer = chars > 0 ? errors / chars : 1;
    say('');
    say(`Character error rate over the sample: ${(cer * 100).toFixed(2)} % (target: at most 5 %)`);
    say(`Job ${report.state}: ${report.canvases} canvases, ${report.images} images, ${report.annotations} annotations, ${report.failures.length} failures`);
    for (const [stage, s] of Object.entries(report.stages)) say(`  ${stage.padEnd(12)} ${String(s.done).padStart(3)} done  ${(s.ms / 1000).toFixed(2)} s`);
    say('');
    const rel = (p: string) => path.relative(process.cwd(), p) || '.';
    say(`Annotations: ${rel(report.outputs.annotations)}/ (one IIIF AnnotationPage per canvas)`);
    say(`Enriched manifests (Presentation 3, annotations embedded per canvas): ${report.outputs.manifests.map(rel).join(', ')}`);
    say(`Report: ${rel(path.join(opts.outDir, 'report.json'))}`);
    say('');
    // IIIF Content Search answers from the index the job's store kept in step with what it read.
    const found = await searchDemo(config, [
      { manifest: printed, label: 'Printed pages', q: 'manuscripts' },
      { manifest: leaves, label: 'Loose leaves', q: 'registre' },
    ]);
    for (const line of found.lines) say(line);
    return { ok: report.state === 'done' && report.failures.length === 0 && cer <= 0.05 && found.all, cer };
  } finally {
    await server.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
