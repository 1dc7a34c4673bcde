// The test's own web origin: the viewer pages of test/viewer/ and Mirador's bundle from
// node_modules (no CDN), on a port of their own, so that everything the viewer reads from Loupe and
// from the IIIF server is a cross-origin request and CORS is exercised.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { startCountingServer, type CountingServer } from '@loupe/testing';

const VIEWER_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'viewer');
/** The self-contained UMD build: window.Mirador, React and OpenSeadragon inside. */
const MIRADOR_BUNDLE = createRequire(import.meta.url).resolve('mirador');

/** A page's script, its types stripped (test/viewer/tsconfig.json checks them). */
async function pageScript(name: string): Promise<string> {
  const source = await readFile(path.join(VIEWER_DIR, `${name}.ts`), 'utf8');
  return ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022 }, fileName: `${name}.ts` }).outputText;
}

async function answer(urlPath: string): Promise<{ type: string; body: string | Buffer } | undefined> {
  if (urlPath === '/mirador.min.js') return { type: 'text/javascript', body: await readFile(MIRADOR_BUNDLE) };
  const html = /^\/([a-z-]+)\.html$/.exec(urlPath);
  if (html) return { type: 'text/html; charset=utf-8', body: await readFile(path.join(VIEWER_DIR, `${html[1]}.html`)) };
  const script = /^\/([a-z-]+\.[a-z]+)\.js$/.exec(urlPath);
  if (script) return { type: 'text/javascript', body: await pageScript(script[1]!) };
  return undefined;
}

/** Serves test/viewer/<name>.html, its scripts and mirador.min.js on 127.0.0.1. */
export function startViewerHost(): Promise<CountingServer> {
  return startCountingServer((req, res) => {
    answer(new URL(req.url ?? '/', 'http://host').pathname).then(
      (found) => {
        if (!found) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': found.type, 'cache-control': 'no-store' }).end(found.body);
      },
      (err: NodeJS.ErrnoException) => void res.writeHead(err.code === 'ENOENT' ? 404 : 500).end(String(err)),
    );
  });
}
