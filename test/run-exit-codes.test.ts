// Issue 17, "fail early and loudly": `loupe run` as a script sees it. Exit 0 when every canvas was
// done, 3 when some failed (0 with --allow-failures), 4 when nothing could run, with the failures
// grouped by cause on the terminal and in report.json; what can be checked before harvesting is,
// and named with its fix. A real process, real HTTP, real files; the embed pipeline, the lightest.
import { promises as dns } from 'node:dns';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { makeTestImage, manifestV3, startIiifImageServer } from '@loupe/testing';
import { freePort, runLoupe } from './support/loupe-process.js';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-exit-'));
t.teardown(() => fs.rm(tmp, { recursive: true, force: true }));
const dataDir = path.join(tmp, 'data');
const loupe = (args: string[], env: Record<string, string> = {}) => runLoupe(args, { cwd: tmp, env: { LOUPE_DATA_DIR: dataDir, ...env } });

const server = await startIiifImageServer();
t.teardown(() => server.close());
const picture = await makeTestImage({ width: 320, height: 240 });
const plain = (name: string) => ({ url: server.addFile(`/files/${name}.jpg`, picture, 'image/jpeg'), width: 320, height: 240 });
const canvases = (images: { url: string; width: number; height: number }[]) => images.map((image, i) => ({ label: `p. ${i + 1}`, width: 320, height: 240, image }));

const good = `${server.url}/m/good.json`;
server.addDocument('/m/good.json', manifestV3({ id: good, canvases: canvases([plain('a'), plain('b')]) }));
const oneMissing = `${server.url}/m/one-missing.json`;
server.addDocument('/m/one-missing.json', manifestV3({ id: oneMissing, canvases: canvases([plain('c'), { url: `${server.url}/files/gone.jpg`, width: 320, height: 240 }]) }));

const readReport = async (out: string) => JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8'));

t.test('every canvas done: exit 0', async (t) => {
  const out = path.join(tmp, 'good');
  const ran = await loupe(['run', good, '--pipeline', 'embed', '--out', out]);
  t.equal(ran.code, 0, ran.stderr);
  t.match(ran.stdout, 'done: 2 canvases, 2 images');
  t.notMatch(ran.stdout, 'by cause');
  t.same((await readReport(out)).causes, []);
});

