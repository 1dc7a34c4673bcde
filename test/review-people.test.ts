// The review page's People tab in headless Chromium against a real Loupe process (gateway, detect,
// embed and ground-truth over real HTTP), with faces that BlazeFace and FaceRes found on fixture
// portraits served by a real IIIF Image API server: people listed with their faces, one named and
// two merged from the keyboard, the outcome read back through the HTTP API.
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { startIiifImageServer } from '@loupe/testing';
import { addFaceCanvases, astronautAndOthers, localCaller } from './support/face-canvases.js';
import { freePort } from './support/loupe-process.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;

const CHROMIUM = '/usr/bin/chromium';
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/fixtures/images');
const ci = Boolean(process.env.CI) && process.env.CI !== 'false';

if (!existsSync(CHROMIUM)) {
  if (ci) t.fail(`${CHROMIUM} is missing, and CI must run the review page tests: install Debian's chromium package`);
  else t.plan(0, `skip: ${CHROMIUM} is missing (Debian's chromium package)`);
} else if (!existsSync(path.join(FIXTURES, 'photo-astronaut-eileen-collins-nasa.png'))) {
  t.plan(0, `skip: no fixtures at ${FIXTURES} (../shared is absent): the People tab test needs the portraits`);
} else {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-review-people-'));
  const images = await startIiifImageServer();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const MANIFEST = `${images.url}/people/manifest`;
  const embedded = await createEmbedded(
    loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1', LOUPE_PUBLIC_URL: base }, { logLevel: 'silent', dataDir, services: ['gateway', 'detect', 'embed', 'ground-truth'] }),
  );
  let browser: Browser | undefined;
  let page: Page | undefined;
  t.teardown(async () => {
    if (!t.passing() && page) {
      const shot = path.join(os.tmpdir(), `review-people-failure-${process.pid}.png`);
      await page.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
      console.error(`# People tab test failed: screenshot ${shot}`);
    }
    await browser?.close();
    await embedded.close();
    await images.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  await embedded.app.start({ port, host: '127.0.0.1' });

  const call = localCaller(base, embedded.app.localAuthorization);

  const pictures = await astronautAndOthers(FIXTURES, { renoir: 'photo-renoir-by-dornac-grayscale-crop.png', hopper: 'thumb-photo-grace-hopper-128.jpg' });
  await addFaceCanvases(images, MANIFEST, pictures, call);
  const people = async () =>
    (await call<{ items: { id: string; size: number; label?: string; uri?: string; representative: { canvasId: string } }[] }>('GET', `/v1/people?manifest=${encodeURIComponent(MANIFEST)}`)).items;

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  // The page's own requests carry the process's local key, as a curator's key would.
  await page.setExtraHTTPHeaders({ authorization: embedded.app.localAuthorization });
  const status = () => page!.locator('#status').textContent();

  await t.test('the People tab lists the people of a manifest with their faces', async (t) => {
    await page!.goto(`${base}/review?view=people&people=${encodeURIComponent(MANIFEST)}`);
    await page!.locator('#people-list li').first().waitFor();
    t.equal(await page!.locator('#people-list li').count(), 3, 'astronaut (2 faces), Renoir, Hopper');
    t.match(await page!.locator('#people-count').textContent(), /^3 people in 4 faces$/);
    const srcs = await page!.locator('#people-list img').evaluateAll((imgs: any[]) => imgs.map((i) => i.getAttribute('src')));
    t.ok(srcs.every((s: string) => s.startsWith(images.url) && s.endsWith('/default.jpg')), 'each face a IIIF image request');
    t.equal(await page!.locator('#tab-people').getAttribute('aria-selected'), 'true');
  });

  await t.test('naming from the keyboard: Name…, type, Tab, type, Enter', async (t) => {
    const astronaut = (await people()).find((p) => p.size === 2)!;
    await page!.locator(`button.name-this[data-person="${astronaut.id}"]`).focus();
    await page!.keyboard.press('Enter');
    t.equal(await page!.evaluate(() => document.activeElement.id), 'name-label', 'the focus goes to the name');
    await page!.keyboard.type('Eileen Collins');
    await page!.keyboard.press('Tab');
    await page!.keyboard.type('https://www.wikidata.org/wiki/Q233591');
    await page!.keyboard.press('Enter');
    await page!.waitForFunction(() => /^Named 2 faces Eileen Collins/.test(document.getElementById('status').textContent));
    t.match(await page!.locator('#people-list').textContent(), /Eileen Collins/);
    t.match((await people()).find((p) => p.label === 'Eileen Collins'), { size: 2, uri: 'https://www.wikidata.org/wiki/Q233591' }, 'stored through the API');
  });

  await t.test('merging two selected people from the keyboard', async (t) => {
    const before = await people();
    const [renoir, hopper] = ['renoir', 'hopper'].map((n) => before.find((p) => p.representative.canvasId.endsWith(n))!);
    for (const p of [renoir!, hopper!]) {
      await page!.locator(`#people-list li[data-person="${p.id}"] input[type=checkbox]`).focus();
      await page!.keyboard.press('Space');
    }
    await page!.locator('#people-merge').focus();
    await page!.keyboard.press('Enter');
    await page!.waitForFunction(() => /^Merged 2 people/.test(document.getElementById('status').textContent));
    t.equal(await page!.locator('#people-list li').count(), 2);
    t.same((await people()).map((p) => p.size), [2, 2], 'stored through the API');
    t.match(await status(), /2 faces/);
  });
}
