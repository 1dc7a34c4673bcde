import { createRequire } from 'node:module';
import { join } from 'node:path';
import { LoupeError } from '@loupe/contracts';
import { builtinEngineCard } from '../builtin-models.js';
import type { EngineCard, EngineLanguage } from '../cards/engine-card.js';
import { verifyFile } from '../registry/model-files.js';
import { TESSERACT_ENGINE_ID, tessdataFolder, tesseractCoreVersion } from './tessdata.js';

/**
 * The Tesseract engine's built-in card (cards/tesseract-lstm.json, an engine card: see
 * engine-card.ts) as this installation has it: the languages whose packages are installed, each
 * with its package's version and licence, after checking its bytes against the card's sha256.
 * The registry lists and verifies the same card; this is the view the OCR output cites.
 */
export interface TesseractEngineCard {
  id: typeof TESSERACT_ENGINE_ID;
  /** The wasm build of Tesseract (tesseract.js-core), which decides what the models read. */
  version: string;
  task: EngineCard['task'];
  name: string;
  runtime: { name: 'tesseract.js'; version: string };
  licence: string;
  source: string;
  /** The language models installed beside Loupe, in code order. */
  languages: TesseractLanguageModel[];
}

export interface TesseractLanguageModel {
  /** Tesseract's code, as jobs name it. */
  code: string;
  name: string;
  script: string;
  /** The npm package that ships the file, its version and the licence of the packaging. */
  package: { name: string; version: string; licence: string };
  /** The models themselves: Google's tessdata, under the card's licence whatever the packaging says. */
  licence: string;
  /** Inside the package. */
  path: string;
  size: number;
  sha256: string;
}

const require = createRequire(import.meta.url);
let card: Promise<TesseractEngineCard> | undefined;

/** The engine's card, its installed files checked against the card's checksums once per process. */
export function tesseractEngineCard(): Promise<TesseractEngineCard> {
  card ??= describe().catch((err: unknown) => {
    card = undefined;
    throw err;
  });
  return card;
}

async function describe(): Promise<TesseractEngineCard> {
  const pinned = builtinEngineCard(TESSERACT_ENGINE_ID);
  // Annotations name the installed build in their generator: a card of another build would cite the wrong engine.
  const core = tesseractCoreVersion();
  if (core !== pinned.version) {
    throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `tesseract.js-core ${core} is installed but the ${TESSERACT_ENGINE_ID} card describes ${pinned.version}: pin the card again (docs/models.md)`, {
      details: { model: TESSERACT_ENGINE_ID, installed: core, card: pinned.version },
    });
  }
  const installed = pinned.engine.languages.filter((lang) => {
    try {
      return Boolean(tessdataFolder(lang.code));
    } catch {
      return false;
    }
  });
  const tesseractJs = require('tesseract.js/package.json') as { version: string };
  return {
    id: TESSERACT_ENGINE_ID,
    version: pinned.version,
    task: pinned.task,
    name: pinned.name,
    runtime: { name: 'tesseract.js', version: tesseractJs.version },
    licence: pinned.licence,
    source: pinned.source,
    languages: await Promise.all([...installed].sort((a, b) => a.code.localeCompare(b.code)).map((lang) => languageModel(pinned, lang))),
  };
}

async function languageModel(pinned: EngineCard, lang: EngineLanguage): Promise<TesseractLanguageModel> {
  const file = pinned.files[lang.file]!;
  const name = file.package!;
  const pkg = require(`${name}/package.json`) as { version: string; license?: string };
  // tessdataFolder is where the recogniser reads from: the card's path must name the same file.
  const path = join(tessdataFolder(lang.code), '..', file.path!);
  await verifyFile(path, file, `${pinned.id}/${lang.file} (${file.path})`);
  return {
    code: lang.code,
    name: lang.name,
    script: lang.script,
    package: { name, version: pkg.version, licence: pkg.license ?? 'UNKNOWN' },
    licence: pinned.licence,
    path: file.path!,
    size: file.size!,
    sha256: file.sha256,
  };
}
