// Crash recovery of `loupe serve` over NATS JetStream: the process is SIGKILLed at seeded points
// (mid-harvest, or after N canvases) and restarted on the same data dir and nats-server. The work
// still in the streams is redelivered and recovery queues the open tasks again under the same
// msgIds (JetStream drops the repeats): every canvas must end with exactly one result, canvases
// done before the kill must not be fetched again, and the store must pass `PRAGMA integrity_check`.
// One restart runs with LOUPE_RECOVER_JOBS=fail: over NATS that must not fail a job whose work
// is still queued. The in-memory bus: crash-recovery.test.ts.
import path from 'node:path';
import t from 'tap';
import { requireNatsOrSkip, startNatsServer } from '@loupe/testing';
import { checkResumed, crashBench, describe, killPoints, killServeAndRestart } from './support/crash-scenario.js';

if (!requireNatsOrSkip(t)) process.exit(0);

let stopNats = async (): Promise<void> => {};
const bench = await crashBench(t, 'crash-js', { seedSalt: 'jetstream', cleanup: () => stopNats() });
const nats = await startNatsServer({ storeDir: path.join(bench.tmp, 'jetstream') });
stopNats = () => nats.close();

t.test('loupe serve over JetStream: SIGKILL with a job running, restart, the job finishes', async (t) => {
  for (const [n, point] of killPoints(bench.random, 2).entries()) {
    // The second restart asks for `fail`: over NATS that is refused in favour of resuming.
    const recover = n === 1 ? 'fail' : 'resume';
    await t.test(`${describe(point)}, LOUPE_RECOVER_JOBS=${recover}`, async (t) => {
      const dataDir = path.join(bench.tmp, `serve-${n}`);
      // A short ack wait: what the killed process held is redelivered soon after the restart.
      const env = { LOUPE_DATA_DIR: dataDir, LOUPE_BUS: 'nats', LOUPE_NATS_URL: nats.url, LOUPE_ACK_WAIT_MS: '2000', LOUPE_RETRY_BASE_MS: '200' };
      const { second, id } = await killServeAndRestart(t, bench, point, env, { LOUPE_RECOVER_JOBS: recover });
      t.match(second.stderr(), new RegExp(`unfinished job ${id} resumed`), 'one line says it was resumed');
      if (recover === 'fail') t.match(second.stderr(), 'LOUPE_RECOVER_JOBS=fail applies to a single process on the in-memory bus', 'and why not failed');
      await checkResumed(t, bench, second, point, dataDir);
    });
  }
});
