// Issue 17, "fail early and loudly": a job over a manifest whose images live on a host that does
// not exist fails every canvas on its first delivery, and the job's failures name the cause and
// the URL. Before, a DNS failure was retried like a 503 (6 of 6 canvases failed after 69 s).
// The real resolver (RFC 6761: nothing under .invalid resolves), the real services on one memory
// bus; deliveries are counted, never timed.
import { promises as dns } from 'node:dns';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { createMemoryBus, decode, type Bus, type WorkMessage } from '@loupe/bus';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { SUBJECTS, type JobEvent } from '@loupe/contracts';
import { manifestV3, startIiifImageServer } from '@loupe/testing';

interface JobView {
  state: string;
  tasks: { total: number; done: number; failed: number };
  failures: { canvas: string | null; stage: string; code: string; message: string }[];
}

/** The bus, with every work-queue delivery counted by subject and `after` told of each once its handler has run. */
function countingBus(bus: Bus, after: (subject: string, msg: WorkMessage) => void): { bus: Bus; deliveries: Map<string, number> } {
  const deliveries = new Map<string, number>();
  const consume: Bus['consume'] = (subject, opts, handler) =>
    bus.consume(subject, opts, async (msg) => {
      deliveries.set(subject, (deliveries.get(subject) ?? 0) + 1);
      await handler(msg);
      after(subject, msg);
    });
  const counted = new Proxy(bus, {
    get: (target, key) => (key === 'consume' ? consume : bindOwn(target, key)),
  });
  return { bus: counted, deliveries };
}

/** A bus method called through the proxy still runs on the bus itself (its private fields). */
function bindOwn(target: Bus, key: string | symbol): unknown {
  const value = Reflect.get(target, key) as unknown;
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}

/** RFC 6761: nothing under .invalid resolves. A machine with no resolver answers EAI_AGAIN for every name: rightly temporary, nothing to check. */
const resolverAnswer = await dns.lookup('nonexistent.invalid').then(
  () => 'resolved',
  (err: NodeJS.ErrnoException) => err.code,
);
const skip = resolverAnswer === 'ENOTFOUND' ? false : `this machine's resolver answers ${resolverAnswer} for nonexistent.invalid`;
const host = 'images.nonexistent.invalid';
const escaped = host.replace(/\./g, '\\.');

/** Loupe's gateway, harvester and preprocess on one memory bus that counts deliveries; `run` waits until `settled` says so of a handled delivery. */
async function startLoupe(t: Test, settled: (subject: string, msg: WorkMessage) => boolean) {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-dns-'));
  const server = await startIiifImageServer();
  const memory = createMemoryBus();
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  const { bus, deliveries } = countingBus(memory, (subject, msg) => {
    if (settled(subject, msg)) settle();
  });
  // The server's egress policy (private ranges denied) with loopback let through for the manifest;
  // two deliveries at most, so that a failure retried by mistake shows as a count, not a long wait.
  const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1', LOUPE_MAX_DELIVER: '2' }, { logLevel: 'silent', dataDir, services: ['gateway', 'iiif-fetcher', 'preprocess'] });
  const loupe = await createEmbedded(config, { bus });
  t.teardown(async () => {
    await loupe.close();
    await memory.close();
    await server.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  await loupe.app.start();
  const run = async (manifest: string): Promise<JobView> => {
    const created = await loupe.app.inject({ method: 'POST', url: '/v1/jobs', payload: { manifest, pipeline: 'text' } });
    t.equal(created.statusCode, 200, 'the job is accepted');
    await done;
    return (await loupe.app.inject({ method: 'GET', url: `/v1/jobs/${(created.json() as { id: string }).id}` })).json() as JobView;
  };
  return { server, deliveries, run };
}

t.test('images on a host that does not exist: every canvas fails on its first delivery, the cause in the failures', { skip }, async (t) => {
  let failed = 0;
  const { server, deliveries, run } = await startLoupe(t, (subject, msg) => subject === SUBJECTS.jobEvents && decode<JobEvent>(msg.data).type === 'stage-failed' && ++failed === 3);
  const manifest = `${server.url}/m/unreachable.json`;
  const level2 = (name: string) => ({ serviceId: `https://${host}/iiif/${name}`, version: 3 as const, level: 2 as const });
  server.addDocument(
    '/m/unreachable.json',
    manifestV3({
      id: manifest,
      canvases: [
        { label: 'p. 1', width: 1000, height: 1400, image: level2('p1') },
        { label: 'p. 2', width: 1000, height: 1400, image: level2('p2') },
        { label: 'p. 3', width: 1000, height: 1400, image: { width: 1000, height: 1400, url: `https://${host}/plain/p3.jpg` } },
      ],
    }),
  );
  const job = await run(manifest);
  t.equal(deliveries.get(SUBJECTS.preprocessPrepare), 3, 'each canvas was tried once: a DNS failure is not retried');
  t.match(job.tasks, { total: 3, failed: 3 });
  t.equal(job.failures.length, 3);
  for (const failure of job.failures) {
    t.match(failure, { stage: 'preprocess', code: 'LOUPE_ERR_FETCH_DNS' }, failure.canvas ?? '');
    t.match(failure.message, new RegExp(`could not fetch https://${escaped}/\\S+: the host ${escaped} does not exist`), 'names the URL and the cause');
  }
});

t.test('a manifest on a host that does not exist fails the job at its first start', { skip }, async (t) => {
  const { deliveries, run } = await startLoupe(t, (subject) => subject === SUBJECTS.jobStart);
  const manifest = `https://${host}/iiif/book/manifest.json`;
  const job = await run(manifest);
  t.equal(job.state, 'failed');
  t.equal(deliveries.get(SUBJECTS.jobStart), 1, 'harvested once: not retried');
  t.match(job.failures, [{ stage: 'harvest', code: 'LOUPE_ERR_FETCH_DNS', message: `could not fetch ${manifest}: the host ${host} does not exist (DNS: no such host); check the URL` }]);
});
