import { DEFAULT_OCR_LANGUAGES, inSpan, LoupeError, OCR_LANGUAGES, type ModelRef, type OcrEngine, type OcrJobOptions, type OcrLine, type OcrPage } from '@loupe/contracts';
import { layOutLines, TESSERACT_ENGINE_ID, tesseractCoreVersion, type FoundLine, type RgbImage, type TesseractRecognizer, type TextRecognizer } from '@loupe/inference';

/** What runs Tesseract here: its wasm build, named in the annotations' generator. */
const TESSERACT_RUNTIME = 'tesseract.js';

/** The engine that reads the lines and the language models it reads them with. */
export interface OcrChoice {
  readonly engine: OcrEngine;
  readonly languages: readonly string[];
}

/**
 * The engine and languages a canvas is read with. The job's choice wins; languages it does not
 * name come from the manifest (those Loupe has models for), then the default (eng). A job that
 * chose no engine reads with Tesseract, PP-OCR on request: on the lines PP-OCR's detector found,
 * Tesseract read every synthetic page at CER 0.002 or less where PP-OCR's recogniser misread 6 to
 * 20 % of the characters, and read the real pages as well or better but for the incunable
 * (docs/benchmarks.md, "OCR on real pages"); PP-OCR's character set has no Latin accents.
 */
export function chooseOcr(job: OcrJobOptions | undefined, manifestLanguages: readonly string[] | undefined): OcrChoice {
  const installed: readonly string[] = OCR_LANGUAGES;
  const fromManifest = (manifestLanguages ?? []).filter((l) => installed.includes(l));
  const languages = job?.languages ?? (fromManifest.length > 0 ? fromManifest : DEFAULT_OCR_LANGUAGES);
  const engine = job?.engine ?? 'tesseract';
  return { engine, languages: engine === 'ppocr' ? [] : languages };
}

/** The model a Tesseract read is credited to: the engine, with its language models in the name. */
export function tesseractModel(languages: readonly string[]): ModelRef {
  return { id: TESSERACT_ENGINE_ID, version: tesseractCoreVersion(), name: `${TESSERACT_ENGINE_ID} ${languages.join('+')}`, runtime: TESSERACT_RUNTIME };
}

/** What reads text: PP-OCR (which also finds the lines) and a Tesseract per language set. */
export interface TextEngines {
  readonly ppocr: TextRecognizer;
  readonly tesseract: (languages: readonly string[]) => TesseractRecognizer;
}

export interface ReadPage {
  readonly model: ModelRef;
  /** In the image's pixels: blocks in reading order, their lines, each line's words. */
  readonly page: OcrPage;
}

/**
 * Reads the lines found on the page with the chosen engine and lays them out: blocks, columns and
 * reading order come from the lines' geometry, the same for every engine, so a newspaper's columns
 * read one after the other whichever engine read the words. A line neither engine could read
 * (nothing but noise) has no text to give and is left out; every line read is kept with its
 * confidence, however low: the reader filters, not Loupe.
 */
export async function readPage(image: RgbImage, found: readonly FoundLine[], engines: TextEngines, choice: OcrChoice, signal?: AbortSignal): Promise<ReadPage> {
  // The page's read in one span: Tesseract runs outside the inference engine, so no batch span shows it.
  const attributes = { 'loupe.ocr.engine': choice.engine, 'loupe.ocr.languages': choice.languages.join('+'), 'loupe.ocr.lines': found.length };
  const { model, engine, languages, lines } = await inSpan('read page', attributes, () => readLines(image, found, engines, choice, signal));
  const read = lines.filter((line) => line.text.trim() !== '');
  const blocks = layOutLines(read, { width: image.width, height: image.height }).map((block) => ({ box: block.box, role: block.role, lines: block.lines }));
  return { model, page: { width: image.width, height: image.height, engine, languages: [...languages], blocks } };
}

async function readLines(image: RgbImage, found: readonly FoundLine[], engines: TextEngines, choice: OcrChoice, signal: AbortSignal | undefined) {
  if (choice.engine === 'ppocr') {
    const { ppocr } = engines;
    const lines = (await ppocr.readLines(image, found, { signal })).map(
      (line): OcrLine => ({
        // Composed, so that an é is one character whichever way the engine spelt it.
        text: line.text.normalize('NFC'),
        box: line.box,
        confidence: unit(line.confidence),
        words: line.words.map((w) => ({ text: w.text.normalize('NFC'), box: w.box, confidence: unit(w.confidence) })),
      }),
    );
    const model: ModelRef = { ...ppocr.model, runtime: 'onnxruntime' };
    return { model, engine: { id: ppocr.model.id, version: ppocr.model.version }, languages: [] as string[], lines };
  }
  if (choice.languages.length === 0) throw new LoupeError('LOUPE_ERR_VALIDATION', 'Tesseract needs at least one language model');
  const lines = await engines.tesseract(choice.languages).readLines(image, found, { signal });
  // The language models belong to the model: annotations read with fra and with deu say so.
  const model = tesseractModel(choice.languages);
  return { model, engine: { id: model.id, version: model.version }, languages: choice.languages, lines };
}

function unit(v: number): number {
  return Math.min(1, Math.max(0, v));
}
