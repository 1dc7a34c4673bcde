// The review page's explanation toggle in headless Chromium: a person box CenterNet found on a
// fixture photograph, stored by ground-truth, explained by detect when the curator presses "Why?",
// and the overlay loaded over the canvas image. One process (gateway, detect, ground-truth).
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { chromium, type Browser } from 'playwright-core';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { startIiifImageServer } from '@loupe/testing';

// The functions handed to page.evaluate run in Chromium; the test itself is compiled without DOM types.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;

const CHROMIUM = '/usr/bin/chromium';
const ASTRONAUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures/images/photo-astronaut-eileen-collins-nasa.png');
const skip = !existsSync(CHROMIUM) ? `${CHROMIUM} is missing (Debian's chromium package)` : !existsSync(ASTRONAUT) ? `no fixture at ${ASTRONAUT} (../shared is absent)` : false;

// The first explanation takes 50 CenterNet passes: some 15 s on an idle CPU, minutes on a loaded one.
// Dozens of forward passes per explanation: minutes on a loaded two-core machine, past the suite's two.
t.setTimeout(600_000);

t.test('the review page shows a box explanation over the canvas image', { skip, timeout: 600_000 }, async (t) => {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-explain-review-'));
  const images = await startIiifImageServer();
  const embedded = await createEmbedded(loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir, services: ['gateway', 'detect', 'ground-truth'] }));
  let browser: Browser | undefined;
  t.teardown(async () => {
    await browser?.close();
    await embedded.close();
    await images.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  const { url } = await embedded.app.start({ port: 0, host: '127.0.0.1' });
  const app = embedded.app;

  const serviceId = await images.addImage('astronaut', await fs.readFile(ASTRONAUT), { version: 3, level: 2 });
  const canvasId = `${images.url}/m/canvas/1`;
  const task = {
    jobId: 'j',
    manifestId: `${images.url}/m/manifest.json`,
    canvasId,
    canvasIndex: 0,
    canvasLabel: 'Astronaut',
    canvasWidth: 1024,
    canvasHeight: 1024,
    imageIndex: 0,
    image: { id: `${serviceId}/full/max/0/default.jpg`, width: 512, height: 512, service: { id: serviceId, version: 3 as const, level: 2 as const } },
  };
  const detected = await app.inject({ method: 'POST', url: '/v1/detect', payload: { task, options: { kinds: ['objects'], minScore: 0.5 } } });
  t.equal(detected.statusCode, 200, detected.body.slice(0, 200));
  const stored = await app.inject({ method: 'POST', url: '/v1/results', payload: { task, results: { detect: detected.json() } } });
  t.equal(stored.statusCode, 200, stored.body.slice(0, 200));

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) errors.push(msg.text());
  });
  await page.goto(`${url}/review?canvas=${encodeURIComponent(canvasId)}`);
  const person = page.locator('#annotation-list li.annotation', { hasText: 'person' }).first();
  const why = person.locator('button.explain');
  await why.waitFor({ timeout: 30_000 });
  t.equal(await why.getAttribute('aria-pressed'), 'false', 'a box offers its explanation');

  await why.click();
  await page.waitForFunction(
    () => {
      const img = document.getElementById('explanation-image');
      return Boolean(img && !img.hidden && img.complete && img.naturalWidth > 0);
    },
    null,
    { timeout: 540_000 },
  );
  const shown = await page.evaluate(() => {
    const img = document.getElementById('explanation-image');
    const stage = document.getElementById('stage').getBoundingClientRect();
    const box = img.getBoundingClientRect();
    return { src: img.src as string, natural: [img.naturalWidth, img.naturalHeight], covers: Math.abs(box.width - stage.width) < 2 && Math.abs(box.height - stage.height) < 2 };
  });
  t.match(shown.src, /^blob:/, 'the overlay was fetched with the API credentials and shown from memory');
  t.same(shown.natural, [512, 512], 'the overlay PNG decoded at the fetched size');
  t.ok(shown.covers, 'laid over the whole canvas image');
  t.equal(await page.locator('#annotation-list li.annotation', { hasText: 'person' }).first().locator('button.explain').getAttribute('aria-pressed'), 'true', 'the toggle says it is on');

  await page.locator('#annotation-list li.annotation', { hasText: 'person' }).first().locator('button.explain').click();
  t.ok(await page.evaluate(() => document.getElementById('explanation-image').hidden), 'pressed again, the overlay is hidden');
  t.same(errors, [], 'no page error and nothing the CSP refused');
});
