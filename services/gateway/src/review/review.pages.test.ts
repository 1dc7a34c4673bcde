// The review page's static checks; test/review-page.test.ts drives it in Chromium.
import { readdirSync, readFileSync } from 'node:fs';
import vm from 'node:vm';
import t from 'tap';
import { REVIEW_PAGES } from './review.pages.js';

const page = (url: string) => {
  const found = REVIEW_PAGES.find((p) => p.url === url);
  if (!found) throw new Error(`no page ${url}`);
  return found;
};
const html = page('/review').body;
const script = page('/review/app.js').body;
const style = page('/review/app.css').body;
// The script's TypeScript sources, bundled into `script`.
const pageDir = new URL('./page/', import.meta.url);
const source = (file: string) => readFileSync(new URL(file, pageDir), 'utf8');
const sources = readdirSync(pageDir).filter((f) => f.endsWith('.ts')).map(source).join('\n');

t.test('the script is a valid classic script', async (t) => {
  t.doesNotThrow(() => new vm.Script(script, { filename: 'review/app.js' }));
  t.match(script, /^"use strict";\n\(\(\) => \{\n[^]*\n\}\)\(\);\n$/, 'strict, and nothing leaks into the global scope');
});

t.test('the page loads only its own assets, and every one it names is served', async (t) => {
  const referenced = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
  t.same(referenced.sort(), ['data:,', 'review/app.css', 'review/app.js'].sort(), 'a stylesheet, a script, and no favicon request');
  for (const ref of referenced.filter((r) => r.startsWith('review/'))) t.ok(REVIEW_PAGES.some((p) => p.url === `/${ref}`), `/${ref} is served`);
  t.notMatch(html + style, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no external resource (no CDN)');
  t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script: the CSP allows none');
  t.notMatch(html, /<style|\sstyle=/, 'no inline style');
  t.notMatch(html, /\son[a-z]+=/, 'no inline event handler');
});

t.test('data reaches the DOM as text, never as markup', async (t) => {
  t.notMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/);
});

t.test('every element the script looks up exists in the page', async (t) => {
  const ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));
  const wanted = new Set([...sources.matchAll(/\$\('([a-z0-9-]+)'\)/g)].map((m) => m[1]!));
  t.ok(wanted.size > 30, `the script looks up ${wanted.size} elements`);
  for (const id of wanted) t.ok(ids.has(id), `#${id}`);
  // Ids built at run time: annotation-<n> for the list, correct-<field> for the form.
  for (const field of ['label', 'concept', 'x', 'y', 'w', 'h', 'text']) t.ok(ids.has(`correct-${field}`), `#correct-${field}`);
});

t.test('each key the help lists is bound, and each bound key is listed', async (t) => {
  const keys = source('keyboard.controls.ts');
  const start = keys.indexOf('const KEYS: Readonly<Record<string, () => void>> = {');
  t.ok(start >= 0, 'the key table is found');
  const bound = [...keys.slice(start, keys.indexOf('};', start)).matchAll(/^ {2}'?([^':\s]+)'?:/gm)].map((m) => m[1]!);
  t.same(bound.sort(), ['?', 'ArrowDown', 'ArrowUp', 'a', 'c', 'h', 'j', 'k', 'n', 'p', 'r', 'u'].sort());
  const help = html.slice(html.indexOf('<section id="help"'), html.indexOf('</section>', html.indexOf('<section id="help"')));
  for (const key of bound) {
    const shown = key === 'ArrowDown' ? '↓' : key === 'ArrowUp' ? '↑' : key;
    t.ok(help.includes(`<kbd>${shown}</kbd>`), `the help lists ${key}`);
  }
});
