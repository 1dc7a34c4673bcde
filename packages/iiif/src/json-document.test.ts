import t from 'tap';
import { parseJsonDocument } from './json-document.js';

const DOC = 'https://x.example/manifest.json';
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

t.test('parses UTF-8 JSON, with or without a BOM', async (t) => {
  t.same(parseJsonDocument(bytes('{"label":"Ägypten"}'), DOC), { label: 'Ägypten' });
  t.same(parseJsonDocument(Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes('[1]')]), DOC), [1]);
});

t.test('bytes that are not UTF-8', async (t) => {
  // "Ägypten" in Latin-1: 0xC4 starts a two-byte sequence that 0x67 does not continue.
  const latin1 = Uint8Array.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc4, 0x67, 0x22, 0x7d]);
  t.throws(() => parseJsonDocument(latin1, DOC), {
    code: 'LOUPE_ERR_IIIF_NOT_UTF8',
    message: new RegExp(`^${DOC} is not UTF-8: `),
    details: { document: DOC },
  });
});

t.test('text that is not JSON', async (t) => {
  t.throws(() => parseJsonDocument(bytes('<html>'), DOC), {
    code: 'LOUPE_ERR_IIIF_NOT_JSON',
    message: `${DOC} is not JSON: expected a JSON document, a syntax error was found`,
    details: { document: DOC },
  });
  t.throws(() => parseJsonDocument(bytes('{"a": 1,}'), DOC), { code: 'LOUPE_ERR_IIIF_NOT_JSON', message: /a syntax error at character 8$/ });
  t.throws(() => parseJsonDocument(new Uint8Array(0), DOC), { code: 'LOUPE_ERR_IIIF_NOT_JSON', message: /the text ends too early/ });
});

t.test('an error never quotes the document (a file or an internal page read back through a message)', async (t) => {
  const secrets = ['root:x:0:0:root:/root:/bin/bash', 'AWS_SECRET_ACCESS_KEY=abc123', '{"token": "s3cr3t"', '\u00e9t\u00e9 s3cr3t'];
  for (const secret of secrets) {
    const err = t.throws(() => parseJsonDocument(bytes(secret), DOC)) as Error & { details?: unknown };
    for (const fragment of ['root', 'AWS', 's3cr3t', 'token', 'bash']) {
      t.notMatch(`${err.message} ${JSON.stringify(err.details)}`, fragment, `${JSON.stringify(secret)}: the message does not contain ${fragment}`);
    }
  }
});
