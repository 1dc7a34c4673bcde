// End to end: the curators' review page in headless Chromium against a real `loupe serve` (gateway
// and ground-truth service in one process), with the canvas image from the local IIIF Image API
// server. Reviews go through the page's keys; the store is then read back through the HTTP API.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApiKey } from '@loupe/runtime';
import { makeTestImage, startIiifImageServer } from '@loupe/testing';
import { freePort, spawnLoupe } from './support/loupe-process.js';

// The functions handed to page.evaluate run in Chromium; the test itself is compiled without DOM types.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const localStorage: any;
declare const sessionStorage: any;

const CHROMIUM = '/usr/bin/chromium';
const ci = Boolean(process.env.CI) && process.env.CI !== 'false';

interface StoredAnnotation {
  id: string;
  body: { type: string; value?: string; source?: string; purpose?: string } | { type: string; value?: string; source?: string; purpose?: string }[];
  target: string | { selector?: { value: string } };
  'loupe:reviewState'?: string;
  'loupe:revision'?: number;
}
interface Revision {
  revision: number;
  state: string;
  reviewer: string | null;
  annotation: StoredAnnotation;
}

const keyOf = (id: string) => id.slice(id.lastIndexOf('/') + 1);
const bodies = (a: StoredAnnotation) => (Array.isArray(a.body) ? a.body : [a.body]);
const labelOf = (a: StoredAnnotation) => bodies(a).find((b) => b.type === 'TextualBody' && b.purpose)?.value;
const conceptOf = (a: StoredAnnotation) => bodies(a).find((b) => b.type === 'SpecificResource')?.source;
const xywhOf = (a: StoredAnnotation) => (typeof a.target === 'string' ? undefined : a.target.selector?.value);

