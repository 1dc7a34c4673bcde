// Quiet by default (issue 17): a progress bar that waits for the count and then shows rate and
// ETA, log lines a person can read, `loupe serve` saying where to click, and a job of many
// canvases that raises no process warning (MaxListenersExceededWarning was nine of them).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import type { JobView } from '@loupe/contracts';
import { loadConfig, runPipeline } from '@loupe/cli';
import { ManualClock, SAMPLE_TEXTS, manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';
import { logFormatOf, prettyLogLine } from '../packages/cli/src/log-output.js';
import { Progress, formatDuration } from '../packages/cli/src/progress.js';
import { freePort, spawnLoupe } from './support/loupe-process.js';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-quiet-'));
t.teardown(() => fs.rm(tmp, { recursive: true, force: true }));

function job(state: JobView['state'], total: number, done: number, failed = 0, stages: Record<string, number> = {}): JobView {
  return {
    id: 'j',
    source: 'm',
    state,
    created: '',
    finished: null,
    manifests: [],
    tasks: { total, done, failed },
    stages: Object.fromEntries(Object.entries(stages).map(([k, n]) => [k, { done: n, failed: 0, pending: 0, ms: 0 }])),
    failures: [],
    queues: {},
    links: { self: '', manifest: '' },
  };
}

/** An output that records what was written, as a terminal (isTTY) or as a file. */
const recorder = (isTTY: boolean, columns?: number) => {
  const written: string[] = [];
  return { written, out: { isTTY, ...(columns && { columns }), write: (s: string) => written.push(s) } };
};

t.test('progress on a terminal: nothing before the count, then one line redrawn with rate and ETA', async (t) => {
  const clock = new ManualClock();
  const { written, out } = recorder(true);
  const progress = new Progress({ out, clock });
  progress.update(job('queued', 0, 0));
  progress.update(job('harvesting', 0, 0));
  progress.update(job('running', 0, 0));
  t.same(written, [], 'no "0/0" while the harvest counts');

  progress.update(job('running', 12, 0, 0, { preprocess: 2 }));
  t.match(written.at(-1), /^\r\[\.{24}\] 0\/12 images {2}\| preprocess 2\x1b\[K$/, 'the bar, empty, with the stages');
  clock.advance(60_000);
  progress.update(job('running', 12, 3, 1, { preprocess: 8, detect: 4 }));
  const line = written.at(-1)!;
  t.match(line, /^\r\[#{8}\.{16}\] 4\/12 images \(1 failed\) · 4\.0 images\/min · ETA 2m00s {2}\| preprocess 8 · detect 4/, `a third done in a minute: two more to go (${JSON.stringify(line)})`);
  t.notOk(line.includes('\n'), 'one line, redrawn in place');
  const count = written.length;
  progress.update(job('running', 12, 3, 1, { preprocess: 8, detect: 4 }));
  t.equal(written.length, count, 'an unchanged line is not redrawn');
  clock.advance(60_000);
  progress.update(job('done', 12, 11, 1, { preprocess: 12, detect: 12 }));
  t.match(written.at(-1), /12\/12 images \(1 failed\) · 6\.0 images\/min · finished/);
  progress.end();
  t.equal(written.at(-1), '\n', 'the cursor ends on a fresh line');

  const narrow = recorder(true, 40);
  const cut = new Progress({ out: narrow.out, clock });
  cut.update(job('running', 12, 1, 0, { preprocess: 12, detect: 12, embed: 12, store: 12 }));
  t.equal(narrow.written[0]!.replace(/^\r|\x1b\[K$/g, '').length, 39, 'cut to the terminal, so it never wraps');
});

t.test('progress without a terminal: plain lines per tenth of the job or per interval, and the last', async (t) => {
  const clock = new ManualClock();
  const { written, out } = recorder(false);
  const progress = new Progress({ out, clock, plainEveryMs: 10_000 });
  progress.update(job('running', 0, 0));
  t.same(written, []);
  progress.update(job('running', 40, 0));
  t.same(written, ['progress: 0/40 images\n'], 'the count, once known');
  clock.advance(1000);
  progress.update(job('running', 40, 2));
  t.equal(written.length, 1, 'two of forty is less than a tenth, and the interval has not passed');
  clock.advance(1000);
  progress.update(job('running', 40, 4));
  t.equal(written.at(-1), 'progress: 4/40 images · 120 images/min · ETA 18s\n');
  clock.advance(10_000);
  progress.update(job('running', 40, 5));
  t.equal(written.length, 3, 'the interval passed with an image finished');
  clock.advance(1000);
  progress.update(job('done', 40, 40));
  t.match(written.at(-1), /^progress: 40\/40 images · .* · finished\n$/);
  t.ok(written.every((l) => !l.includes('\r')), 'no carriage returns in a log');
});

t.test('durations for a person', async (t) => {
  t.same([0, 42_400, 125_000, 3_840_000].map(formatDuration), ['0s', '42s', '2m05s', '1h04m']);
});

t.test('log lines: pretty for a person, JSON for a collector, LOUPE_LOG_FORMAT decides', async (t) => {
  const time = new Date(2026, 0, 2, 3, 4, 5).getTime();
  t.equal(
    prettyLogLine(JSON.stringify({ level: 40, time, pid: 1, hostname: 'h', msg: 'detect failed, will retry', attempt: 2, err: { code: 'LOUPE_ERR_X', message: 'no luck' } })),
    '03:04:05 WARN  detect failed, will retry  attempt=2  err="LOUPE_ERR_X: no luck"\n',
  );
  t.equal(prettyLogLine(JSON.stringify({ level: 30, time, msg: 'request completed', req: { method: 'GET', url: '/v1/jobs' }, res: { statusCode: 200 } })), '03:04:05 INFO  request completed  GET /v1/jobs  200\n');
  t.match(prettyLogLine(JSON.stringify({ level: 50, time, msg: 'boom', err: { message: 'x', stack: 'Error: x\n    at f' } })), /ERROR boom {2}err=x\n {4}Error: x\n {8}at f\n$/, 'an error shows its stack');
  t.equal(prettyLogLine('not json'), 'not json\n');

  t.equal(logFormatOf(loadConfig({}), { isTTY: true }), 'pretty');
  t.equal(logFormatOf(loadConfig({}), { isTTY: false }), 'json');
  t.equal(logFormatOf(loadConfig({ LOUPE_LOG_FORMAT: 'json' }), { isTTY: true }), 'json');
  t.equal(logFormatOf(loadConfig({ LOUPE_LOG_FORMAT: 'pretty' }), { isTTY: false }), 'pretty');
  t.throws(() => loadConfig({ LOUPE_LOG_FORMAT: 'xml' }), { message: /LOUPE_LOG_FORMAT="xml": expected one of json, pretty/ });
});

t.test('loupe serve says where the review page, the API docs and /healthz are, and whether auth is on', async (t) => {
  const port = await freePort();
  const child = spawnLoupe(['serve', '--services', 'gateway'], { cwd: tmp, env: { LOUPE_PORT: String(port), LOUPE_HOST: '127.0.0.1', LOUPE_DATA_DIR: path.join(tmp, 'serve'), LOUPE_LOG_LEVEL: 'warn' } });
  t.teardown(() => void child.kill('SIGKILL'));
  let stdout = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('Ctrl-C stops')) resolve();
    });
    child.on('close', () => reject(new Error(`loupe serve ended before its banner: ${stdout}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  t.match(stdout, `loupe is ready at ${base}`);
  t.match(stdout, `review page  ${base}/review`);
  t.match(stdout, `API docs     ${base}/docs`);
  t.match(stdout, `health       ${base}/healthz`);
  t.match(stdout, /auth {9}off: anyone who reaches 127\.0\.0\.1:\d+ may use the API/);
  t.match(stdout, `public URL   http://localhost:${port}`);
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'and the links answer');
  child.kill('SIGTERM');
  t.equal(await exited, 0);
});

t.test('a job of a dozen canvases raises no process warning', async (t) => {
  const server = await startIiifImageServer();
  t.teardown(() => server.close());
  const page = await renderTextPage({ lines: SAMPLE_TEXTS.catalogueNote, font: 'serif', sizePt: 16, width: 800, format: 'jpeg' });
  const photo = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#7a8a9a' } }).jpeg().toBuffer();
  const canvases = await Promise.all(
    Array.from({ length: 12 }, async (_, i) => {
      const [image, width, height] = i % 4 ? [photo, 320, 240] : [page.image, page.width, page.height];
      const serviceId = await server.addImage(`p${i}`, image, { version: 3, level: 2 });
      return { label: `page ${i + 1}`, width, height, image: { serviceId, version: 3 as const, level: 2 as const, width, height } };
    }),
  );
  const manifest = `${server.url}/m/dozen.json`;
  server.addDocument('/m/dozen.json', manifestV3({ id: manifest, label: 'A dozen', canvases }));

  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir: path.join(tmp, 'dozen') });
  const report = await runPipeline(config, { source: manifest, outDir: path.join(tmp, 'dozen-out'), pipeline: 'enrich' });
  t.equal(report.state, 'done');
  t.same(report.failures, []);
  t.equal(report.images, 12);
  // Warnings are emitted on the next tick after the listener that passed the limit.
  await new Promise((resolve) => setImmediate(resolve));
  t.same(warnings.map((w) => `${w.name}: ${w.message}`), [], 'no MaxListenersExceededWarning, nor any other');
});
