// The `loupe` command as a user runs it: a real process, real exit codes, real HTTP.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { SAMPLE_TEXTS, manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';
import { freePort, runLoupe, spawnLoupe } from './support/loupe-process.js';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-cli-'));
t.teardown(() => fs.rm(tmp, { recursive: true, force: true }));

const loupe = (args: string[], env: Record<string, string> = {}) => runLoupe(args, { cwd: tmp, env: { LOUPE_DATA_DIR: path.join(tmp, 'data'), ...env } });

const server = await startIiifImageServer();
t.teardown(() => server.close());
const page = await renderTextPage({ lines: SAMPLE_TEXTS.letter.slice(0, 2), font: 'sans', sizePt: 20, width: 900, format: 'jpeg' });
const serviceId = await server.addImage('letter', page.image, { version: 2, level: 1 });
const plain = server.addFile('/files/plain.jpg', page.image, 'image/jpeg');
const manifestUrl = `${server.url}/m/letter.json`;
const manifest = manifestV3({
  id: manifestUrl,
  label: 'Letter',
  canvases: [
    { label: 'p. 1', width: page.width * 2, height: page.height * 2, image: { serviceId, version: 2, level: 1, width: page.width, height: page.height } },
    { label: 'p. 2', width: page.width, height: page.height, image: { url: plain, width: page.width, height: page.height } },
  ],
});
server.addDocument('/m/letter.json', manifest);
const manifestFile = path.join(tmp, 'letter.json');
await fs.writeFile(manifestFile, JSON.stringify(manifest));

t.test('loupe iiif harvest prints one JSON line per canvas image', async (t) => {
  for (const source of [manifestUrl, manifestFile]) {
    const ran = await loupe(['iiif', 'harvest', source]);
    t.equal(ran.code, 0, ran.stderr);
    const lines = ran.stdout.trim().split('\n').map((l) => JSON.parse(l));
    t.equal(lines.length, 2);
    t.same(lines[0], {
      manifest: manifestUrl,
      canvas: manifest.items && (manifest.items as { id: string }[])[0]!.id,
      image: `${serviceId}/full/full/0/default.jpg`,
      service: serviceId,
      version: 2,
      level: 1,
      width: page.width,
      height: page.height,
    });
    t.match(lines[1], { image: plain, service: null, version: null, level: null });
  }
});

t.test('loupe iiif harvest names a document that is not IIIF and exits non-zero', async (t) => {
  const bad = path.join(tmp, 'not-iiif.json');
  await fs.writeFile(bad, JSON.stringify({ hello: 'world' }));
  const ran = await loupe(['iiif', 'harvest', bad]);
  t.equal(ran.code, 1);
  t.match(ran.stderr, 'LOUPE_ERR_IIIF_NOT_IIIF');
  t.match(ran.stderr, 'not-iiif.json');
});

t.test('loupe iiif plan prints the request, then the scale', async (t) => {
  const info = path.join(tmp, 'info.json');
  await fs.writeFile(
    info,
    JSON.stringify({
      '@context': 'http://iiif.io/api/image/3/context.json',
      id: 'https://iiif.example.org/image/abc',
      type: 'ImageService3',
      protocol: 'http://iiif.io/api/image',
      profile: 'level2',
      width: 4000,
      height: 3000,
    }),
  );
  const ran = await loupe(['iiif', 'plan', info, '--short-side', '600']);
  t.equal(ran.code, 0, ran.stderr);
  const [url, scale] = ran.stdout.split('\n');
  t.equal(url, 'https://iiif.example.org/image/abc/full/800,600/0/default.jpg');
  t.match(scale, /^scale: 5\b/);
  const region = await loupe(['iiif', 'plan', info, '--fit', '500x500', '--region', '1000,1000,1000,500']);
  t.equal(region.stdout.split('\n')[0], 'https://iiif.example.org/image/abc/1000,1000,1000,500/500,250/0/default.jpg');
  const wrong = await loupe(['iiif', 'plan', info, '--fit', 'big']);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /--fit "big": expected WxH/);
});

