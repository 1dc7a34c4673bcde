import t from 'tap';
import { readFile } from 'node:fs/promises';
import { ERRORS } from '@loupe/contracts';

// The docs live in the repository, beside the packages: docs/errors.md from packages/runtime/src.
const DOC = new URL('../../../docs/errors.md', import.meta.url);

interface DocumentedCode {
  readonly status: number | undefined;
  readonly retryable: boolean | undefined;
  readonly text: string;
}

function parse(markdown: string): Map<string, DocumentedCode> {
  const documented = new Map<string, DocumentedCode>();
  const sections = markdown.split(/^### /m).slice(1);
  for (const section of sections) {
    const [heading = '', ...body] = section.split('\n');
    const code = heading.trim();
    const text = body.join('\n').split(/^## /m)[0] ?? '';
    const status = /\*\*HTTP status:\*\*\s*(\d{3})/.exec(text)?.[1];
    const retryable = /\*\*Retryable:\*\*\s*(yes|no)/.exec(text)?.[1];
    documented.set(code, {
      status: status === undefined ? undefined : Number(status),
      retryable: retryable === undefined ? undefined : retryable === 'yes',
      text,
    });
  }
  return documented;
}

t.test('docs/errors.md documents every code of the error table, and only those', async (t) => {
  const documented = parse(await readFile(DOC, 'utf8'));

  for (const [code, spec] of Object.entries(ERRORS)) {
    const doc = documented.get(code);
    if (!doc) {
      t.fail(`${code} is not documented in docs/errors.md`);
      continue;
    }
    t.equal(doc.status, spec.status, `${code}: documented status matches the table`);
    t.equal(doc.retryable, spec.retryable, `${code}: documented retryable matches the table`);
    const prose = doc.text.replace(/^- \*\*.*$/gm, '').trim();
    t.ok(prose.length > 40, `${code}: says what it means and what to do`);
  }
  for (const code of documented.keys()) {
    t.ok(Object.hasOwn(ERRORS, code), `${code} is documented but no longer exists in the error table`);
  }
});
