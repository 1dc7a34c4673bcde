// Crash recovery of `loupe serve` with the in-memory bus: a real process SIGKILLed at seeded points
// (mid-harvest, or after N canvases) and restarted on the same data dir resumes its job. Every
// canvas must end with exactly one result, canvases done before the kill must not be fetched
// again, and the store must pass `PRAGMA integrity_check`. `loupe run --resume`:
// crash-recovery-run.test.ts; over JetStream: crash-recovery-jetstream.test.ts.
import path from 'node:path';
import t from 'tap';
import { checkResumed, crashBench, describe, killPoints, manifestRequested, killServeAndRestart } from './support/crash-scenario.js';

const bench = await crashBench(t, 'crash');

t.test('loupe serve: SIGKILL with a job running, restart, the job resumes', async (t) => {
  for (const [n, point] of killPoints(bench.random, 3).entries()) {
    await t.test(describe(point), async (t) => {
      const dataDir = path.join(bench.tmp, `serve-${n}`);
      const { second, id } = await killServeAndRestart(t, bench, point, { LOUPE_DATA_DIR: dataDir });
      t.match(second.stderr(), new RegExp(`"state":"${point.kind === 'tasks' ? 'running' : 'harvesting'}".*unfinished job ${id} resumed`), 'one line says so');
      if (point.kind === 'tasks') t.notOk(manifestRequested(bench.iiif), 'from the tasks kept at harvest: the source was not read again');
      await checkResumed(t, bench, second, point, dataDir);
    });
  }
});
