import type { OcrLine, OcrPage, OcrWord } from '@loupe/contracts';
import sharp from 'sharp';
import type Tesseract from 'tesseract.js';
import { boxOf, collectWords, drawStack, planStacks, STACK_LAYOUT, toLine, type LineToStack, type StackLayout } from './line-stack.js';
import { languageFolder, TESSERACT_ENGINE_ID, tessdataFolder, tesseractCoreVersion, type LanguageFolder } from './tessdata.js';
import { tesseractEngineCard } from './tesseract-card.js';
import { toOcrPage } from './tesseract-page.js';

/**
 * Tesseract's LSTM engine (tesseract.js, its wasm build) reading whole pages: the layout analysis
 * finds blocks and columns, the language models read accents and ligatures that PP-OCR's
 * character set lacks. Runs offline from the installed packages.
 */
export interface TesseractRecognizerOptions {
  /** Tesseract language codes (fra, deu, frk...), in the order Tesseract should try them. */
  languages: readonly string[];
  /** How readLines lays the lines out for Tesseract (STACK_LAYOUT unless given). */
  stack?: Partial<StackLayout>;
}

export interface RgbImage {
  data: Buffer | Uint8Array;
  width: number;
  height: number;
  channels: 3;
}

export interface TesseractRecognizer {
  readonly languages: readonly string[];
  /** One page at a time: calls wait for the page before them. */
  recognize(image: RgbImage, opts?: { signal?: AbortSignal }): Promise<OcrPage>;
  /**
   * Reads lines another detector found (PP-OCR's, found once per page) instead of Tesseract's own
   * layout analysis, which misses small print: exactly one OcrLine per given line, in the given
   * order, words in the image's pixels inside the line's box; text '' when nothing was read.
   * Queued with the pages.
   */
  readLines(image: RgbImage, lines: readonly LineToStack[], opts?: { signal?: AbortSignal }): Promise<OcrLine[]>;
  close(): Promise<void>;
}

export { TESSERACT_ENGINE_ID };

interface Loaded {
  worker: Tesseract.Worker;
  folder: LanguageFolder;
  /**
   * Pages need the layout analysis for columns; stacked lines are one uniform block: on the
   * newspaper column's stack PSM 4 (a column of lines of any size) misread two of eight lines that
   * PSM 6 read right.
   */
  psm: { page: Tesseract.PSM; lines: Tesseract.PSM };
}

export function createTesseractRecognizer(opts: TesseractRecognizerOptions): TesseractRecognizer {
  const languages = [...opts.languages];
  if (languages.length === 0) throw new RangeError('createTesseractRecognizer needs at least one language');
  // A missing model is a configuration error: say so now, not on the first page.
  languages.forEach(tessdataFolder);
  const engine = { id: TESSERACT_ENGINE_ID, version: tesseractCoreVersion() };
  const layout = { ...STACK_LAYOUT, ...opts.stack };
  // Tesseract does not say which of several models read a word, only the set that read the page.
  const language = languages.join('+');
  // Started on the first page and kept for the next; dropped when a page is aborted, since
  // terminating the worker is the only way to stop the wasm mid-page.
  let loaded: Promise<Loaded> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const load = (): Promise<Loaded> =>
    (loaded ??= (async () => {
      // The models read are the ones the card pins (checked once per process): a changed file is refused, not read.
      await tesseractEngineCard();
      const folder = await languageFolder(languages);
      try {
        // Loaded with the first page: a process that never reads with Tesseract never loads it.
        const { createWorker, OEM, PSM } = (await import('tesseract.js')).default;
        const worker = await createWorker(languages, OEM.LSTM_ONLY, {
          langPath: folder.langPath,
          gzip: true,
          // The traineddata is read from the packages every time: a cache would be written
          // into the working directory, or into the package folder if pointed there.
          cacheMethod: 'none',
        });
        return { worker, folder, psm: { page: PSM.AUTO, lines: PSM.SINGLE_BLOCK } };
      } catch (err) {
        await folder.dispose();
        throw err;
      }
    })());

  const unload = async (): Promise<void> => {
    const current = loaded;
    loaded = undefined;
    if (!current) return;
    const { worker, folder } = await current.catch(() => ({ worker: undefined, folder: undefined }));
    await worker?.terminate();
    await folder?.dispose();
  };

  const readPage = async (image: RgbImage, signal?: AbortSignal): Promise<OcrPage> => {
    signal?.throwIfAborted();
    const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      // Speed over size: the PNG only crosses to the worker thread.
      .png({ compressionLevel: 1 })
      .toBuffer();
    const { worker, psm } = await load();
    signal?.throwIfAborted();
    await worker.setParameters({ tessedit_pageseg_mode: psm.page, user_defined_dpi: '0' });
    const result = await untilAborted(worker.recognize(png, {}, { blocks: true, text: false }), signal, unload);
    return toOcrPage(result.data.blocks, { width: image.width, height: image.height, engine, languages });
  };

  const readLines = async (image: RgbImage, lines: readonly LineToStack[], signal?: AbortSignal): Promise<OcrLine[]> => {
    signal?.throwIfAborted();
    const boxes = lines.map(boxOf);
    const words: OcrWord[][] = lines.map(() => []);
    const stacks = planStacks(lines, image, layout);
    if (stacks.length > 0) {
      const { worker, psm } = await load();
      // A stack has no resolution of its own; at 300 dpi a 40 px line is the 10-point print Tesseract
      // was trained on, and it stops guessing one from the strips.
      await worker.setParameters({ tessedit_pageseg_mode: psm.lines, user_defined_dpi: '300' });
      for (const stack of stacks) {
        const drawn = await drawStack(image, stack);
        signal?.throwIfAborted();
        const png = await sharp(drawn.data, { raw: { width: drawn.width, height: drawn.height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer();
        const result = await untilAborted(worker.recognize(png, {}, { blocks: true, text: false }), signal, unload);
        collectWords(wordsOf(result.data.blocks), stack, boxes, words);
      }
    }
    return lines.map((line, i) => toLine(line, boxes[i]!, words[i]!, language));
  };

  /** A page accepted before close() is read; close() waits for it. */
  const enqueue = <T>(job: () => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new Error('the Tesseract recognizer is closed'));
    const done = queue.then(job);
    queue = done.catch(() => {});
    return done;
  };

  return {
    languages,
    recognize: (image, { signal } = {}) => enqueue(() => readPage(image, signal)),
    readLines: (image, lines, { signal } = {}) => enqueue(() => readLines(image, lines, signal)),
    async close() {
      closed = true;
      await queue;
      await unload();
    },
  };
}

/** Settles with the job, or rejects with the abort reason as soon as the signal fires, after `onAbort`. */
function untilAborted<T>(job: Promise<T>, signal: AbortSignal | undefined, onAbort: () => Promise<void>): Promise<T> {
  if (!signal) return job;
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      job.catch(() => {});
      void onAbort().finally(() => reject(signal.reason));
    };
    signal.addEventListener('abort', abort, { once: true });
    job.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

function wordsOf(blocks: readonly Tesseract.Block[] | null): Tesseract.Word[] {
  return (blocks ?? []).flatMap((b) => b.paragraphs.flatMap((p) => p.lines.flatMap((l) => l.words)));
}
