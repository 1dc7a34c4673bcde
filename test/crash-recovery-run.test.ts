// `loupe run` killed by SIGKILL at seeded points (mid-harvest, or after N canvases): a rerun into
// the same folder says so and stops; with --resume it continues, fetching only the canvases not
// done, and every canvas ends with exactly one result; both SQLite files pass
// `PRAGMA integrity_check`. `loupe serve`: crash-recovery.test.ts.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { integrityCheck } from '@loupe/store';
import {
  CANVASES,
  checkOneResultEach,
  crashBench,
  describe,
  forgetFetches,
  holdBack,
  imagesRequested,
  killPoints,
  manifestRequested,
  notDoneBefore,
  until,
} from './support/crash-scenario.js';
import { runLoupe, spawnLoupe } from './support/loupe-process.js';

const { random, tmp, iiif, book } = await crashBench(t, 'crash-run');

t.test('loupe run: SIGKILL mid-run, a rerun says so, --resume does only what was left', async (t) => {
  for (const [n, point] of killPoints(random, 2).entries()) {
    await t.test(describe(point), async (t) => {
      const dataDir = path.join(tmp, `run-${n}`);
      const out = path.join(tmp, `out-${n}`);
      const env = { LOUPE_DATA_DIR: dataDir, LOUPE_STAGE_CONCURRENCY: '2' };
      const loupeRun = (...extra: string[]) => runLoupe(['run', book.manifestUrl, '--out', out, ...extra], { env, cwd: tmp });
      holdBack(iiif, point, { checkedFirst: true });

      const child: ChildProcess = spawnLoupe(['run', book.manifestUrl, '--out', out], { env, cwd: tmp });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise((resolve) => child.on('exit', resolve));
      t.teardown(() => void child.kill('SIGKILL'));
      const progress = `progress: ${point.kind === 'tasks' ? point.done : 0}/${CANVASES} images`;
      await until(
        describe(point),
        async () => (point.kind === 'harvesting' ? manifestRequested(iiif, 2) : stderr.includes(progress)) || undefined,
        { log: () => stderr },
      );
      child.kill('SIGKILL');
      await exited;
      if (point.kind === 'tasks') t.notMatch(stderr, `progress: ${point.done + 1}/`, 'killed at its point');
      t.same(integrityCheck(path.join(out, '.loupe', 'jobs.db')), ['ok'], "the run's job store is sound after SIGKILL");
      t.same(integrityCheck(path.join(dataDir, 'loupe.db')), ['ok'], 'and so is the annotation store');
      await forgetFetches(iiif, dataDir);

      const refused = await loupeRun();
      t.equal(refused.code, 1, 'a rerun without --resume stops');
      t.match(refused.stderr, `${out} holds an interrupted run of ${book.manifestUrl}`);
      t.match(refused.stderr, 'pass --resume to continue it, or choose another --out');
      if (n === 0) {
        const other = await loupeRun('--resume', '--pipeline', 'objects');
        t.equal(other.code, 1, '--resume with another pipeline stops too');
        t.match(other.stderr, `the run interrupted in ${out} is of ${book.manifestUrl} with --pipeline text: resume it with the same source and pipeline`);
      }
      t.same(iiif.requests, [], 'before doing anything');

      const resumed = await loupeRun('--resume');
      t.equal(resumed.code, 0, resumed.stderr);
      const said = point.kind === 'tasks' ? `${point.done} of ${CANVASES} images done` : 'stopped while harvesting';
      t.match(resumed.stderr, `loupe: resuming the run interrupted in ${out} (${said})`);
      t.match(resumed.stdout, `done: ${CANVASES} canvases, ${CANVASES} images`);
      if (point.kind === 'tasks') t.same(imagesRequested(iiif), notDoneBefore(point.done), 'only the canvases not done were fetched again');

      const pages = await fs.readdir(path.join(out, 'annotations'));
      const items = [];
      for (const page of pages) items.push(...(JSON.parse(await fs.readFile(path.join(out, 'annotations', page), 'utf8')) as { items: [] }).items);
      t.equal(pages.length, CANVASES, 'one annotation page per canvas');
      checkOneResultEach(t, book, items);
      const report = JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8')) as { state: string; images: number };
      t.match(report, { state: 'done', images: CANVASES });
      t.same(integrityCheck(path.join(out, '.loupe', 'jobs.db')), ['ok']);

    });
  }
});

t.test('--resume with nothing to resume starts afresh; a second run into the folder is refused', async (t) => {
  const out = path.join(tmp, 'out-shared');
  const env = { LOUPE_DATA_DIR: path.join(tmp, 'run-shared') };
  holdBack(iiif, { kind: 'harvesting' });
  iiif.reset();
  const first = spawnLoupe(['run', book.manifestUrl, '--out', out, '--resume'], { env, cwd: tmp });
  let stderr = '';
  first.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise((resolve) => first.on('exit', resolve));
  t.teardown(() => void first.kill('SIGKILL'));
  await until('the first run to harvest', async () => manifestRequested(iiif) || undefined, { log: () => stderr });
  t.match(stderr, `loupe: nothing to resume in ${out}: starting a new run`);
  const second = await runLoupe(['run', book.manifestUrl, '--out', out, '--resume'], { env, cwd: tmp });
  t.equal(second.code, 1);
  t.match(second.stderr, `another loupe run is writing into ${out}: let it finish, or choose another --out`);
  first.kill('SIGKILL');
  await exited;
  iiif.clearFaults();
});
