import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Tesseract's language models, read from the @tesseract.js-data packages installed beside Loupe,
 * so recognition never reaches a CDN. Each package ships `4.0.0/` (LSTM plus the legacy engine)
 * and `4.0.0_best_int/` (LSTM only). Measured on the 18th-century French fixture page, both read
 * the same text in the same time (1.9 s), and best_int is a ninth of the size and starts in 0.4 s
 * rather than 0.7 s, so Loupe uses best_int; the legacy models matter only for OSD.
 */
export const TESSDATA_SET = '4.0.0_best_int';

const require = createRequire(import.meta.url);

/** The folder holding `<lang>.traineddata.gz` for one language. */
export function tessdataFolder(language: string): string {
  // The code becomes a package name and a file name: nothing but a Tesseract code may pass.
  if (!/^[a-z][a-z_]*$/.test(language)) throw new RangeError(`not a Tesseract language code: ${JSON.stringify(language)}`);
  let pkg: string;
  try {
    pkg = require.resolve(`@tesseract.js-data/${language}/package.json`);
  } catch (cause) {
    throw new Error(`no Tesseract model for language "${language}": @tesseract.js-data/${language} is not installed`, { cause });
  }
  return join(dirname(pkg), TESSDATA_SET);
}

export interface LanguageFolder {
  /** What tesseract.js reads `<lang>.traineddata.gz` from for every language asked for. */
  langPath: string;
  dispose(): Promise<void>;
}

/**
 * tesseract.js takes one langPath for all languages, and pnpm puts each language's package in its
 * own folder, so several languages meet in a temporary folder of links to the packages' files.
 */
export async function languageFolder(languages: readonly string[]): Promise<LanguageFolder> {
  const folders = languages.map(tessdataFolder);
  if (new Set(folders).size === 1) return { langPath: folders[0]!, dispose: async () => {} };
  const langPath = await mkdtemp(join(tmpdir(), 'loupe-tessdata-'));
  try {
    await Promise.all(
      languages.map((lang, i) => symlink(join(folders[i]!, `${lang}.traineddata.gz`), join(langPath, `${lang}.traineddata.gz`))),
    );
  } catch (err) {
    await rm(langPath, { recursive: true, force: true });
    throw err;
  }
  return { langPath, dispose: () => rm(langPath, { recursive: true, force: true }) };
}

/** The Tesseract engine's card id: the model every Tesseract reading is credited to. */
export const TESSERACT_ENGINE_ID = 'tesseract-lstm';

/** The version of the wasm build of Tesseract that tesseract.js runs. */
export function tesseractCoreVersion(): string {
  // Asked for every page Tesseract reads (it names the model in the result): resolved once.
  coreVersion ??= (createRequire(require.resolve('tesseract.js'))('tesseract.js-core/package.json') as { version: string }).version;
  return coreVersion;
}
let coreVersion: string | undefined;
