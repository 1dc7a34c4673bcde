// Authentication end to end through the real `loupe` command: keys created, listed and revoked by
// `loupe keys`; `loupe serve` refusing an open API off loopback; the attack (an anonymous
// bulk review) against a served API with keys; reviews recorded as the key's holder; the
// in-process CLI working in a data directory that holds keys. OIDC against a local issuer is
// packages/runtime/src/oidc.test.ts (jose signs its tokens there).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { freePort, runLoupe, spawnLoupe } from './support/loupe-process.js';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'loupe-auth-e2e-'));
t.teardown(() => fs.rm(tmp, { recursive: true, force: true }));
const dataDir = path.join(tmp, 'data');
const keysFile = path.join(dataDir, 'keys.json');
const env = { LOUPE_DATA_DIR: dataDir, LOUPE_LOG_LEVEL: 'warn' };
const TOKEN = /^loupe_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

const keys: Record<string, { id: string; token: string }> = {};

t.test('loupe keys: create prints the key once, list never shows it, revoke marks it', async (t) => {
  for (const [name, role] of [
    ['Ada Lovelace', 'curator'],
    ['ops robot', 'admin'],
    ['leaver', 'reader'],
  ] as const) {
    const created = await runLoupe(['keys', 'create', '--name', name, '--role', role], { env });
    t.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    t.match(token, TOKEN, `${name}: loupe_<id>_<secret> alone on standard output`);
    t.match(created.stderr, /only time the key is shown/);
    keys[role] = { id: TOKEN.exec(token)![1]!, token };
  }
  const file = await fs.readFile(keysFile, 'utf8');
  for (const { token } of Object.values(keys)) t.notOk(file.includes(token.slice(-43)), 'the file holds no secret');
  t.equal((await fs.stat(keysFile)).mode & 0o777, 0o600, 'the file is readable by its owner only');

  const bad = await runLoupe(['keys', 'create', '--name', 'x', '--role', 'root'], { env });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--role reader\|curator\|operator\|admin/, 'an unknown role is refused, naming the roles');

  t.equal((await runLoupe(['keys', 'revoke', keys.reader!.id], { env })).code, 0);
  const listed = await runLoupe(['keys', 'list', '--json'], { env });
  t.equal(listed.code, 0, listed.stderr);
  const rows = listed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; name: string; role: string; prefix: string; last4: string; revoked?: string; hash?: string });
  t.same(rows.map((r) => [r.name, r.role, Boolean(r.revoked)]), [
    ['Ada Lovelace', 'curator', false],
    ['ops robot', 'admin', false],
    ['leaver', 'reader', true],
  ]);
  t.ok(rows.every((r) => r.hash === undefined), 'no hash in the list either');
  t.equal(rows[0]!.prefix + '…' + rows[0]!.last4, `loupe_${keys.curator!.id}_…${keys.curator!.token.slice(-4)}`, 'a key is recognisable by its prefix and last four characters');
  for (const { token } of Object.values(keys)) t.notOk(listed.stdout.includes(token.slice(-43)), 'no secret in the list');
});

