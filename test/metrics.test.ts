// /metrics over real HTTP: an embedded process runs a two-canvas text job against the local IIIF
// Image API server with real OCR, then its Prometheus text says what the stages and models did.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { JobView } from '@loupe/contracts';
import { createEmbedded, loadConfig } from '@loupe/cli';
import { SAMPLE_TEXTS, manifestV3, renderTextPage, startIiifImageServer } from '@loupe/testing';

const server = await startIiifImageServer();
const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-metrics-'));
const page = await renderTextPage({ lines: SAMPLE_TEXTS.catalogueNote, font: 'serif', sizePt: 20, width: 1000, format: 'jpeg' });
const serviceId = await server.addImage('page', page.image, { version: 3, level: 2 });
const manifest = `${server.url}/m/two.json`;
const canvas = (label: string) => ({ label, width: page.width, height: page.height, image: { serviceId, version: 3, level: 2, width: page.width, height: page.height } });
server.addDocument('/m/two.json', manifestV3({ id: manifest, label: 'Two pages', canvases: [canvas('one'), canvas('two')] }));

const embedded = await createEmbedded(loadConfig({ LOUPE_FETCH_ALLOW: '127.0.0.1' }, { logLevel: 'silent', dataDir }));
const { url } = await embedded.app.start({ port: 0, host: '127.0.0.1' });
t.teardown(async () => {
  await embedded.close();
  await server.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

async function call<T>(method: 'GET' | 'POST', route: string, body?: object): Promise<T> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: embedded.app.localAuthorization, ...(body && { 'content-type': 'application/json' }) },
    ...(body && { body: JSON.stringify(body) }),
  });
  return (await res.json()) as T;
}

/** Samples by `name{labels}`, labels as written; a line that is neither a comment nor a sample fails the test. */
function parse(t: Test, text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const bad: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
    if (m) samples.set(m[1]!, Number(m[2]));
    else bad.push(line);
  }
  t.same(bad, [], 'every line is a comment or a sample');
  return samples;
}

t.test('a two-canvas text job shows in /metrics: stage outcomes, latency and model runs', async (t) => {
  const created = await call<JobView>('POST', '/v1/jobs', { manifest, pipeline: 'text' });
  let job = created;
  // The job runs in this process: polling its view on the event loop is enough, no clock needed.
  while (job.state !== 'done' && job.state !== 'failed') {
    await new Promise((r) => setTimeout(r, 50));
    job = await call<JobView>('GET', `/v1/jobs/${created.id}`);
  }
  t.equal(job.state, 'done', JSON.stringify(job.failures));

  // No credentials: scraped like the probes are.
  const res = await fetch(`${url}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const samples = parse(t, text);
  t.equal(samples.get('loupe_stage_messages_total{stage="preprocess",outcome="done"}'), 2, 'preprocess did both canvases');
  t.equal(samples.get('loupe_stage_duration_seconds_count{stage="detect.text",outcome="done"}'), 2, 'detect.text timed twice');
  t.equal(samples.get('loupe_stage_in_flight{stage="preprocess"}'), 0, 'nothing left in flight');
  // Two pages detected at once may share one run (the engine batches them): each is a request.
  t.ok((samples.get('loupe_inference_requests_total{model="ppocr-v4-det"}') ?? 0) >= 2, 'the text detector was asked for each page');
  t.ok((samples.get('loupe_inference_runs_total{model="ppocr-v4-det"}') ?? 0) >= 1, 'in one run or more');
  t.ok((samples.get('loupe_inference_duration_seconds_total{model="ppocr-v4-det"}') ?? 0) > 0);
  t.ok((samples.get('loupe_inference_batch_size{model="ppocr-v4-det"}') ?? 0) >= 1);
  t.equal(samples.get('loupe_queue_pending_messages{subject="loupe.preprocess.prepare.v1"}'), 0, 'the preprocess queue is empty');
  const host = new URL(server.url).hostname;
  t.ok((samples.get(`loupe_iiif_fetched_bytes_total{host="${host}",kind="image"}`) ?? 0) > 1000, 'the page images came over the network, counted by host');
  t.ok((samples.get(`loupe_iiif_fetched_bytes_total{host="${host}",kind="document"}`) ?? 0) > 100, 'and the manifest');
  t.ok((samples.get(`loupe_iiif_fetches_total{host="${host}",kind="image",cache="miss"}`) ?? 0) >= 2);
  t.equal(samples.get('loupe_dead_letters'), 0, 'no dead letters');
  t.ok(samples.has('process_resident_memory_bytes'), "prom-client's process metrics, standard names");
  t.ok(samples.has('nodejs_eventloop_lag_seconds'));
});
