import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { sha256File } from '../registry/model-files.js';
import { TESSDATA_SET, tessdataFolder, tesseractCoreVersion } from './tessdata.js';
import { TESSERACT_ENGINE_ID } from './tesseract-recognizer.js';

/**
 * The Tesseract engine described as a model card is: what runs, which language models are
 * installed, where each comes from, under what licence, and the sha256 of the bytes Loupe loads.
 * Not a ModelCard: that schema describes one ONNX graph with its tensors and has no languages or
 * scripts, and the registry would offer to load it with onnxruntime.
 */
export interface TesseractEngineCard {
  id: typeof TESSERACT_ENGINE_ID;
  /** The wasm build of Tesseract (tesseract.js-core), which decides what the models read. */
  version: string;
  task: 'text-recognition';
  name: string;
  runtime: { name: 'tesseract.js'; version: string };
  licence: 'Apache-2.0';
  source: string;
  /** The language models installed beside Loupe, in code order. */
  languages: TesseractLanguageModel[];
}

export interface TesseractLanguageModel {
  /** Tesseract's code, as jobs name it. */
  code: string;
  name: string;
  script: 'Latin' | 'Fraktur';
  /** The npm package that ships the file, its version and the licence of the packaging. */
  package: { name: string; version: string; licence: string };
  /** The models themselves: Google's tessdata, under Apache-2.0 whatever the packaging says. */
  licence: 'Apache-2.0';
  /** Inside the package. */
  path: string;
  size: number;
  sha256: string;
}

/**
 * The language models Loupe knows how to name. osd (orientation and script) is left out: it needs
 * Tesseract's legacy engine, and the LSTM engine reads none of it.
 */
const KNOWN: Record<string, Pick<TesseractLanguageModel, 'name' | 'script'>> = {
  deu: { name: 'German', script: 'Latin' },
  eng: { name: 'English', script: 'Latin' },
  fra: { name: 'French', script: 'Latin' },
  frk: { name: 'German Fraktur', script: 'Fraktur' },
  ita: { name: 'Italian', script: 'Latin' },
  lat: { name: 'Latin', script: 'Latin' },
  nld: { name: 'Dutch', script: 'Latin' },
};

const require = createRequire(import.meta.url);
let card: Promise<TesseractEngineCard> | undefined;

/** The engine's card, its checksums computed from the installed files once per process. */
export function tesseractEngineCard(): Promise<TesseractEngineCard> {
  card ??= describe().catch((err: unknown) => {
    card = undefined;
    throw err;
  });
  return card;
}

async function describe(): Promise<TesseractEngineCard> {
  const installed = Object.keys(KNOWN).filter((code) => {
    try {
      return Boolean(tessdataFolder(code));
    } catch {
      return false;
    }
  });
  const tesseractJs = require('tesseract.js/package.json') as { version: string };
  return {
    id: TESSERACT_ENGINE_ID,
    version: tesseractCoreVersion(),
    task: 'text-recognition',
    name: "Tesseract's LSTM engine (wasm)",
    runtime: { name: 'tesseract.js', version: tesseractJs.version },
    licence: 'Apache-2.0',
    source: 'https://github.com/naptha/tesseract.js-core (Tesseract 5), models from https://github.com/tesseract-ocr/tessdata_best as packaged in @tesseract.js-data',
    languages: await Promise.all(installed.map(languageModel)),
  };
}

async function languageModel(code: string): Promise<TesseractLanguageModel> {
  const name = `@tesseract.js-data/${code}`;
  const pkg = require(`${name}/package.json`) as { version: string; license?: string };
  const path = `${TESSDATA_SET}/${code}.traineddata.gz`;
  const file = join(tessdataFolder(code), `${code}.traineddata.gz`);
  const [{ size }, sha256] = await Promise.all([stat(file), sha256File(file)]);
  return {
    code,
    ...KNOWN[code]!,
    package: { name, version: pkg.version, licence: pkg.license ?? 'UNKNOWN' },
    licence: 'Apache-2.0',
    path,
    size,
    sha256,
  };
}
