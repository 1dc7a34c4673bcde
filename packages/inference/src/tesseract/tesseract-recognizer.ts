import type { OcrPage } from '@loupe/contracts';
import sharp from 'sharp';
import type Tesseract from 'tesseract.js';
import { languageFolder, tessdataFolder, tesseractCoreVersion, type LanguageFolder } from './tessdata.js';
import { toOcrPage } from './tesseract-page.js';

/**
 * Tesseract's LSTM engine (tesseract.js, its wasm build) reading whole pages: the layout analysis
 * finds blocks and columns, the language models read accents and ligatures that PP-OCR's
 * character set lacks. Runs offline from the installed packages.
 */
export interface TesseractRecognizerOptions {
  /** Tesseract language codes (fra, deu, frk...), in the order Tesseract should try them. */
  languages: readonly string[];
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
  close(): Promise<void>;
}

export const TESSERACT_ENGINE_ID = 'tesseract-lstm';

interface Loaded {
  worker: Tesseract.Worker;
  folder: LanguageFolder;
}

export function createTesseractRecognizer(opts: TesseractRecognizerOptions): TesseractRecognizer {
  const languages = [...opts.languages];
  if (languages.length === 0) throw new RangeError('createTesseractRecognizer needs at least one language');
  // A missing model is a configuration error: say so now, not on the first page.
  languages.forEach(tessdataFolder);
  const engine = { id: TESSERACT_ENGINE_ID, version: tesseractCoreVersion() };
  // Started on the first page and kept for the next; dropped when a page is aborted, since
  // terminating the worker is the only way to stop the wasm mid-page.
  let loaded: Promise<Loaded> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const load = (): Promise<Loaded> =>
    (loaded ??= (async () => {
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
        // tesseract.js defaults to one uniform block; pages need the layout analysis for columns.
        await worker.setParameters({ tessedit_pageseg_mode: PSM.AUTO });
        return { worker, folder };
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
    const { worker } = await load();
    signal?.throwIfAborted();
    const result = await untilAborted(worker.recognize(png, {}, { blocks: true, text: false }), signal, unload);
    return toOcrPage(result.data.blocks, { width: image.width, height: image.height, engine, languages });
  };

  return {
    languages,
    recognize(image, { signal } = {}) {
      // A page accepted before close() is read; close() waits for it.
      if (closed) return Promise.reject(new Error('the Tesseract recognizer is closed'));
      const page = queue.then(() => readPage(image, signal));
      queue = page.catch(() => {});
      return page;
    },
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
