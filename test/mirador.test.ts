// End to end: Loupe's enriched manifest in Mirador 4, as a library's readers would see it. A real
// `loupe serve` reads a printed page from the local IIIF Image API server (a text job); headless
// Chromium opens test/viewer/mirador.html from a third origin, with Mirador's bundle from
// node_modules, pointed at GET /v1/jobs/{id}/manifest. Layers and Content Search are checked once
// the manifest offers them, and skipped with the reason until then.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { manifestV3, renderTextPage, SAMPLE_TEXTS, startIiifImageServer } from '@loupe/testing';
import { startServe, until } from './support/crash-scenario.js';
import { startViewerHost } from './support/viewer-host.js';
import type { Box, Probe } from './viewer/viewer.probe.js';

// The functions handed to page.evaluate run in Chromium; the test itself is compiled without DOM types.
declare const window: { loupeProbe: Probe; loupeViewer: { layers: { layers(): { id: string; label: string }[] } } };

const CHROMIUM = '/usr/bin/chromium';
const ci = Boolean(process.env.CI) && process.env.CI !== 'false';
const SEARCH_2 = 'SearchService2';
const SEARCH_1_PROFILE = 'http://iiif.io/api/search/1/search';

interface Json {
  [key: string]: unknown;
}
interface ShownAnnotation {
  id: string;
  text: string;
  xywh: [number, number, number, number];
  layers: string[];
}

const xywhIn = (target: unknown): [number, number, number, number] | undefined => {
  const m = /xywh=(?:pixel:)?(\d+),(\d+),(\d+),(\d+)/.exec(JSON.stringify(target));
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] : undefined;
};
const textOf = (body: unknown): string =>
  [body]
    .flat()
    .map((b) => (b as { value?: string; purpose?: string }))
    .filter((b) => b.purpose !== 'tagging' && typeof b.value === 'string')
    .map((b) => b.value)
    .join(' ');

/** The annotations an enriched manifest embeds on a canvas, with their boxes and layers. */
function annotationsOn(manifest: Json, canvasId: string): ShownAnnotation[] {
  const canvas = (manifest.items as Json[]).find((c) => c.id === canvasId);
  const pages = (canvas?.annotations ?? []) as { partOf?: { id: string }[]; items?: Json[] }[];
  return pages.flatMap((page) =>
    (page.items ?? []).map((a) => ({
      id: String(a.id),
      text: textOf(a.body),
      xywh: xywhIn(a.target)!,
      layers: [...(page.partOf ?? []), ...((a.partOf ?? []) as { id: string }[])].map((l) => l.id),
    })),
  );
}

const near = (a: Box, b: Box, slack: number) =>
  Math.abs((a.left + a.right) / 2 - (b.left + b.right) / 2) <= 2 &&
  Math.abs((a.top + a.bottom) / 2 - (b.top + b.bottom) / 2) <= 2 &&
  Math.abs(a.right - a.left - (b.right - b.left)) <= slack &&
  Math.abs(a.bottom - a.top - (b.bottom - b.top)) <= slack;
const show = (b: Box | undefined) => (b ? `${b.left.toFixed(1)},${b.top.toFixed(1)} to ${b.right.toFixed(1)},${b.bottom.toFixed(1)}` : 'nothing');