t.test('loupe serve refuses a non-loopback address without authentication, unless --insecure-no-auth', async (t) => {
  const open = { LOUPE_DATA_DIR: path.join(tmp, 'open'), LOUPE_LOG_LEVEL: 'warn', LOUPE_SERVICES: 'gateway,ground-truth', LOUPE_HOST: '0.0.0.0' };
  const refused = await runLoupe(['serve'], { env: { ...open, LOUPE_PORT: String(await freePort()) } });
  t.equal(refused.code, 1, 'it exits');
  t.match(refused.stderr, /LOUPE_ERR_CONFIG_INVALID: refusing to serve on 0\.0\.0\.0 without authentication/);
  t.match(refused.stderr, /loupe keys create/, 'and says how to fix it');
  t.match(refused.stderr, /--insecure-no-auth/);

  const port = await freePort();
  const child = spawnLoupe(['serve', '--insecure-no-auth'], { env: { ...open, LOUPE_PORT: String(port) } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  t.teardown(() => void child.kill('SIGTERM'));
  await untilReady(`http://127.0.0.1:${port}`, () => stderr, exited);
  t.match(stderr, /serving without authentication of its own \(--insecure-no-auth\)/, 'it starts, and warns');
  t.equal((await fetch(`http://127.0.0.1:${port}/v1/datasets`)).status, 200, 'the API is open: the proxy in front authenticates');
  child.kill('SIGTERM');
  t.equal(await exited, 0);
});

t.test('a served API with keys: the anonymous bulk review of the issue is refused and changes nothing', async (t) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // Off loopback and no --insecure-no-auth: it starts because keys are configured.
  const child = spawnLoupe(['serve'], { env: { ...env, LOUPE_SERVICES: 'gateway,ground-truth', LOUPE_HOST: '0.0.0.0', LOUPE_PORT: String(port), LOUPE_PUBLIC_URL: base } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  t.teardown(() => void child.kill('SIGTERM'));
  await untilReady(base, () => stderr, exited);

  const as = (key: string | undefined) => ({ ...(key && { authorization: `Bearer ${key}` }), 'content-type': 'application/json' });
  const call = async (method: string, url: string, key?: string, body?: unknown) => {
    const res = await fetch(`${base}${url}`, { method, headers: as(key), ...(body !== undefined && { body: JSON.stringify(body) }) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };

  const manifestId = 'https://iiif.example.org/m/manifest';
  const canvasId = 'https://iiif.example.org/m/canvas/1';
  const stored = await call('POST', '/v1/results', keys.admin!.token, {
    task: { jobId: 'auth', manifestId, canvasId, canvasIndex: 0, canvasLabel: 'p. 1', canvasWidth: 100, canvasHeight: 100, imageIndex: 0, image: { id: 'https://iiif.example.org/1.jpg' } },
    results: {
      detect: {
        resultSets: [
          {
            manifestId,
            canvasId,
            imageIndex: 0,
            stage: 'detect',
            model: { id: 'm', version: '1' },
            generated: '2026-01-01T00:00:00Z',
            findings: [
              { motivation: 'tagging', box: { x: 1, y: 1, w: 10, h: 10 }, label: 'cat', confidence: 0.9 },
              { motivation: 'tagging', box: { x: 20, y: 20, w: 10, h: 10 }, label: 'dog', confidence: 0.8 },
            ],
          },
        ],
      },
    },
    options: {},
  });
  t.equal(stored.status, 200, JSON.stringify(stored.body));

  const attack = await call('POST', '/v1/annotations/review', undefined, { filter: { manifest: manifestId }, state: 'rejected', reviewer: 'anyone' });
  t.equal(attack.status, 401, 'the anonymous bulk review is refused');
  t.equal(attack.body.code, 'LOUPE_ERR_AUTH_REQUIRED');
  t.equal(attack.headers.get('www-authenticate'), 'Bearer realm="loupe"');
  const page = await call('GET', `/v1/annotations?manifest=${encodeURIComponent(manifestId)}`, keys.curator!.token);
  t.same(page.body.items.map((a: { 'loupe:reviewState': string }) => a['loupe:reviewState']), ['unreviewed', 'unreviewed'], 'nothing changed in the store');

  t.equal((await call('POST', '/v1/jobs', undefined, { manifest: manifestId })).status, 401, 'nobody anonymous starts jobs');
  t.equal((await call('DELETE', '/v1/dead-letters/1')).status, 401, 'or drops dead letters');
  t.equal((await call('POST', '/v1/jobs', keys.curator!.token, { manifest: manifestId })).status, 403, 'a curator does not start jobs');
  const revoked = await call('GET', '/v1/datasets', keys.reader!.token);
  t.equal(revoked.status, 401, 'a revoked key is refused');
  t.equal(revoked.body.code, 'LOUPE_ERR_AUTH_INVALID');

  const key = (page.body.items[0].id as string).split('/').pop();
  const review = await call('POST', `/v1/annotations/${key}/review`, keys.curator!.token, { state: 'accepted', reviewer: 'someone-else' });
  t.equal(review.status, 200, JSON.stringify(review.body));
  const history = await call('GET', `/v1/annotations/${key}/history`, keys.curator!.token);
  t.equal(history.body.items.at(-1).reviewer, 'Ada Lovelace', "the revision names the key's holder, not the body's reviewer");

  const doc = await call('GET', '/openapi.json');
  t.equal(doc.status, 200, 'OpenAPI stays public');
  t.match(doc.body.components.securitySchemes, { apiKey: { type: 'apiKey' }, bearer: { type: 'http', scheme: 'bearer' } });
  t.same(doc.body.paths['/v1/annotations/review'].post.security, [{ apiKey: [] }, { bearer: [] }]);
  t.equal((await fetch(`${base}/healthz`)).status, 200, 'health needs no key');
  t.notOk(stderr.includes(keys.curator!.token.slice(-43)), 'no key in the log');

  child.kill('SIGTERM');
  t.equal(await exited, 0);
});

t.test('the in-process CLI keeps working in a data directory that holds keys', async (t) => {
  const created = await runLoupe(['datasets', 'create', 'local-set', '--description', 'made by the CLI'], { env });
  t.equal(created.code, 0, created.stderr);
  const listed = await runLoupe(['datasets', 'list'], { env });
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout + listed.stderr, /local-set/, 'the CLI reads what it wrote, through the same API');
});

async function untilReady(base: string, stderr: () => string, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 300; i++) {
    if (gone) throw new Error(`loupe serve exited: ${stderr()}`);
    const ok = await fetch(`${base}/readyz`).then((r) => r.status === 200, () => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`loupe serve never got ready: ${stderr()}`);
}
