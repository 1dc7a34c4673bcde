// Small print gets more pixels from the image server: a page whose lines, fitted to the job's
// shared 2048-px request, are too small for Tesseract is fetched again larger (the server's own
// pixels, never an upscaled size), and read from that. A server with no more pixels is not asked.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { characterErrorRate } from '@loupe/datasets';
import { loadConfig, runPipeline } from '@loupe/cli';
import { manifestV3, renderTextPage, SAMPLE_TEXTS, startIiifImageServer } from '@loupe/testing';

const server = await startIiifImageServer();
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-small-print-'));
t.teardown(async () => {
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});
const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir });
const lines = SAMPLE_TEXTS.letter;

/** One canvas of a page `width` px wide whose lines are about 40 px tall at full size, and the width of every image request made for it. */
async function readPage(name: string, width: number) {
  const page = await renderTextPage({ lines, font: 'serif', sizePt: 28, width, format: 'png' });
  const serviceId = await server.addImage(name, page.image, { version: 3, level: 2 });
  server.addDocument(
    `/m/${name}.json`,
    manifestV3({ id: `${server.url}/m/${name}.json`, label: name, canvases: [{ label: 'page', width: page.width, height: page.height, image: { width: page.width, height: page.height, serviceId, version: 3, level: 2 } }] }),
  );
  server.reset();
  const report = await runPipeline(config, { source: `${server.url}/m/${name}.json`, outDir: path.join(dataDir, name) });
  const manifest = JSON.parse(await fs.readFile(report.outputs.manifests[0]!, 'utf8'));
  const text = (manifest.items[0].annotations[0].items as { body: { value: string } }[]).map((a) => a.body.value).join('\n');
  // Image requests are /iiif/<id>/<region>/<size>/...: the size's width.
  const widths = server.requests.filter((r) => r.includes(`/${name}/`) && !r.endsWith('info.json')).map((r) => Number(r.split('/').at(-3)!.split(',')[0]));
  return { report, text, widths, page };
}

t.test('a wide page of small print is fetched again with more of its pixels, and read', async (t) => {
  const { report, text, widths, page } = await readPage('wide', 4200);
  t.equal(report.state, 'done', JSON.stringify(report.failures));
  // The planner may take a little more than 2048 px where the server's scale factors make it cheaper.
  t.equal(widths.length, 2, `the job's shared request, then one more (${widths.join(', ')})`);
  const [shared, bigger] = widths as [number, number];
  t.ok(shared <= 2100, `the shared request fits about 2048 px (${shared})`);
  t.ok(bigger > shared * 1.25 && bigger <= page.width, `the second has more of the server's pixels, never more than it has (${bigger} of ${page.width})`);
  t.ok(characterErrorRate(lines.join('\n'), text) <= 0.03, `read: ${JSON.stringify(text)}`);
});

t.test('a page whose lines are big enough at 2048 px is fetched once', async (t) => {
  const { report, widths } = await readPage('narrow', 1600);
  t.equal(report.state, 'done', JSON.stringify(report.failures));
  t.same(widths, [1600], 'the one shared request, at full size');
});
