import t from 'tap';
import { SERVICE_APIS } from './apis.js';
import { LoupeError } from './errors.js';
import { PIPELINE_NAMES } from './jobs.js';
import type { PreparedImage } from './prepared-image.js';
import { PIPELINES, STAGES, STAGE_NAMES, stageResult } from './routing-slip.js';
import { SUBJECTS } from './subjects.js';

const prepared: PreparedImage = {
  request: 'https://images.example.org/iiif/1/full/!2048,2048/0/default.jpg',
  width: 2048,
  height: 1536,
  exifOrientation: 1,
  canvasRegion: { x: 0, y: 0, w: 4000, h: 3000 },
  fromCache: false,
  fetch: { fit: { width: 2048, height: 2048 } },
  rotation: 180,
  orientation: { source: 'text-lines', lines: 12, upright: 2, upsideDown: 10 },
  region: { x: 10, y: 20, w: 300, h: 200 },
};

t.test('a stage reads an earlier stage result, typed and checked', async (t) => {
  const read = stageResult({ preprocess: prepared }, 'preprocess');
  t.equal(read?.rotation, 180);
  t.same(read?.fetch, { fit: { width: 2048, height: 2048 } });
  t.equal(stageResult({}, 'preprocess'), undefined, 'a pipeline without the stage: nothing to read');
  // An operator's hand-written hints at a stage route, and slips an earlier Loupe queued, carry only some fields.
  t.same(stageResult({ preprocess: { rotation: 90 } }, 'preprocess'), { rotation: 90 });
});

t.test('a malformed earlier result fails the stage, naming the field', async (t) => {
  const cases: [unknown, string][] = [
    [{ ...prepared, rotation: 45 }, '/results/preprocess/rotation'],
    [{ region: { x: 0, y: 0, w: 'wide', h: 10 } }, '/results/preprocess/region/w'],
    [null, '/results/preprocess'],
    [{ resultSets: 'none' }, '/results/detect/resultSets'],
  ];
  for (const [value, path] of cases) {
    const stage = path.split('/')[2] as 'preprocess' | 'detect';
    const err = t.throws(() => stageResult({ [stage]: value }, stage)) as unknown as LoupeError;
    t.ok(err instanceof LoupeError, 'a LoupeError');
    t.equal(err.code, 'LOUPE_ERR_VALIDATION');
    t.match(err.message, path, `${JSON.stringify(value)}: ${err.message}`);
  }
});

t.test('every pipeline is a route of declared work queues', async (t) => {
  t.same(Object.keys(PIPELINES).sort(), [...PIPELINE_NAMES].sort(), 'one route per pipeline name');
  for (const [pipeline, route] of Object.entries(PIPELINES)) {
    t.ok(route.length > 0, `${pipeline} has stages`);
    for (const step of route) {
      t.ok(STAGE_NAMES.includes(step.stage), `${pipeline}: ${step.stage} is a stage`);
      t.equal(step.subject, STAGES[step.stage].subject, `${pipeline}: ${step.stage} goes to its own queue`);
    }
  }
  for (const stage of STAGE_NAMES) t.equal(STAGES[stage].mode, 'queue', `${stage} is a work queue`);
});

t.test('every handler is declared once, on a subject of the one table', async (t) => {
  const subjects: string[] = Object.values(SUBJECTS);
  const seen = new Map<string, string>();
  for (const [service, decls] of Object.entries(SERVICE_APIS)) {
    for (const [key, decl] of Object.entries(decls)) {
      const id = `${service}.${key}`;
      t.ok(subjects.includes(decl.subject), `${id}: ${decl.subject} is in SUBJECTS`);
      t.notOk(seen.has(decl.subject), `${id}: no other handler on ${decl.subject}`);
      seen.set(decl.subject, id);
    }
  }
});
