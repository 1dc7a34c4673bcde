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
    message: new RegExp(`^${DOC} is not JSON: Unexpected token`),
    details: { document: DOC },
  });
  t.throws(() => parseJsonDocument(new Uint8Array(0), DOC), { code: 'LOUPE_ERR_IIIF_NOT_JSON', message: /end of JSON input/ });
});
