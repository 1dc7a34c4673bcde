// `skip` on a job: the parts of a pipeline it turns off, applied to the route the job's canvases
// take, kept in the job's spec (so a resumed job keeps them), and refused with the parts there are.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SUBJECTS, type HarvestOutput, type Logger, type StageEnvelope } from '@loupe/contracts';
import { createMemoryBus, decode, encode } from '@loupe/bus';
import { openSqliteJobStore } from '@loupe/store';
import { JobRunner, partsOf, routeOf, stageOptionsOf } from './jobs.js';

const stagesOf = (input: Parameters<typeof stageOptionsOf>[0]) =>
  routeOf(input.pipeline!, stageOptionsOf(input)).map((r) => (r.options ? [r.stage, r.options] : [r.stage]));

t.test('each pipeline names the parts it can turn off', async (t) => {
  t.same(partsOf('text'), ['orientation', 'text']);
  t.same(partsOf('enrich'), ['orientation', 'objects', 'faces', 'text', 'embed', 'caption']);
  t.same(partsOf('caption'), ['orientation', 'objects', 'faces', 'text', 'caption']);
  t.same(partsOf('objects'), ['objects', 'faces']);
  t.same(partsOf('classify'), []);
  t.same(partsOf('embed'), ['embed']);
});

t.test('skip changes the route: a step off, a kind out of detect, orientation from EXIF', async (t) => {
  t.same(stagesOf({ pipeline: 'enrich', skip: ['embed'] }), [['preprocess', { orientation: 'text' }], ['detect', { kinds: ['objects', 'faces', 'text'] }], ['caption'], ['store']]);
  t.same(stagesOf({ pipeline: 'enrich', skip: ['faces', 'orientation'] }), [['preprocess', { orientation: 'exif' }], ['detect', { kinds: ['objects', 'text'] }], ['embed'], ['caption'], ['store']]);
  t.same(stagesOf({ pipeline: 'enrich', skip: ['objects', 'faces', 'text'] }), [['preprocess', { orientation: 'text' }], ['embed'], ['caption'], ['store']], 'detect with no kind left is off');
  t.same(stagesOf({ pipeline: 'enrich', skip: ['caption'] }), [['preprocess', { orientation: 'text' }], ['detect', { kinds: ['objects', 'faces', 'text'] }], ['embed'], ['store']], 'no caption');
  t.same(stagesOf({ pipeline: 'text', skip: ['orientation'] }), [['preprocess', { orientation: 'exif' }], ['detect.text'], ['store']], 'detect.text finds the lines itself');
  t.same(stagesOf({ pipeline: 'objects', skip: ['faces'] }), [['preprocess', { orientation: 'exif' }], ['detect', { kinds: ['objects'] }], ['store']]);
  t.same(
    stagesOf({ pipeline: 'enrich', skip: ['objects'], ocr: { engine: 'tesseract' } }),
    [['preprocess', { orientation: 'text' }], ['detect', { kinds: ['faces', 'text'], ocr: { engine: 'tesseract' } }], ['embed'], ['caption'], ['store']],
    'beside the job’s other options for the stage',
  );
  t.equal(stageOptionsOf({ pipeline: 'enrich', skip: [] }), undefined, 'an empty skip is no skip');
});

t.test('a part the pipeline lacks, or a skip that leaves nothing to do, is refused with the parts there are', async (t) => {
  t.throws(() => stageOptionsOf({ pipeline: 'objects', skip: ['text'] }), {
    code: 'LOUPE_ERR_VALIDATION',
    message: 'pipeline objects has no text to skip: its parts are objects, faces',
    details: { errors: [{ path: '/skip', allowed: ['objects', 'faces'] }] },
  });
  t.throws(() => stageOptionsOf({ pipeline: 'classify', skip: ['embed'] }), { message: 'pipeline classify has no embed to skip: it has no parts to turn off' });
  t.throws(() => stageOptionsOf({ pipeline: 'objects', skip: ['objects', 'faces'] }), { code: 'LOUPE_ERR_VALIDATION', message: 'skipping objects, faces leaves pipeline objects nothing to do' });
  t.throws(() => stageOptionsOf({ pipeline: 'text', skip: ['text'] }), { message: 'skipping text leaves pipeline text nothing to do' });
  t.throws(() => stageOptionsOf({ pipeline: 'enrich', skip: ['text'], ocr: { engine: 'ppocr' } }), { message: 'ocr goes with the text part, which skip turns off' });
});

t.test('explain: the store stage is asked, in the one pipeline that classifies', async (t) => {
  t.same(stageOptionsOf({ pipeline: 'classify', explain: { classifications: true } }), { store: { explain: { classifications: true } } });
  t.same(stagesOf({ pipeline: 'classify', explain: { classifications: true } }).at(-1), ['store', { explain: { classifications: true } }]);
  t.throws(() => stageOptionsOf({ pipeline: 'objects', explain: { classifications: true } }), { code: 'LOUPE_ERR_VALIDATION', message: /goes with pipeline classify/ });
});

const HARVEST: HarvestOutput = {
  manifests: [{ id: 'https://iiif.example.org/m', label: 'Book', document: 'https://iiif.example.org/m', sourceVersion: 3, canvases: 1 }],
  tasks: [
    {
      manifestId: 'https://iiif.example.org/m',
      canvasId: 'https://iiif.example.org/c/1',
      canvasIndex: 0,
      canvasLabel: 'f. 1',
      canvasWidth: 1000,
      canvasHeight: 1400,
      imageIndex: 0,
      image: { id: 'https://iiif.example.org/img/1/full/max/0/default.jpg', service: { id: 'https://iiif.example.org/img/1', version: 3, level: 2 } },
    },
  ],
  skipped: [],
  errors: [],
};

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };

t.test("a job's skip is kept in its spec: its stages, its canvases' route, and the route of a resumed job", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'loupe-skip-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bus = createMemoryBus();
  const jobs = openSqliteJobStore({ path: join(dir, 'jobs.db') });
  t.teardown(async () => {
    await jobs.close();
    await bus.close();
  });
  await bus.serve(SUBJECTS.harvest, async () => ({ data: encode(HARVEST), headers: {} }));
  const queued: StageEnvelope[] = [];
  await bus.consume(SUBJECTS.preprocessPrepare, { durable: 'preprocess-test' }, async (msg) => {
    queued.push(decode<StageEnvelope>(msg.data));
    msg.ack();
  });
  const runner = new JobRunner(bus, jobs, quiet);
  await runner.start();
  const id = await runner.create('https://iiif.example.org/m', 'enrich', stageOptionsOf({ pipeline: 'enrich', skip: ['embed', 'faces'] }));
  for (let i = 0; i < 10_000 && queued.length === 0; i++) await new Promise((r) => setImmediate(r));

  t.same(Object.keys((await jobs.get(id))!.stages), ['preprocess', 'detect', 'caption', 'store'], 'the job waits on no embed stage');
  t.same(queued[0]!.route.map((r) => r.stage), ['preprocess', 'detect', 'caption', 'store']);
  t.same(queued[0]!.route[1]!.options, { kinds: ['objects', 'text'] });
  const spec = (await jobs.unfinished())[0]!.spec!;
  t.same(routeOf('enrich', spec.options), queued[0]!.route, 'the spec gives a resumed job the same route');
  await runner.stop();
});