if (!existsSync(CHROMIUM)) {
  if (ci) t.fail(`${CHROMIUM} is missing, and CI must run the review page test: install Debian's chromium package`);
  else t.plan(0, `skip: ${CHROMIUM} is missing (Debian's chromium package); the review page test needs a real browser`);
} else {
  t.test('the review page: draw, review by keyboard, correct, evaluate', async (t) => {
    const timings: Record<string, number> = {};
    const began = Date.now();
    let mark = began;
    const lap = (name: string) => {
      const now = Date.now();
      timings[name] = now - mark;
      mark = now;
    };

    const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-review-'));
    const images = await startIiifImageServer();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const child = spawnLoupe(['serve'], {
      cwd: tmp,
      env: {
        LOUPE_PORT: String(port),
        LOUPE_HOST: '127.0.0.1',
        LOUPE_PUBLIC_URL: base,
        LOUPE_DATA_DIR: path.join(tmp, 'data'),
        LOUPE_SERVICES: 'gateway,ground-truth',
        LOUPE_LOG_LEVEL: 'warn',
        LOUPE_FETCH_ALLOW: '127.0.0.1',
      },
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    let gone = false;
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve)).finally(() => (gone = true));
    let browser: Browser | undefined;
    let page: Page | undefined;

    t.teardown(async () => {
      if (!t.passing() && page) {
        const shot = path.join(tmp, 'review-failure.png');
        await page.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
        console.error(`# review page test failed: screenshot ${shot}; loupe stderr:\n${stderr}`);
      }
      await browser?.close();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      await images.close();
      // Kept after a failure: the screenshot and the data directory explain it.
      if (t.passing()) await fs.rm(tmp, { recursive: true, force: true });
    });

    const api = async <T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${base}${url}`, {
        method,
        ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text}`);
      return JSON.parse(text) as T;
    };
    const until = async <T>(probe: () => Promise<T | undefined>, what: string): Promise<T> => {
      for (let i = 0; i < 300; i++) {
        if (gone) throw new Error(`loupe serve exited while waiting for ${what}; stderr: ${stderr}`);
        const value = await probe().catch(() => undefined);
        if (value !== undefined) return value;
        await sleep(100);
      }
      throw new Error(`timed out waiting for ${what}; loupe stderr: ${stderr}`);
    };

    // A canvas twice the image's pixel size: boxes are in canvas coordinates, the image is not.
    const serviceId = await images.addImage('page-1', await makeTestImage({ width: 1600, height: 1200 }), { version: 3, level: 2 });
    const manifestId = `${images.url}/m/review.json`;
    const canvasId = `${images.url}/m/review/canvas/1`;
    const canvas = { width: 3200, height: 2400 };
    const concept = (name: string) => `http://vocab.example.org/concept/${name}`;
    const findings = [
      { motivation: 'tagging', box: { x: 400, y: 300, w: 1000, h: 800 }, label: 'cat', concept: concept('cat'), confidence: 0.91 },
      { motivation: 'tagging', box: { x: 1800, y: 1200, w: 900, h: 700 }, label: 'dog', concept: concept('dog'), confidence: 0.62 },
    ];

    await until(async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 'loupe serve to be ready');
    lap('serve ready');

    await t.test('the page and its assets are served with their headers, and documented in OpenAPI', async (t) => {
      const html = await fetch(`${base}/review`);
      t.equal(html.status, 200, 'GET /review answers');
      t.match(html.headers.get('content-type'), /^text\/html/, 'as HTML');
      t.equal(html.headers.get('cache-control'), 'no-cache', 'revalidated on every load');
      const csp = html.headers.get('content-security-policy') ?? '';
      t.match(csp, /script-src 'self'/, 'only same-origin scripts');
      t.match(csp, /img-src 'self' https: http:/, 'images from any IIIF server');
      t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script or style allowed');
      t.match(await html.text(), /<script src="review\/app\.js" defer><\/script>/, 'the page loads its script by a relative URL');
      const script = await fetch(`${base}/review/app.js`);
      t.match(script.headers.get('content-type'), /^text\/javascript/, 'the script is served as JavaScript');
      const etag = script.headers.get('etag');
      t.ok(etag, 'assets carry an ETag');
      t.equal((await fetch(`${base}/review/app.js`, { headers: { 'if-none-match': etag! } })).status, 304, 'and revalidate to 304');
      t.match((await fetch(`${base}/review/app.css`)).headers.get('content-type'), /^text\/css/, 'the style as CSS');
      const openapi = await api<{ paths: Record<string, unknown> }>('GET', '/openapi.json');
      t.ok(openapi.paths['/review'], 'the page is documented with the API');
    });

    const stored = await api<{ sets: number; inserted: number }>('POST', '/v1/results', {
      task: {
        jobId: 'review-e2e',
        manifestId,
        canvasId,
        canvasIndex: 0,
        canvasLabel: 'Page 1',
        canvasWidth: canvas.width,
        canvasHeight: canvas.height,
        imageIndex: 0,
        image: { id: `${serviceId}/full/max/0/default.jpg`, format: 'image/jpeg', width: 1600, height: 1200, service: { id: serviceId, version: 3, level: 2 } },
      },
      results: {
        detect: {
          resultSets: [
            { manifestId, canvasId, imageIndex: 0, stage: 'detect', model: { id: 'test-detector', version: '1' }, generated: new Date().toISOString(), findings },
          ],
        },
      },
      options: {},
    });
    t.match(stored, { sets: 1, inserted: 2 }, 'the two findings are stored');
    await api('POST', '/v1/datasets', { name: 'review-e2e', sources: [manifestId] });
    // A vocabulary names one of the two concepts; the other is shown by its URI's last segment.
    await api('POST', '/v1/vocabularies', { format: 'europeana-json', id: 'review-e2e', content: JSON.stringify({ 'domestic cat': concept('cat') }) });
    const vocabulary = await api<{ concepts: { uri: string; prefLabel: Record<string, string> }[] }>('GET', '/v1/vocabularies/review-e2e');
    const prefLabels = vocabulary.concepts.find((c) => c.uri === concept('cat'))?.prefLabel ?? {};
    const catName = prefLabels.en ?? prefLabels[''] ?? Object.values(prefLabels)[0];
    t.ok(catName, `the vocabulary names the cat concept (${catName})`);
    const conceptName = (uri: string, label?: string) => label ?? (uri === concept('cat') ? catName : uri.slice(uri.lastIndexOf('/') + 1));
    const before = await api<{ items: StoredAnnotation[] }>('GET', `/v1/annotations?canvas=${encodeURIComponent(canvasId)}`);
    t.same(before.items.map(labelOf), ['cat', 'dog'], 'the API lists the annotations in the order the model gave');
    const [first, second] = before.items.map((a) => keyOf(a.id)) as [string, string];
    lap('data in');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(15_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) pageErrors.push(msg.text());
    });
    const p = page;
    const status = () => p.textContent('#status');
    const waitForStatus = (text: string) =>
      p.waitForFunction((wanted: string) => (document.getElementById('status')?.textContent ?? '').includes(wanted), text).catch(async (err: Error) => {
        throw new Error(`status never said ${JSON.stringify(text)}; it says ${JSON.stringify(await status())} (${err.message})`);
      });
    lap('chromium up');

    await t.test('the canvas image comes through IIIF and the boxes are drawn in place', async (t) => {
      await p.goto(`${base}/review?canvas=${encodeURIComponent(canvasId)}`);
      await p.waitForFunction(() => {
        const img = document.getElementById('canvas-image');
        return document.querySelectorAll('#overlay rect').length === 2 && img.complete && img.naturalWidth > 0;
      });
      lap('page drawn');
      const drawn = await p.evaluate(() => {
        const img = document.getElementById('canvas-image');
        const imgBox = img.getBoundingClientRect();
        return {
          natural: [img.naturalWidth, img.naturalHeight],
          src: img.getAttribute('src'),
          viewBox: document.getElementById('overlay').getAttribute('viewBox'),
          shown: { left: imgBox.left, top: imgBox.top, width: imgBox.width, height: imgBox.height },
          rects: [...document.querySelectorAll('#overlay rect')].map((r: any) => {
            const b = r.getBoundingClientRect();
            return { attrs: ['x', 'y', 'width', 'height'].map((n) => Number(r.getAttribute(n))), left: b.left, top: b.top, width: b.width, height: b.height };
          }),
          labels: [...document.querySelectorAll('#overlay text')].map((n: any) => n.textContent),
          listed: [...document.querySelectorAll('#annotation-list .pick')].map((n: any) => n.textContent),
          concepts: [...document.querySelectorAll('#annotation-list dd a')].map((n: any) => [n.textContent, n.getAttribute('href')]),
          current: document.querySelector('#annotation-list li[aria-current="true"]')?.getAttribute('data-key'),
          count: document.getElementById('canvas-count').textContent,
        };
      });
      t.equal(drawn.viewBox, `0 0 ${canvas.width} ${canvas.height}`, 'the overlay uses canvas coordinates');
      t.same(drawn.natural, [1200, 900], 'the IIIF server rendered the image fitted in 1200x1200');
      t.match(drawn.src, new RegExp(`^${serviceId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`), 'the image is an Image API request');
      t.ok(
        images.requests.some((r) => r.startsWith('/iiif/page-1/') && r.endsWith('/default.jpg')),
        `Chromium asked the IIIF server for the image (requests: ${images.requests.join(', ')})`,
      );
      t.same(drawn.rects.map((r) => r.attrs).sort(), findings.map((f) => [f.box.x, f.box.y, f.box.w, f.box.h]).sort(), 'one rect per box, in canvas units');
      const scale = drawn.shown.width / canvas.width;
      for (const r of drawn.rects) {
        const [x, y, w] = r.attrs as [number, number, number, number];
        t.ok(
          Math.abs(r.left - (drawn.shown.left + x * scale)) < 2 && Math.abs(r.top - (drawn.shown.top + y * scale)) < 2 && Math.abs(r.width - w * scale) < 2,
          `box at ${x},${y} lies on the image where the canvas puts it (${r.left.toFixed(1)},${r.top.toFixed(1)})`,
        );
      }
      t.same(drawn.labels.map((l: string) => l.split(' ')[0]).sort(), ['cat', 'dog'], 'boxes carry their labels');
      t.same(drawn.listed, ['cat', 'dog'], 'the annotations panel lists both');
      t.same(
        drawn.concepts,
        [
          [catName, concept('cat')],
          ['dog', concept('dog')],
        ],
        'concepts link to their URI, named by the vocabulary where it names them',
      );
      t.equal(drawn.current, first, 'the first annotation is selected');
      t.equal(drawn.count, 'Canvas 1 of 1 canvas', 'the canvas counter');
    });

    await t.test('accept with a, move with j, correct with c and Enter', async (t) => {
      await p.fill('#reviewer', 'Ada Lovelace');
      await p.click('#annotation-0');
      await p.keyboard.press('a');
      await waitForStatus("Accepted 'cat'");
      t.equal(await p.evaluate(() => localStorage.getItem('loupe.reviewer')), 'Ada Lovelace', 'the reviewer name is remembered');
      t.match(await p.getAttribute(`#overlay g[data-key="${first}"]`, 'class'), /state-accepted/, 'the box shows the new state');

      await p.keyboard.press('j');
      await p.waitForSelector(`#annotation-list li[aria-current="true"][data-key="${second}"]`);
      t.match(p.url(), new RegExp(`[?&]annotation=${second}(&|$)`), 'the selection is in the URL');
      t.match(await p.getAttribute(`#overlay g[data-key="${second}"]`, 'class'), /selected/, 'the selected box is highlighted');

      await p.keyboard.press('c');
      await p.waitForSelector('#correct-form', { state: 'visible' });
      const prefilled = await p.evaluate(() => ({
        focused: document.activeElement?.id,
        values: ['label', 'concept', 'x', 'y', 'w', 'h', 'text'].map((f) => document.getElementById(`correct-${f}`).value),
      }));
      t.equal(prefilled.focused, 'correct-label', 'the label field has the focus');
      t.same(prefilled.values, ['dog', concept('dog'), '1800', '1200', '900', '700', ''], 'the form is prefilled');
      // Typed letters are text, not commands: "jackal" holds j, a, c and k.
      await p.fill('#correct-label', '');
      await p.keyboard.type('jackal');
      await p.fill('#correct-x', '1750');
      await p.fill('#correct-y', '1150');
      await p.fill('#correct-w', '1000');
      await p.fill('#correct-h', '760');
      await p.keyboard.press('Enter');
      await waitForStatus("Corrected 'jackal'");
      await p.waitForSelector('#correct-form', { state: 'hidden' });
      t.equal(await p.evaluate(() => document.activeElement?.id), 'annotation-1', 'the focus returns to the annotation');
      const box = await p.evaluate((key: string) => {
        const g = document.querySelector(`#overlay g[data-key="${key}"]`);
        const r = g.querySelector('rect');
        return { rect: ['x', 'y', 'width', 'height'].map((n) => r.getAttribute(n)).join(','), text: g.querySelector('text').textContent };
      }, second);
      t.equal(box.rect, '1750,1150,1000,760', 'the corrected box is drawn');
      t.match(box.text, /^jackal/, 'with its new label');

      await p.keyboard.press('h');
      await p.waitForSelector('#history', { state: 'visible' });
      const revisions = await p.$$eval('#history-list li', (items: any[]) => items.map((li) => li.textContent));
      t.equal(revisions.length, 2, 'the history shows both revisions');
      t.match(revisions[0], /Revision 0: unreviewed.*'dog'/, 'revision 0 with the original label');
      t.match(revisions[1], /Revision 1: corrected by Ada Lovelace.*'jackal'/, 'revision 1 with the reviewer and the new label');
      lap('review by keys');
    });

    await t.test('the store holds the reviews, with their history', async (t) => {
      const after = await api<{ items: StoredAnnotation[] }>('GET', `/v1/annotations?canvas=${encodeURIComponent(canvasId)}`);
      const byKey = new Map(after.items.map((a) => [keyOf(a.id), a]));
      t.equal(byKey.get(first)?.['loupe:reviewState'], 'accepted', 'the first is accepted');
      t.equal(byKey.get(first)?.['loupe:revision'], 1, 'at revision 1');
      const corrected = byKey.get(second)!;
      t.equal(corrected['loupe:reviewState'], 'corrected', 'the second is corrected');
      t.equal(corrected['loupe:revision'], 1, 'at revision 1');
      t.equal(labelOf(corrected), 'jackal', 'the new label');
      t.equal(conceptOf(corrected), concept('dog'), 'the concept was left as it was');
      t.equal(xywhOf(corrected), 'xywh=1750,1150,1000,760', 'the new box');

      const accepted = await api<{ items: Revision[] }>('GET', `/v1/annotations/${first}/history`);
      t.same(
        accepted.items.map((r) => [r.revision, r.state, r.reviewer]),
        [
          [0, 'unreviewed', null],
          [1, 'accepted', 'Ada Lovelace'],
        ],
        'typing "jackal" reviewed nothing else',
      );
      const history = await api<{ items: Revision[] }>('GET', `/v1/annotations/${second}/history`);
      t.equal(history.items.length, 2, 'the corrected annotation has two revisions');
      t.match(history.items[0], { revision: 0, state: 'unreviewed' }, 'revision 0 as produced');
      t.equal(labelOf(history.items[0]!.annotation), 'dog', 'revision 0 keeps what the model said');
      t.equal(xywhOf(history.items[0]!.annotation), 'xywh=1800,1200,900,700', 'and the box it drew');
      t.match(history.items[1], { revision: 1, state: 'corrected', reviewer: 'Ada Lovelace' }, 'revision 1 by the reviewer typed in the page');
    });

    await t.test('a link opens the same view', async (t) => {
      await p.reload();
      await p.waitForSelector(`#annotation-list li[aria-current="true"][data-key="${second}"]`);
      t.equal(await p.textContent(`#annotation-list li[data-key="${second}"] .pick`), 'jackal', 'the corrected label after a reload');
      t.equal(await p.textContent(`#annotation-list li[data-key="${second}"] .state`), 'corrected', 'and its state');
    });

    await t.test('filters narrow the view, and are in the URL', async (t) => {
      await p.selectOption('#filter-state', 'corrected');
      await p.waitForFunction(() => document.querySelectorAll('#annotation-list li[data-key]').length === 1);
      t.equal(await p.getAttribute('#annotation-list li[data-key]', 'data-key'), second, 'only the corrected annotation is listed');
      t.equal(await p.$$eval('#overlay rect', (rects: any[]) => rects.length), 1, 'and drawn');
      t.match(p.url(), /[?&]state=corrected(&|$)/, 'the filter is in the URL');
      await p.fill('#filter-concept', concept('cat'));
      await p.click('#filters button[type="submit"]');
      await waitForStatus('No canvas matches these filters');
      t.equal(await p.textContent('#canvas-count'), 'No canvas matches the filters', 'the counter says so');
      await p.goto(`${base}/review?canvas=${encodeURIComponent(canvasId)}&concept=${encodeURIComponent(concept('cat'))}`);
      await p.waitForFunction(() => document.querySelectorAll('#annotation-list li[data-key]').length === 1);
      t.equal(await p.getAttribute('#annotation-list li[data-key]', 'data-key'), first, 'a linked concept filter keeps the cat only');
      t.equal(await p.inputValue('#filter-concept'), concept('cat'), 'and shows in the filter field');
    });

    await t.test('the evaluation section renders the report', async (t) => {
      await p.click('#tab-evaluation');
      await p.fill('#eval-model', 'test-detector');
      await p.selectOption('#eval-dataset', 'review-e2e');
      await p.click('#eval-form button[type="submit"]');
      await p.waitForSelector('#eval-result table');
      const report = await api<{
        canvases: number;
        labels?: { classes: { concept: string }[] };
        boxes?: { classes: { concept: string; label?: string; ap: number }[]; map: number };
      }>('GET', '/v1/evaluations?model=test-detector&dataset=review-e2e');
      t.ok(report.boxes, 'the reviewed boxes are ground truth for a box report');
      const classes = report.boxes?.classes ?? [];
      t.ok(classes.length > 0, 'the report has classes');
      const rows = await p.$$eval('#eval-boxes tbody tr', (trs: any[]) => trs.map((tr) => [...tr.cells].map((c: any) => c.textContent)));
      t.equal(rows.length, classes.length, 'one row per class');
      for (const [i, c] of classes.entries()) {
        t.equal(rows[i]?.[1], c.ap.toFixed(3), `the AP of ${c.concept}`);
        t.equal(rows[i]?.[0], conceptName(c.concept, c.label), `the row names ${c.concept}`);
      }
      t.equal(await p.textContent('#eval-boxes tfoot td'), report.boxes!.map.toFixed(3), 'the mean AP');
      if (report.labels) t.equal((await p.$$('#eval-labels tbody tr')).length, report.labels.classes.length, 'one label row per class');
      t.match(p.url(), /view=evaluation/, 'the URL names the tab');
      t.match(p.url(), /evalModel=test-detector&evalDataset=review-e2e/, 'and the model and dataset');
      lap('evaluation');
    });

    await t.test('API errors reach the status line', async (t) => {
      await p.goto(`${base}/review?view=evaluation&evalModel=test-detector&evalDataset=no-such-dataset`);
      await waitForStatus('Error LOUPE_ERR_NOT_FOUND');
      t.match(await p.getAttribute('#status', 'class'), /error/, 'shown as an error');
      t.equal(await p.$$eval('#eval-result table', (n: any[]) => n.length), 0, 'no stale report is left on screen');
    });

    await t.test('with API keys the page asks for one, keeps it for the tab only, and reviews as its holder', async (t) => {
      const keysFile = path.join(tmp, 'data', 'keys.json');
      const { token } = await createApiKey(keysFile, { name: 'Review Curator', role: 'curator' });
      // The server re-reads the keys file within a second: wait until it asks for credentials.
      await until(async () => ((await fetch(`${base}/v1/canvases`)).status === 401 ? true : undefined), 'the API to need a key');
      const context = await browser!.newContext({ viewport: { width: 1400, height: 1000 } });
      const keyed = await context.newPage();
      keyed.on('pageerror', (err) => pageErrors.push(err.message));
      await keyed.goto(`${base}/review?canvas=${encodeURIComponent(canvasId)}`);
      await keyed.waitForSelector('#key-form', { state: 'visible' });
      t.match(await keyed.textContent('#key-why'), /needs an API key/, 'the page says why it asks');
      await keyed.fill('#api-key', 'loupe_000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro');
      await keyed.press('#api-key', 'Enter');
      await keyed.waitForFunction(() => /refused/.test(document.getElementById('key-why')?.textContent ?? '') && !document.getElementById('key-form').hidden);
      t.pass('a wrong key is refused, and the page asks again');
      await keyed.fill('#api-key', token);
      await keyed.press('#api-key', 'Enter');
      await keyed.waitForFunction(() => document.querySelectorAll('#overlay rect').length >= 1);
      t.ok(await keyed.isHidden('#key-form'), 'the form goes once the key works');
      t.ok(await keyed.isHidden('.bar .reviewer'), 'no reviewer field: the key says who reviews');
      const stored = await keyed.evaluate(() => ({ session: sessionStorage.getItem('loupe.apiKey'), local: JSON.stringify(localStorage) }));
      t.equal(stored.session, token, 'the key is in sessionStorage');
      t.notOk(stored.local.includes(token), 'and not in localStorage');
      t.notOk(keyed.url().includes(token.slice(-43)), 'nor in the URL');

      await keyed.click('#annotation-0');
      await keyed.keyboard.press('r');
      await keyed.waitForFunction(() => (document.getElementById('status')?.textContent ?? '').includes("Rejected 'cat'"));
      const res = await fetch(`${base}/v1/annotations/${first}/history`, { headers: { authorization: `Bearer ${token}` } });
      const history = (await res.json()) as { items: Revision[] };
      t.same(history.items.at(-1)?.reviewer, 'Review Curator', "the revision names the key's holder");
      await context.close();
    });

    t.same(pageErrors, [], 'no script error and no Content-Security-Policy violation');
    timings.total = Date.now() - began;
    t.comment(`timings (ms): ${JSON.stringify(timings)}`);
  });
}