t.test("one canvas's image answers 404: exit 3, the cause grouped with its fix; --allow-failures exits 0", async (t) => {
  const out = path.join(tmp, 'one-missing');
  const ran = await loupe(['run', oneMissing, '--pipeline', 'embed', '--out', out]);
  t.equal(ran.code, 3, ran.stderr);
  t.match(ran.stdout, /1 canvas: not found \(404 or 410\) on 127\.0\.0\.1 \(LOUPE_ERR_FETCH_NOT_FOUND, permanent\): the server has no such resource: check the manifest's image URLs/);
  t.match(ran.stdout, `${oneMissing.replace('.json', '')}`, 'an example canvas');
  const report = await readReport(out);
  t.match(report.tasks, { total: 2, done: 1, failed: 1 });
  t.match(report.causes, [{ code: 'LOUPE_ERR_FETCH_NOT_FOUND', count: 1, retryable: false, examples: [String] }]);
  t.equal(report.failures.length, 1, 'the full list stays in report.json');

  const lenient = await loupe(['run', oneMissing, '--pipeline', 'embed', '--out', path.join(tmp, 'lenient'), '--allow-failures']);
  t.equal(lenient.code, 0, lenient.stderr);
  t.match(lenient.stdout, 'LOUPE_ERR_FETCH_NOT_FOUND', 'still said');
});

/** RFC 6761: nothing under .invalid resolves; a machine whose resolver answers otherwise cannot show a DNS failure. */
const resolverAnswer = await dns.lookup('nonexistent.invalid').then(
  () => 'resolved',
  (err: NodeJS.ErrnoException) => err.code,
);
const noDns = resolverAnswer === 'ENOTFOUND' ? false : `this machine's resolver answers ${resolverAnswer} for nonexistent.invalid`;

t.test('every image on a host that does not exist: exit 4, each canvas tried once', { skip: noDns }, async (t) => {
  const manifest = `${server.url}/m/nowhere.json`;
  const host = 'images.nonexistent.invalid';
  server.addDocument('/m/nowhere.json', manifestV3({ id: manifest, canvases: canvases(['p1', 'p2', 'p3'].map((p) => ({ url: `https://${host}/${p}.jpg`, width: 320, height: 240 }))) }));
  const out = path.join(tmp, 'nowhere');
  const ran = await loupe(['run', manifest, '--pipeline', 'embed', '--out', out]);
  t.equal(ran.code, 4, ran.stderr);
  t.match(ran.stdout, `3 canvases: no such host ${host} (LOUPE_ERR_FETCH_DNS, permanent): check the manifest's image URLs`);
  const report = await readReport(out);
  t.match(report.causes, [{ code: 'LOUPE_ERR_FETCH_DNS', count: 3 }]);
  t.match(report.stages.embed, { done: 0, failed: 3 }, 'one failed attempt per canvas: not retried');
});

t.test('a manifest nobody answers for: exit 4 before any harvest, naming the URL', async (t) => {
  const manifest = `http://127.0.0.1:${await freePort()}/manifest.json`;
  const out = path.join(tmp, 'unreachable');
  const ran = await loupe(['run', manifest, '--pipeline', 'embed', '--out', out], { LOUPE_FETCH_RETRIES: '0' });
  t.equal(ran.code, 4, ran.stderr);
  t.match(ran.stderr, `cannot read the manifest or collection: could not fetch ${manifest}`);
  t.match(ran.stderr, 'nothing was harvested');
  await t.rejects(fs.stat(path.join(out, 'report.json')), 'no run, no report');
});

t.test('a manifest that answers 404 or is not IIIF: exit 4, said with the fix', async (t) => {
  const missing = await loupe(['run', `${server.url}/m/none.json`, '--pipeline', 'embed', '--out', path.join(tmp, 'none')]);
  t.equal(missing.code, 4, missing.stderr);
  t.match(missing.stderr, `${server.url}/m/none.json: HTTP 404`);
  const notIiif = path.join(tmp, 'not-iiif.json');
  await fs.writeFile(notIiif, JSON.stringify({ hello: 'world' }));
  const ran = await loupe(['run', notIiif, '--pipeline', 'embed', '--out', path.join(tmp, 'not-iiif')]);
  t.equal(ran.code, 4, ran.stderr);
  t.match(ran.stderr, /not-iiif\.json is not a IIIF manifest or collection.*; give a IIIF manifest or collection/);
});

t.test('an --out that cannot be written: exit 4, naming the folder', async (t) => {
  // A file where a folder should be: refused even to root, who may write anywhere else.
  const file = path.join(tmp, 'a-file');
  await fs.writeFile(file, '');
  const out = path.join(file, 'out');
  const ran = await loupe(['run', good, '--pipeline', 'embed', '--out', out]);
  t.equal(ran.code, 4, ran.stderr);
  t.match(ran.stderr, `cannot write into ${out} (ENOTDIR`);
  t.match(ran.stderr, 'choose another --out');
});

t.test('--pipeline classify --vocabulary foo: exit 4, "no vocabulary foo" before anything about CLIP', async (t) => {
  const ran = await loupe(['run', good, '--pipeline', 'classify', '--vocabulary', 'foo', '--out', path.join(tmp, 'classify')]);
  t.equal(ran.code, 4, ran.stderr);
  t.match(ran.stderr, 'no vocabulary foo: `loupe vocab list` shows the ones imported; `loupe vocab import <file>` adds one');
  t.notMatch(ran.stderr, /clip/i);
  const none = await loupe(['run', good, '--pipeline', 'classify', '--out', path.join(tmp, 'classify')]);
  t.equal(none.code, 4, none.stderr);
  t.match(none.stderr, 'pipeline classify needs --head <id>');
  const head = await loupe(['run', good, '--pipeline', 'classify', '--head', 'coins', '--out', path.join(tmp, 'classify')]);
  t.equal(head.code, 4, head.stderr);
  t.match(head.stderr, 'no classification head coins in ');
});

t.test('a head close to chance: the run goes on, and says so before it starts', async (t) => {
  // The shipped watermark head: its own cross-validation is near chance (docs/watermarks.md).
  const ran = await loupe(['run', good, '--pipeline', 'classify', '--head', 'watermark', '--out', path.join(tmp, 'watermark')]);
  t.equal(ran.code, 0, ran.stderr);
  t.match(ran.stderr, /loupe: head watermark version 1 is close to chance: cross-validated accuracy 0\.5\d\d on 360 images, where always answering "(no )?watermark" scores 0\.500; read its labels as hints, not findings/);
  t.match(ran.stdout, 'done: 2 canvases');
});
