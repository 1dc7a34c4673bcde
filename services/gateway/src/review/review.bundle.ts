// Bundles the review page's TypeScript (page/, type-checked by tsconfig.review.json) into the one
// classic script the gateway serves at /review/app.js, so the page runs under script-src 'self'.
// `pnpm run build` writes the bundle into dist/ beside the compiled gateway, so a deployed package
// needs no bundler; on the sources (tsx, tests) it is built when the module loads, never stale.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Esbuild from 'esbuild';

const PACKAGE = new URL('../../', import.meta.url);
const ENTRY = fileURLToPath(new URL('src/review/page/review.app.ts', PACKAGE));
const TSCONFIG = fileURLToPath(new URL('tsconfig.review.json', PACKAGE));
/** Beside this module: dist/review/app.js once built; src/review/ never holds one. */
const BUILT = new URL('./app.js', import.meta.url);

export function bundleReviewScript(): string {
  let esbuild: typeof Esbuild;
  try {
    esbuild = createRequire(import.meta.url)('esbuild') as typeof Esbuild;
  } catch (err) {
    throw new Error(`the review page's script is not built (${fileURLToPath(BUILT)}): run pnpm run build`, { cause: err });
  }
  const result = esbuild.buildSync({
    entryPoints: [ENTRY],
    tsconfig: TSCONFIG,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    charset: 'utf8',
    legalComments: 'none',
    write: false,
  });
  return result.outputFiles[0]!.text;
}

/** The script the gateway serves: the built file where there is one, else bundled now. */
export function reviewScript(): string {
  return existsSync(BUILT) ? readFileSync(BUILT, 'utf8') : bundleReviewScript();
}

/** Writes the bundle beside the compiled module (run from dist/ by `pnpm run build`). */
export function writeReviewBundle(): void {
  writeFileSync(BUILT, bundleReviewScript());
}
