// One job, one trace, three processes: `loupe serve` as the gateway (with the iiif-fetcher and
// the store), a preprocess worker and a detect worker, over a real nats-server, each exporting
// OTLP/HTTP to a receiver in this test. The trace must run from `POST /v1/jobs` through every
// stage process to the stored annotations with each span's parent where the work came from, the
// workers' /metrics must count the job's stages, and the gateway's log lines carry the trace id.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SAMPLE_TEXTS, manifestV3, renderTextPage, requireNatsOrSkip, startIiifImageServer, startNatsServer } from '@loupe/testing';
import { startServe, until, type Serve } from './support/crash-scenario.js';
import { startOtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

if (!requireNatsOrSkip(t)) process.exit(0);

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-tracing-'));
const receiver = await startOtlpReceiver();
const nats = await startNatsServer({ storeDir: path.join(tmp, 'jetstream') });
const iiif = await startIiifImageServer();
t.teardown(async () => {
  await Promise.allSettled([nats.close(), iiif.close(), receiver.close()]);
  await fs.rm(tmp, { recursive: true, force: true });
});

const page = await renderTextPage({ lines: SAMPLE_TEXTS.catalogueNote, font: 'serif', sizePt: 20, width: 1000, format: 'jpeg' });
const serviceId = await iiif.addImage('page', page.image, { version: 3, level: 2 });
const manifest = `${iiif.url}/m/traced.json`;
iiif.addDocument(
  '/m/traced.json',
  manifestV3({ id: manifest, label: 'Traced', canvases: [{ label: 'one', width: page.width, height: page.height, image: { serviceId, version: 3, level: 2, width: page.width, height: page.height } }] }),
);

const PROCESSES = { gateway: 'gateway,iiif-fetcher,ground-truth', preprocess: 'preprocess', detect: 'detect' } as const;
type ProcessName = keyof typeof PROCESSES;

async function start(name: ProcessName): Promise<Serve> {
  return startServe(t, {
    LOUPE_DATA_DIR: path.join(tmp, name),
    LOUPE_SERVICES: PROCESSES[name],
    LOUPE_BUS: 'nats',
    LOUPE_NATS_URL: nats.url,
    LOUPE_LOG_LEVEL: 'info',
    LOUPE_LOG_FORMAT: 'json',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
}

const [gateway, preprocess, detect] = await Promise.all([start('gateway'), start('preprocess'), start('detect')]);

const processOf = (s: ReceivedSpan | undefined): string | undefined => s?.resource['loupe.services'] as string | undefined;

t.test('a text job is one trace across the gateway and two stage workers', async (t) => {
  const id = await gateway.createJob(manifest);
  const job = await until('the job to finish', async () => {
    const view = await gateway.job(id);
    return view.state === 'done' || view.state === 'failed' ? view : undefined;
  });
  t.equal(job.state, 'done', JSON.stringify(job.failures));

  const post = await until('the POST span', async () => receiver.spans.find((s) => s.name === 'POST /v1/jobs'));
  const traceId = post.traceId;
  const expected = ['POST /v1/jobs', 'process job-start', 'harvest', 'fetch document', 'process preprocess', 'fetch image', 'inference ppocr-v4-det', 'process detect.text', 'read page', 'process store', 'store annotations'];
  // Spans leave each process in batches: wait until the last stage's have come.
  const spans = await until(
    'the whole trace',
    async () => {
      const inTrace = receiver.spans.filter((s) => s.traceId === traceId);
      const names = new Set(inTrace.map((s) => s.name));
      return expected.every((n) => names.has(n)) ? inTrace : undefined;
    },
    { log: () => receiver.spans.map((s) => `${s.traceId.slice(0, 8)} ${s.name} [${processOf(s)}]`).join('\n') },
  );
  t.same(receiver.rejected, [], 'every export was OTLP JSON');
  if (process.env.LOUPE_SHOW_TRACE) {
    const tree = (parent: string, depth: number): string[] =>
      spans.filter((s) => s.parentSpanId === parent).flatMap((s) => [`${'  '.repeat(depth)}${s.name} [${processOf(s)}]`, ...tree(s.spanId, depth + 1)]);
    t.comment(`\n${tree('', 0).join('\n')}`);
  }
  // A name once per process: each worker fetches its own copy of the image (and its info.json).
  const span = (name: string, where: ProcessName = 'gateway'): ReceivedSpan => {
    const found = spans.filter((s) => s.name === name && processOf(s) === PROCESSES[where]);
    if (found.length !== 1) throw new Error(`${found.length} spans named ${name} in the ${where} process`);
    return found[0]!;
  };

  t.equal(post.parentSpanId, '', 'the HTTP request starts the trace');
  t.equal(post.kind, 2, 'as a server span');
  t.equal(post.attributes['http.route'], '/v1/jobs');
  type At = [name: string, where?: ProcessName];
  const parentOf = ([name, where]: At, [parent, parentWhere]: At, why: string) =>
    t.equal(span(name, where).parentSpanId, span(parent, parentWhere).spanId, `${name} ← ${parent}: ${why}`);
  parentOf(['process job-start'], ['POST /v1/jobs'], 'the start message carried the request');
  parentOf(['harvest'], ['process job-start'], 'the iiif-fetcher answered the start over the bus');
  parentOf(['fetch document'], ['harvest'], 'and fetched the manifest inside it');
  parentOf(['process preprocess', 'preprocess'], ['process job-start'], 'the canvas was queued by the start, for the preprocess worker');
  parentOf(['fetch image', 'preprocess'], ['process preprocess', 'preprocess'], 'which fetched the page');
  parentOf(['inference ppocr-v4-det', 'preprocess'], ['process preprocess', 'preprocess'], 'and found its lines');
  parentOf(['process detect.text', 'detect'], ['process preprocess', 'preprocess'], 'the routing slip went on to the detect worker');
  parentOf(['read page', 'detect'], ['process detect.text', 'detect'], 'which read the page with Tesseract');
  parentOf(['process store'], ['process detect.text', 'detect'], 'and back to the gateway, to the store');
  parentOf(['store annotations'], ['process store'], 'which wrote the annotations');
  t.equal(new Set(spans.map((s) => s.resource['process.pid'])).size, 3, 'three processes, one trace');

  const detectSpan = span('process detect.text', 'detect');
  t.match(detectSpan.attributes, { 'messaging.system': 'nats', 'messaging.destination.name': /detect/, 'loupe.job.id': id, 'loupe.stage': 'detect.text' });
  t.equal(detectSpan.kind, 5, 'a consumer span');
  const inference = spans.filter((s) => s.name.startsWith('inference '));
  t.ok(inference.length > 0, 'inference batches are in the trace');
  for (const s of inference) {
    t.match(s.attributes, { 'loupe.model.id': String, 'loupe.model.version': String, 'loupe.inference.batch_size': Number, 'loupe.inference.provider': 'cpu' });
  }
  t.match(span('fetch image', 'preprocess').attributes, { 'server.address': '127.0.0.1', 'loupe.cache.hit': false, 'http.response.body.size': Number });
  t.ok(spans.every((s) => s.name !== 'GET /healthz' && s.name !== 'GET /readyz'), 'probes are not traced');

  const logged = gateway
    .stderr()
    .split('\n')
    .filter((line) => line.includes('job queued'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.match(logged, [{ trace_id: traceId, span_id: span('process job-start').spanId }], 'the log line names its trace and span');
});

t.test("the workers' /metrics count the job's stages", async (t) => {
  const scrape = async (serve: Serve) => (await fetch(`${serve.base}/metrics`)).text();
  t.match(await scrape(preprocess), /^loupe_stage_messages_total\{stage="preprocess",outcome="done"\} 1$/m);
  t.match(await scrape(detect), /^loupe_stage_messages_total\{stage="detect\.text",outcome="done"\} 1$/m);
  const gatewayMetrics = await scrape(gateway);
  t.match(gatewayMetrics, /^loupe_stage_messages_total\{stage="store",outcome="done"\} 1$/m);
  t.notMatch(gatewayMetrics, /stage="preprocess"/, 'the gateway ran no preprocess');
});
