import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { manifestV3, startIiifImageServer } from '@loupe/testing';
import t from 'tap';
import { createDocumentLoader, createFetcher } from './index.js';

const manifest = manifestV3({ id: 'https://example.org/m/book.json', canvases: [{ label: 'p1', width: 10, height: 10 }] });

t.test('paths, file: URLs and http URLs all load as parsed JSON', async (t) => {
  const dir = t.testdir({ 'book.json': JSON.stringify(manifest), sub: { 'other.json': '{"n":1}' } });
  const server = await startIiifImageServer();
  t.teardown(() => server.close());
  const url = server.addDocument('/m/book.json', manifest);
  const load = createDocumentLoader(createFetcher({ retryBaseMs: 5 }), { baseDir: dir, files: 'any' });

  t.same(await load('book.json'), manifest, 'a path relative to baseDir');
  t.same(await load(join(dir, 'sub', 'other.json')), { n: 1 }, 'an absolute path');
  t.same(await load(pathToFileURL(join(dir, 'book.json')).href), manifest, 'a file: URL');
  t.same(await load(url), manifest, 'an http URL');
  t.same(server.requests, ['/m/book.json']);
});

t.test('errors name the file', async (t) => {
  const dir = t.testdir({ 'bad.json': '{"label": ', 'dir.json': {} });
  await writeFile(join(dir, 'latin1.json'), Buffer.from('{"label":"\xe9t\xe9"}', 'latin1'));
  const load = createDocumentLoader(createFetcher(), { baseDir: dir, maxBytes: 1000, files: 'any' });
  await writeFile(join(dir, 'big.json'), `[${'1,'.repeat(1000)}1]`);

  const cases: [string, string, string][] = [
    ['missing.json', 'LOUPE_ERR_NOT_FOUND', 'missing.json'],
    ['bad.json', 'LOUPE_ERR_IIIF_NOT_JSON', 'bad.json'],
    ['latin1.json', 'LOUPE_ERR_IIIF_NOT_UTF8', 'latin1.json'],
    ['dir.json', 'LOUPE_ERR_NOT_FOUND', 'dir.json'],
    ['big.json', 'LOUPE_ERR_FETCH_TOO_LARGE', 'big.json'],
    ['ftp://example.org/m.json', 'LOUPE_ERR_VALIDATION', 'ftp://example.org/m.json'],
  ];
  for (const [ref, code, named] of cases) {
    await t.rejects(load(ref), { code, message: new RegExp(named.replace(/[.]/g, '\\.')) }, `${ref}: ${code}`);
  }
});

t.test('by default only http(s) is loaded: no path, file: URL or other scheme touches the disk', async (t) => {
  const dir = t.testdir({ 'book.json': JSON.stringify(manifest), 'passwd': 'root:x:0:0:root:/root:/bin/bash\n' });
  const load = createDocumentLoader(createFetcher(), { baseDir: dir });
  const refs = [
    'book.json',
    join(dir, 'passwd'),
    join(dir, 'missing.json'),
    pathToFileURL(join(dir, 'passwd')).href,
    'file:///etc/shadow',
    '/proc/self/environ',
    'ftp://example.org/m.json',
  ];
  const messages = new Set<string>();
  for (const ref of refs) {
    const err = (await load(ref).then(
      () => t.fail(`${ref} was loaded`),
      (e: unknown) => e,
    )) as { code?: string; message?: string };
    t.equal(err.code, 'LOUPE_ERR_SOURCE_UNSUPPORTED', `${ref}: refused`);
    t.notMatch(err.message ?? '', /root:|no such file|cannot be read/, `${ref}: nothing about the file`);
    if (!ref.includes(':')) messages.add(err.message ?? '');
  }
  t.equal(messages.size, 1, 'an existing file, a missing one and a relative path get the same answer');
});

t.test('files: a list of folders reads only below them, symbolic links resolved', async (t) => {
  const dir = t.testdir({ inside: { 'book.json': JSON.stringify(manifest) }, outside: { 'secret.json': '{"secret":1}' } });
  await symlink(join(dir, 'outside', 'secret.json'), join(dir, 'inside', 'link.json'));
  const load = createDocumentLoader(createFetcher(), { files: [join(dir, 'inside')] });
  t.same(await load(join(dir, 'inside', 'book.json')), manifest, 'a file in the folder');
  await t.rejects(load(join(dir, 'outside', 'secret.json')), { code: 'LOUPE_ERR_SOURCE_UNSUPPORTED' }, 'a file beside it');
  await t.rejects(load(join(dir, 'inside', '..', 'outside', 'secret.json')), { code: 'LOUPE_ERR_SOURCE_UNSUPPORTED' }, 'a way out through ..');
  await t.rejects(load(join(dir, 'inside', 'link.json')), { code: 'LOUPE_ERR_SOURCE_UNSUPPORTED' }, 'a way out through a link');
});