t.test('usage errors exit 2 with the help of the command they were for', async (t) => {
  const ran = await loupe(['run']);
  t.equal(ran.code, 2);
  t.match(ran.stderr, 'loupe run needs <source>: a IIIF manifest or collection');
  t.match(ran.stderr, 'loupe run <source>', "run's own help follows");
  const typo = await loupe(['rnu', manifestFile]);
  t.equal(typo.code, 2);
  t.match(typo.stderr, 'Did you mean run?');
  const option = await loupe(['run', manifestFile, '--pipelin', 'text']);
  t.equal(option.code, 2);
  t.match(option.stderr, 'loupe run has no option --pipelin');
  const choice = await loupe(['run', manifestFile, '--pipeline', 'everything']);
  t.equal(choice.code, 2);
  t.match(choice.stderr, /Given: "everything", Choices: "text", "objects", "embed", "enrich", "classify"/, 'the allowed values');
  const words = await loupe(['run', manifestFile, '--pipeline', 'embed', '--words']);
  t.equal(words.code, 2);
  t.match(words.stderr, '--words go with --pipeline text or enrich');
  const none = await loupe([]);
  t.equal(none.code, 2);
  t.match(none.stderr, 'loupe needs a command');
});

t.test('loupe completion prints a completion script', async (t) => {
  const ran = await loupe(['completion']);
  t.equal(ran.code, 0, ran.stderr);
  t.match(ran.stdout, /complete .*-F _loupe_yargs_completions loupe/);
  const words = await loupe(['--get-yargs-completions', 'loupe', 'iiif', '']);
  t.equal(words.code, 0, words.stderr);
  t.same(words.stdout.trim().split('\n').slice(0, 3), ['harvest', 'plan', 'serve'], 'the subcommands complete');
});

t.test('loupe run writes the enriched manifest, the pages and the report', async (t) => {
  const out = path.join(tmp, 'out');
  const ran = await loupe(['run', manifestFile, '--out', out]);
  t.equal(ran.code, 0, ran.stderr);
  t.match(ran.stdout, /done: 2 canvases, 2 images, 4 annotations, 0 failures/);
  t.match(ran.stderr, /progress: 2\/2 images/, 'plain progress lines when not on a terminal');
  const report = JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8'));
  t.match(report, { canvases: 2, images: 2, annotations: 4, failures: [] });
  t.ok(report.stages['detect.text'].ms > 0);
  t.equal((await fs.readdir(path.join(out, 'annotations'))).length, 2);
});

t.test('loupe serve: the HTTP API end to end, then a graceful SIGTERM', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawnLoupe(['serve'], { cwd: tmp, env: { LOUPE_PORT: String(port), LOUPE_HOST: '127.0.0.1', LOUPE_DATA_DIR: path.join(tmp, 'serve'), LOUPE_LOG_LEVEL: 'warn', LOUPE_FETCH_ALLOW: '127.0.0.1' } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', r));
  t.teardown(() => void child.kill('SIGKILL'));

  const until = async <T>(probe: () => Promise<T | undefined>, what: string): Promise<T> => {
    for (let i = 0; i < 300; i++) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined) return v;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what}; stderr: ${stderr}`);
  };
  await until(async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), 'readiness');

  const created = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest: manifestUrl }) });
  t.equal(created.status, 200);
  const { id } = (await created.json()) as { id: string };
  const job = await until(async () => {
    const j = (await (await fetch(`${base}/v1/jobs/${id}`)).json()) as { state: string; tasks: { done: number }; queues: Record<string, { pending: number; workers: number }> };
    return j.state === 'done' ? j : undefined;
  }, 'the job');
  t.equal(job.tasks.done, 2);
  t.same(job.queues['detect.text'], { pending: 0, inFlight: 0, workers: 1 }, 'the stage queue is empty and has its worker');
  const enriched = (await (await fetch(`${base}/v1/jobs/${id}/manifest`)).json()) as { items: { annotations?: { items: unknown[] }[] }[] };
  t.equal(enriched.items[0]?.annotations?.[0]?.items.length, 2, 'two OCR lines on the first canvas');
  const page1 = (await (await fetch(`${base}/v1/annotations?canvas=${encodeURIComponent((manifest.items as { id: string }[])[0]!.id)}`)).json()) as { type: string; items: unknown[] };
  t.equal(page1.type, 'AnnotationPage');
  t.equal(page1.items.length, 2);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits 0 after a graceful shutdown');
});
