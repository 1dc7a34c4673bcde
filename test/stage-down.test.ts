// A stage whose service is down queues its work; the job shows the backlog and finishes once the
// service comes back. Services run as separate "processes" (apps) sharing one in-memory bus here;
// test/fault does the same over NATS JetStream with real processes.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { createMemoryBus } from '@loupe/bus';
import { createEmbedded, loadConfig, type Embedded } from '@loupe/cli';
import { SAMPLE_TEXTS, manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';

const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-down-'));
const server = await startIiifImageServer();
const bus = createMemoryBus();
const apps: Embedded[] = [];
t.teardown(async () => {
  for (const app of apps.reverse()) await app.close();
  await bus.close();
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

const page = await renderTextPage({ lines: SAMPLE_TEXTS.titlePage.slice(0, 2), font: 'sans', sizePt: 20, width: 900, format: 'png' });
const serviceId = await server.addImage('title', page.image, { version: 3, level: 1 });
const manifestUrl = `${server.url}/m/title.json`;
server.addDocument(
  '/m/title.json',
  manifestV3({ id: manifestUrl, canvases: [1, 2, 3].map((n) => ({ label: `p. ${n}`, width: page.width, height: page.height, image: { serviceId, version: 3 as const, level: 1 as const } })) }),
);

async function processWith(services: string[]): Promise<Embedded> {
  const config = loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir, services });
  const app = await createEmbedded(config, { bus });
  apps.push(app);
  await app.app.start();
  return app;
}

interface JobView {
  state: string;
  tasks: { total: number; done: number };
  stages: Record<string, { pending: number; done: number }>;
  queues: Record<string, { pending: number; workers: number }>;
}

t.test('work waits for a service that is down, and the job finishes when it comes back', async (t) => {
  const front = await processWith(['gateway', 'ground-truth', 'preprocess']);
  const job = async (id: string) => (await front.app.inject({ method: 'GET', url: `/v1/jobs/${id}` })).json() as JobView;
  const settle = async (id: string, ok: (j: JobView) => boolean) => {
    for (let i = 0; i < 200; i++) {
      const j = await job(id);
      if (ok(j)) return j;
      await sleep(50);
    }
    return job(id);
  };

  const created = await front.app.inject({ method: 'POST', url: '/v1/jobs', payload: { manifest: manifestUrl } });
  t.equal(created.statusCode, 200, 'the job is accepted although nobody can harvest it yet');
  const { id } = created.json() as { id: string };
  await sleep(300);
  t.equal((await job(id)).state, 'harvesting', 'no iiif-fetcher: the job waits to be harvested');

  await processWith(['iiif-fetcher']);
  const waiting = await settle(id, (j) => j.stages.preprocess?.done === 3);
  t.equal(waiting.state, 'running');
  t.equal(waiting.stages['detect.text']?.pending, 3, 'three canvases wait for text detection');
  t.same(waiting.queues['detect.text'], { pending: 3, inFlight: 0, workers: 0 }, 'the backlog shows, and that no worker takes it');

  await processWith(['detect']);
  const done = await settle(id, (j) => j.state === 'done');
  t.equal(done.state, 'done', 'the job finishes once detect is back');
  t.equal(done.tasks.done, 3);
  t.same(done.queues['detect.text'], { pending: 0, inFlight: 0, workers: 1 });
});
