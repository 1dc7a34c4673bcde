import { mkdtemp, readdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { listHeads, loadHead, nextVersion, parseHead, saveHead, serializeHead } from './artefact.js';
import { blobs } from './blobs.test-support.js';
import { fitHead } from './fit.js';
import type { LinearHead } from './head.js';

const concepts = ['http://ex.org/coin', 'http://ex.org/map', 'http://ex.org/painting'];

function trainedHead(version = '1'): LinearHead {
  const b = blobs({ d: 8, sizes: [20, 20, 20], noise: 0.3, seed: 'artefact' });
  return fitHead(
    {
      vectors: Array.from({ length: 60 }, (_, i) => b.x.slice(i * 8, (i + 1) * 8)),
      labels: Array.from(b.y, (c) => [concepts[c]!]),
      classes: concepts.map((concept, i) => ({ concept, ...(i !== 1 && { label: concept.slice(14) }) })),
    },
    { id: 'ex-type', version, embedding: { model: 'toy', version: '2', dims: 8 }, dataset: 'toy', folds: 3 },
  ).head;
}

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

t.test('serialize then parse gives the head back bit for bit', async (t) => {
  const head = trainedHead();
  const text = serializeHead(head);
  const back = parseHead(text, 'memory');
  t.ok(bytes(back.weights).equals(bytes(head.weights)), 'weights bit-exact');
  t.ok(bytes(back.bias).equals(bytes(head.bias)), 'bias bit-exact');
  const { weights: _w, bias: _b, ...rest } = head;
  const { weights: _w2, bias: _b2, ...restBack } = back;
  t.same(restBack, JSON.parse(JSON.stringify(rest)), 'every other field, metrics included');
  t.equal(serializeHead(back), text, 'and serialises to the same text');
  const doc = JSON.parse(text);
  t.same(doc.card, { id: 'ex-type', version: '1', task: 'classification-head', kind: 'softmax', source: 'trained', embedding: { model: 'toy', version: '2', dims: 8 }, classes: 3, created: head.created, targetPrecision: 0.9, trainedOn: head.trainedOn });
  // Little-endian float32, whatever the machine.
  const first = Buffer.from(doc.weights, 'base64').readFloatLE(0);
  t.equal(first, head.weights[0]);
});

t.test('corrupt or inconsistent heads are refused, naming the file and the field', async (t) => {
  const good = JSON.parse(serializeHead(trainedHead()));
  const refuse = (change: (doc: Record<string, any>) => void, message: RegExp, name: string): void => {
    const doc = structuredClone(good);
    change(doc);
    t.throws(() => parseHead(JSON.stringify(doc), '/heads/ex-type/1.json'), { code: 'LOUPE_ERR_MODEL_CARD_INVALID', message }, name);
  };
  t.throws(() => parseHead('{"format": "loupe.linear-head",', '/heads/x/1.json'), { code: 'LOUPE_ERR_MODEL_CARD_INVALID', message: /^\/heads\/x\/1.json: not JSON/ });
  t.throws(() => parseHead('[]', 'f.json'), { message: /f.json: is not a JSON object/ });
  refuse((d) => (d.format = 'onnx'), /field 'format' must be "loupe.linear-head"/, 'format');
  refuse((d) => (d.formatVersion = 2), /field 'formatVersion' must be 1/, 'format version');
  refuse((d) => (d.weights = Buffer.from(d.weights, 'base64').subarray(4).toString('base64')), /^\/heads\/ex-type\/1.json: field 'weights' holds 92 bytes \(23 float32\); K x D = 3 x 8 = 24 float32 are 96 bytes/, 'truncated weights');
  refuse((d) => {
    const buf = Buffer.from(d.weights, 'base64');
    buf.writeFloatLE(NaN, 8);
    d.weights = buf.toString('base64');
  }, /field 'weights' value 2 is NaN, not a finite number/, 'NaN weight');
  refuse((d) => (d.bias = 'not base64!'), /field 'bias' must be base64 text/, 'bias not base64');
  refuse((d) => (d.thresholds = [0.5, 0.5]), /field 'thresholds' must be an array of 3 numbers \(one per class\), got 2/, 'thresholds count');
  refuse((d) => (d.thresholds[1] = 1.5), /field 'thresholds\[1\]' must be a number from 0 to 1, got 1.5/, 'threshold range');
  refuse((d) => (d.temperature = 0), /field 'temperature' must be a finite number > 0/, 'temperature');
  refuse((d) => (d.kind = 'relu'), /field 'kind' must be 'softmax' or 'sigmoid'/, 'kind');
  refuse((d) => (d.embedding.dims = 0), /field 'embedding.dims' must be a whole number/, 'dims');
  refuse((d) => (d.embedding.dims = 9), /field 'weights' holds 96 bytes .*K x D = 3 x 9 = 27/, 'dims that do not match the weights');
  refuse((d) => d.classes.push({ concept: 'http://ex.org/coin' }), /field 'classes\[3\].concept' repeats "http:\/\/ex.org\/coin"/, 'repeated class');
  refuse((d) => delete d.classes[0].concept, /field 'classes\[0\].concept' must be a non-empty string/, 'class without concept');
  refuse((d) => (d.id = '../../etc'), /field 'id' must be 1 to 100 of a-z 0-9/, 'id');
  refuse((d) => (d.card.classes = 4), /field 'card.classes' says 4 but the head has 3/, 'card disagrees');
  refuse((d) => (d.created = 'yesterday'), /field 'created' must be an ISO 8601 date/, 'created');
  refuse((d) => (d.trainedOn.perClass['http://ex.org/map'] = -1), /field 'trainedOn.perClass\["http:\/\/ex.org\/map"\]' must be a whole number/, 'per class count');
});

t.test('heads saved as versions: next version, latest, listing, no replacing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'loupe-heads-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.equal(await nextVersion(dir, 'ex-type'), '1', 'a new head starts at 1');
  t.same(await listHeads(dir), []);
  t.same(await listHeads(join(dir, 'absent')), [], 'a missing directory holds no heads');
  await t.rejects(loadHead(dir, 'ex-type'), { code: 'LOUPE_ERR_NOT_FOUND', message: /no head ex-type in/ });

  const v1 = trainedHead('1');
  const path1 = await saveHead(dir, v1);
  t.equal(path1, join(dir, 'ex-type', '1.json'));
  t.equal(await nextVersion(dir, 'ex-type'), '2');
  await saveHead(dir, trainedHead('2'));
  await saveHead(dir, trainedHead('10'));
  t.equal(await nextVersion(dir, 'ex-type'), '11', 'by the highest whole number, not the text order');
  t.equal((await loadHead(dir, 'ex-type')).version, '10', 'latest is 10, not 2');
  const loaded = await loadHead(dir, 'ex-type', '1');
  t.ok(bytes(loaded.weights).equals(bytes(v1.weights)));
  await t.rejects(saveHead(dir, v1), { code: 'LOUPE_ERR_VALIDATION', message: /head ex-type already has a version 1 .*never replaced/ });
  t.equal(await readFile(path1, 'utf8'), serializeHead(v1), 'the saved version is untouched');
  t.same((await readdir(join(dir, 'ex-type'))).sort(), ['1.json', '10.json', '2.json'], 'no temporary file left behind');

  await saveHead(dir, { ...trainedHead('1'), id: 'another' });
  t.same(await listHeads(dir), [{ id: 'another', versions: ['1'] }, { id: 'ex-type', versions: ['1', '2', '10'] }]);

  await t.rejects(loadHead(dir, 'ex-type', '7'), { code: 'LOUPE_ERR_NOT_FOUND', message: /no version 7 of head ex-type/ });
  await copyFile(path1, join(dir, 'ex-type', '12.json'));
  await t.rejects(loadHead(dir, 'ex-type'), { code: 'LOUPE_ERR_MODEL_CARD_INVALID', message: /12.json: holds head ex-type@1, not ex-type@12/ });
  await writeFile(join(dir, 'ex-type', '13.json'), '{"format": "loupe.linear-head", "formatVersion": 1');
  await t.rejects(loadHead(dir, 'ex-type', '13'), { code: 'LOUPE_ERR_MODEL_CARD_INVALID', message: /13.json: not JSON/ });
  await t.rejects(loadHead(dir, '..'), { code: 'LOUPE_ERR_VALIDATION', message: /head id must be/ });
  await t.rejects(saveHead(dir, { ...v1, version: '../1' }), { code: 'LOUPE_ERR_VALIDATION', message: /head version must be/ });
});