if (!existsSync(CHROMIUM)) {
  if (ci) t.fail(`${CHROMIUM} is missing, and CI must run the Mirador test: install Debian's chromium package`);
  else t.plan(0, `skip: ${CHROMIUM} is missing (Debian's chromium package); the Mirador test needs a real browser`);
} else {
  t.test('Loupe’s enriched manifest in Mirador', async (t) => {
    const began = Date.now();
    const timings: Record<string, number> = {};
    let mark = began;
    const lap = (name: string) => {
      timings[name] = Date.now() - mark;
      mark = Date.now();
    };

    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-mirador-'));
    const images = await startIiifImageServer();
    const host = await startViewerHost();
    let browser: Browser | undefined;
    let page: Page | undefined;
    t.teardown(async () => {
      if (!t.passing() && page) {
        const shot = path.join(tmp, 'mirador-failure.png');
        await page.screenshot({ path: shot }).catch(() => undefined);
        console.error(`# Mirador test failed: screenshot ${shot}`);
      }
      await browser?.close();
      await host.close();
      await images.close();
      // Kept after a failure: the screenshot and the data directory explain it.
      if (t.passing()) await fs.rm(tmp, { recursive: true, force: true });
    });

    const printed = await renderTextPage({ lines: SAMPLE_TEXTS.catalogueNote, font: 'serif', sizePt: 20, width: 1000, format: 'jpeg' });
    const serviceId = await images.addImage('page', printed.image, { version: 3, level: 2 });
    const sourceUrl = `${images.url}/m/catalogue.json`;
    const source = manifestV3({
      id: sourceUrl,
      label: 'Catalogue note',
      canvases: [{ label: 'p. 1', width: printed.width, height: printed.height, image: { serviceId, version: 3, level: 2, width: printed.width, height: printed.height } }],
    });
    images.addDocument('/m/catalogue.json', source);
    const canvasId = (source.items as { id: string }[])[0]!.id;

    const serve = await startServe(t, { LOUPE_DATA_DIR: path.join(tmp, 'data'), LOUPE_IIIF_PUBLIC: '1' });
    lap('serve ready');
    const created = await fetch(`${serve.base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ manifest: sourceUrl, pipeline: 'text' }),
    });
    t.equal(created.status, 200, 'the text job is taken');
    const jobId = ((await created.json()) as { id: string }).id;
    const job = await until(
      'the text job to end',
      async () => {
        const view = await serve.job(jobId);
        return view.state === 'done' || view.state === 'failed' ? view : undefined;
      },
      { timeoutMs: 60_000, log: serve.stderr },
    );
    t.equal(job.state, 'done', `the job is done (${JSON.stringify(job.failures)})`);
    lap('text job');

    const manifestUrl = `${serve.base}/v1/jobs/${jobId}/manifest`;
    const manifest = (await (await fetch(manifestUrl)).json()) as Json;
    const shown = annotationsOn(manifest, canvasId);
    t.ok(shown.length >= 3, `the manifest embeds the page's lines (${shown.map((a) => a.text).join(' | ')})`);
    t.ok(shown.every((a) => a.xywh), 'each on a box of the canvas');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(20_000);
    const p = page;
    const pageErrors: string[] = [];
    const failed: string[] = [];
    const fetched: { url: string; status: number; allowOrigin: string | undefined; sentOrigin: string | undefined }[] = [];
    const reading: Promise<unknown>[] = [];
    p.on('pageerror', (err) => pageErrors.push(err.message));
    p.on('requestfailed', (req) => failed.push(`${req.url()} (${req.failure()?.errorText})`));
    p.on('response', (res) => {
      if (!['fetch', 'xhr'].includes(res.request().resourceType())) return;
      // allHeaders: the ones the network stack added too (Origin among them).
      const read = Promise.all([res.request().allHeaders(), res.allHeaders()]).then(([sent, got]) =>
        fetched.push({ url: res.url(), status: res.status(), allowOrigin: got['access-control-allow-origin'], sentOrigin: sent.origin }),
      );
      reading.push(read.catch(() => undefined));
    });
    const probe = <T>(fn: (probe: Probe) => T): Promise<T> => p.evaluate(`(${fn.toString()})(window.loupeProbe)`) as Promise<T>;
    lap('chromium up');

    await t.test('Mirador shows the canvas and lists Loupe’s annotations', async (t) => {
      await p.goto(`${host.base}/mirador.html?manifest=${encodeURIComponent(manifestUrl)}`);
      await p.waitForFunction(() => window.loupeProbe !== undefined);
      const drawn = await until('OpenSeadragon to draw the image', () => probe((pr) => {
        const image = pr.image();
        return image?.loaded ? image : undefined;
      }), { timeoutMs: 20_000 });
      lap('canvas drawn');
      t.same(drawn.bounds.map((v) => Math.round(v * 100) / 100), [0, 0, printed.width, printed.height], 'the image fills the canvas in Mirador’s world');
      t.ok(
        images.requests.some((r) => r.startsWith('/iiif/page/') && !r.endsWith('info.json')),
        'Chromium asked the IIIF server for image tiles',
      );
      const listed = await until('the annotation panel to list the lines', async () => {
        const items = await probe((pr) => pr.listed());
        return items.length >= shown.length ? items : undefined;
      }, { timeoutMs: 15_000 });
      t.same(listed.map((i) => i.text).sort(), shown.map((a) => a.text).sort(), 'the panel lists every line by its text');
      t.same(listed.map((i) => i.id).sort(), shown.map((a) => a.id).sort(), 'as the annotations Loupe served');
    });

    await t.test('selecting an annotation draws its box where the annotation says', async (t) => {
      const line = shown.reduce((a, b) => (b.xywh[2] > a.xywh[2] ? b : a));
      await p.click(`[annotationid="${line.id}"]`);
      const [x, y, w, h] = line.xywh;
      const placed = await until('the selected box to be drawn in place', async () => {
        const got = await probe((pr) => pr.selectedBox());
        const expected = await p.evaluate(`window.loupeProbe.screenBox(${x}, ${y}, ${w}, ${h})`) as Box;
        return got && near(got, expected, 8) ? { got, expected } : undefined;
      }, { timeoutMs: 10_000 }).catch(async (err: Error) => {
        const got = await probe((pr) => pr.selectedBox());
        throw new Error(`${err.message}: drawn ${show(got)}`);
      });
      t.pass(`'${line.text}' at xywh=${line.xywh.join(',')} is outlined at ${show(placed.got)} (the canvas puts it at ${show(placed.expected)})`);
      t.equal(await probe((pr) => pr.selectedAnnotation()), line.id, 'Mirador holds it as selected');
      lap('box checked');
    });

    await t.test('layers can be toggled', async (t) => {
      const layers = [...new Set(shown.flatMap((a) => a.layers))];
      if (layers.length === 0) return t.skip('the manifest’s annotation pages are part of no AnnotationCollection yet (no layers to toggle)');
      const offered = await until('the layer switch to list the layers', async () => {
        const found = await p.evaluate(() => window.loupeViewer.layers.layers());
        return found.length >= layers.length ? found : undefined;
      });
      t.same(offered.map((l) => l.id).sort(), layers.sort(), 'the page offers one switch per layer');
      t.ok(offered.every((l) => l.label !== l.id), `each with a label a person reads (${offered.map((l) => l.label).join('; ')})`);
      const off = layers[0]!;
      const staying = shown.filter((a) => !a.layers.includes(off)).map((a) => a.id).sort();
      await p.click(`#layers input[data-layer="${off}"]`);
      const listedOff = await until('the layer to leave the panel', async () => {
        const ids = (await probe((pr) => pr.listed())).map((i) => i.id).sort();
        return JSON.stringify(ids) === JSON.stringify(staying) ? ids : undefined;
      });
      t.same(listedOff, staying, `hiding "${offered.find((l) => l.id === off)!.label}" leaves only the other layers’ annotations`);
      await p.click(`#layers input[data-layer="${off}"]`);
      await until('the layer to come back', async () => ((await probe((pr) => pr.listed())).length === shown.length ? true : undefined));
      t.pass('showing it again brings its annotations back');
    });

    await t.test('Content Search finds a word on the page', async (t) => {
      const services = [manifest.service ?? []].flat() as Json[];
      const v2 = services.find((s) => s.type === SEARCH_2);
      const v1 = services.find((s) => [s.profile].flat().includes(SEARCH_1_PROFILE));
      if (!v2 && !v1) return t.skip('the manifest advertises no Content Search service yet (SearchService2 or a search/1 profile)');
      const line = shown.find((a) => /\bvellum\b/.test(a.text)) ?? shown[0]!;
      const word = /\bvellum\b/.test(line.text) ? 'vellum' : line.text.split(/\s+/).find((w) => /^[a-z]{4,}$/i.test(w))!;
      if (v2) {
        // From the viewer's origin, as a viewer asks it: the answer must be readable there (CORS).
        const url = `${String(v2.id)}?q=${encodeURIComponent(word)}`;
        const answer = (await p.evaluate(`fetch(${JSON.stringify(url)}).then((r) => r.json())`)) as { type: string; items?: Json[] };
        t.equal(answer.type, 'AnnotationPage', 'Content Search 2.0 answers with an AnnotationPage');
        const hit = (answer.items ?? []).map((a) => xywhIn(a.target)).find(Boolean);
        t.ok(hit, `a hit for "${word}" on a box of the canvas`);
        if (hit) {
          const [x, y, w, h] = line.xywh;
          t.ok(hit[0] >= x - 2 && hit[1] >= y - 2 && hit[0] + hit[2] <= x + w + 2 && hit[1] + hit[3] <= y + h + 2, `inside the line that holds it (${hit.join(',')} in ${line.xywh.join(',')})`);
        }
      }
      if (!v1) return t.skip('Mirador 4 reads only Content Search 0/1 services (profile http://iiif.io/api/search/1/search); the manifest has no such service yet');
      await p.getByRole('tab', { name: /search/i }).click();
      const input = p.getByLabel('search terms');
      await input.fill(word);
      await input.press('Enter');
      const hitBox = await until('the first hit to be highlighted', () => probe((pr) => pr.selectedHitBox()), { timeoutMs: 10_000 });
      const searched = fetched.find((f) => f.url.startsWith(String(v1['@id'] ?? v1.id)));
      if (!searched) return t.fail('Mirador did not ask Loupe’s search service');
      // The same question from here gets the same answer: where the first hit is.
      const answer = (await (await fetch(searched.url)).json()) as { resources?: { on?: unknown }[] };
      const hit = xywhIn(answer.resources?.[0]?.on);
      if (!hit) return t.fail(`the search answer has no hit on a box: ${JSON.stringify(answer).slice(0, 500)}`);
      const [x, y, w, h] = hit;
      const expected = (await p.evaluate(`window.loupeProbe.screenBox(${x}, ${y}, ${w}, ${h})`)) as Box;
      t.ok(near(hitBox, expected, 3), `the hit for "${word}" (xywh=${hit.join(',')}) is highlighted at ${show(hitBox)}, where the canvas puts it (${show(expected)})`);
      lap('search');
    });

    await t.test('every IIIF-facing answer the viewer read carries CORS headers', async (t) => {
      await Promise.all(reading);
      // By port: the ids Loupe writes use its public URL, whose host may differ from 127.0.0.1.
      const fromLoupe = fetched.filter((f) => new URL(f.url).port === new URL(serve.base).port);
      t.ok(fromLoupe.some((f) => f.url === manifestUrl), 'Mirador fetched the enriched manifest from Loupe');
      t.same(
        fromLoupe.filter((f) => f.sentOrigin !== host.base || !f.allowOrigin || (f.allowOrigin !== '*' && f.allowOrigin !== host.base)),
        [],
        `each of Loupe’s ${fromLoupe.length} answers was a cross-origin read allowed by Access-Control-Allow-Origin`,
      );
      t.same(fromLoupe.filter((f) => f.status !== 200), [], 'and answered 200');
      t.ok(fetched.some((f) => f.url.startsWith(`${serviceId}/info.json`) && f.allowOrigin), 'the image service’s info.json was read across origins too');
      t.same(failed, [], 'no request failed');
      t.same(pageErrors, [], 'no script error on the page');
      timings.total = Date.now() - began;
      t.comment(`timings (ms): ${JSON.stringify(timings)}`);
    });
  });
}
