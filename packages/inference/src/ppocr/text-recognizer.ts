import diagnostics from 'node:diagnostics_channel';
import { readFile } from 'node:fs/promises';
import { LoupeError, type Rect } from '@loupe/contracts';
import { createEngine, type Engine, type ModelRunner } from '../engine/model-runner.js';
import { polygonBox, type Quad, type RawImage } from '../image-ops.js';
import type { ExecutionProvider, InferenceLogger } from '../session.js';
import { lineGeometry, padQuad, quadSize, subQuad, turnQuad180, type LineGeometry } from './line-crop.js';
import { builtinPpocrModels, type ModelSource, type PpocrModels } from './ppocr-cards.js';
import { PpocrClassifier, type LineOrientation } from './ppocr-classifier.js';
import { PpocrDetector } from './ppocr-detector.js';
import { PpocrRecognizer, REC_PADDING, type RecognizedChar, type RecognizedText } from './ppocr-recognizer.js';

/** A text line as detection finds it, before it is read. */
export interface FoundLine {
  /** The line's corners in input-image pixels, starting at the text's own top-left and going clockwise as the text reads. */
  polygon: [number, number][];
  /** Axis-aligned bounding box in input-image pixels, integers. */
  box: Rect;
  /** How far the line is turned in the image: 180 when it reads upside down. */
  angle: 0 | 180;
}

export interface FoundLines {
  /** In detection order, not reading order: the caller lays them out (readingOrder). */
  lines: FoundLine[];
  orientation: PageOrientation;
}

/** What readLines needs of a line: findLines' own lines, or ones carried between stages without their box. */
export type LineToRead = Pick<FoundLine, 'polygon' | 'angle'>;

export interface TextWord {
  text: string;
  /**
   * Where the recogniser read the word, as an axis-aligned box in input-image pixels (integers),
   * the line's full height; its ends are good to about a character.
   */
  box: Rect;
  /** Mean probability of its characters, 0-1. */
  confidence: number;
}

export interface TextLine extends FoundLine {
  text: string;
  /** Mean character probability, 0-1. */
  confidence: number;
  /** The words of `text` (split on spaces), left to right as the line reads. */
  words: TextWord[];
}

/**
 * Published on the `loupe:inference:ocr` diagnostics channel after each call, so telemetry and
 * benchmarks can watch the stages without a tracer dependency. A recognize call publishes one
 * event for the page (its findLines and readLines publish nothing of their own); findLines and
 * readLines called apart publish one each, with zero for the stages they do not run, so sums over
 * events stay sums over work done.
 */
export interface OcrTimingEvent {
  model: 'ppocr-v4';
  call: 'recognize' | 'findLines' | 'readLines';
  width: number;
  height: number;
  /** Lines detected (recognize, findLines) or handed in to be read (readLines). */
  detected: number;
  /** Lines returned: all of them for findLines and readLines, those with text passing minConfidence for recognize. */
  lines: number;
  detectMs: number;
  /** Deciding which way the lines read: the line classifier, and the reading check of the longest lines. */
  classifyMs: number;
  recognizeMs: number;
}

export const OCR_CHANNEL = 'loupe:inference:ocr';
const ocrChannel = diagnostics.channel(OCR_CHANNEL);

export interface TextRecognizerOptions {
  /**
   * The engine that runs the three models; shared with other models when given (the recogniser
   * then leaves it open on close). Without one, the recogniser makes its own from
   * executionProvider, intraOpNumThreads and logger.
   */
  engine?: Engine;
  /** Cards and verified files of the models; the built-in PP-OCR pack for any not given. */
  models?: Partial<PpocrModels>;
  executionProvider?: ExecutionProvider;
  /** Longest side of the detector's input (default 960); raise it for large pages with small print. */
  maxSideLen?: number;
  /** Median line height (detector pixels) under which the page is looked at again, enlarged (default 20; 0: never). */
  minLineHeight?: number;
  /** How far detected line kernels are grown back (default 1.5); larger keeps more margin around the ink. */
  unclipRatio?: number;
  /** Mean text probability a detected region needs (default 0.6). */
  boxThreshold?: number;
  intraOpNumThreads?: number;
  logger?: InferenceLogger;
  /**
   * recognize drops lines read with a lower confidence (default 0: every line with text is kept,
   * with its confidence, for the caller to judge). readLines never drops a line.
   */
  minConfidence?: number;
  /**
   * Margin added around each line before it is read, as a fraction of its height (default 0.25). The
   * detector's boxes hug the ink; the recogniser was trained on looser crops and drops the spaces
   * between Latin words when the letters fill the whole strip.
   */
  cropPadding?: number;
  /** Set false to skip the orientation classifier (every line read as upright). */
  detectAngle?: boolean;
}

export interface PageOrientation {
  /** 180 when more lines read upside down than upright. */
  angle: 0 | 180;
  lines: number;
  upright: number;
  upsideDown: number;
}

export interface TextRecognizerReadiness {
  ready: boolean;
  /** Provider of the detector, which dominates the cost. */
  provider: ExecutionProvider;
  fallbackReason?: string;
  models: { id: string; version: string; provider: ExecutionProvider; pending: number }[];
}

export interface TextRecognizer {
  readonly model: { id: 'ppocr-v4'; version: string; name: string };
  /**
   * findLines then readLines: the lines with text, in reading order (top to bottom, then left to
   * right, of the page as it reads, turned back when upside down).
   */
  recognize(image: RawImage, opts?: { signal?: AbortSignal }): Promise<TextLine[]>;
  /**
   * The page's text lines and each one's 0/180 degree angle, and the page's orientation by
   * majority of them: detection and the line classifier only, no recognition.
   */
  findLines(image: RawImage, opts?: { signal?: AbortSignal }): Promise<FoundLines>;
  /**
   * Reads the lines given, on the image they were found in: one TextLine for each, in the same
   * order, none dropped (text is '' where nothing could be read).
   */
  readLines(image: RawImage, lines: readonly LineToRead[], opts?: { signal?: AbortSignal }): Promise<TextLine[]>;
  /** findLines' orientation, for callers that want nothing else. */
  pageOrientation(image: RawImage, opts?: { signal?: AbortSignal }): Promise<PageOrientation>;
  readiness(): TextRecognizerReadiness;
  close(): Promise<void>;
}

export async function createTextRecognizer(opts: TextRecognizerOptions = {}): Promise<TextRecognizer> {
  const wantAngle = opts.detectAngle ?? true;
  const needed = (['det', 'rec', ...(wantAngle ? ['cls' as const] : [])] as const).filter((k) => !opts.models?.[k]);
  const models = { ...(needed.length > 0 ? await builtinPpocrModels(needed) : {}), ...opts.models } as PpocrModels;
  const engine =
    opts.engine ??
    createEngine({
      executionProvider: opts.executionProvider ?? 'cpu',
      ...(opts.intraOpNumThreads ? { intraOpNumThreads: opts.intraOpNumThreads } : {}),
      ...(opts.logger ? { log: opts.logger } : {}),
    });
  const load = (m: ModelSource, padding?: typeof REC_PADDING) => engine.load(m.card, m.files, padding ? { padding } : {});
  const loaded = await Promise.allSettled([
    load(models.det),
    load(models.rec, REC_PADDING),
    wantAngle ? load(models.cls) : Promise.resolve(undefined),
    readKeys(models.rec),
  ]);
  const failed = loaded.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(loaded.map((r) => (r.status === 'fulfilled' && r.value && 'close' in r.value ? r.value.close() : undefined)));
    if (!opts.engine) await engine.close();
    throw failed.reason;
  }
  const [det, rec, cls, keys] = loaded.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    ModelRunner,
    ModelRunner,
    ModelRunner | undefined,
    string[],
  ];
  return new PpocrTextRecognizer(det, rec, cls, keys, opts, opts.engine ? undefined : engine);
}

/** The recogniser's character list: one key per line, from its card's `keys` file. */
async function readKeys(m: ModelSource): Promise<string[]> {
  const path = m.files.keys;
  if (!path) throw new LoupeError('LOUPE_ERR_MODEL_LOAD', `Model ${m.card.id} has no keys file (its character list)`, { details: { model: m.card.id } });
  const text = await readFile(path, 'utf8');
  // The file may or may not end with a newline, and CRLF would add '\r' to every key.
  const keys = text.split(/\r?\n/);
  if (keys.at(-1) === '') keys.pop();
  return keys;
}

class PpocrTextRecognizer implements TextRecognizer {
  readonly model: TextRecognizer['model'];
  readonly #runners: ModelRunner[];
  readonly #ownEngine: Engine | undefined;
  readonly #detector: PpocrDetector;
  readonly #classifier: PpocrClassifier | undefined;
  readonly #recognizer: PpocrRecognizer;
  readonly #minConfidence: number;
  readonly #cropPadding: number;
  #closed = false;

  constructor(
    det: ModelRunner,
    rec: ModelRunner,
    cls: ModelRunner | undefined,
    keys: string[],
    opts: TextRecognizerOptions,
    ownEngine: Engine | undefined,
  ) {
    this.model = { id: 'ppocr-v4', version: rec.card.version, name: 'PP-OCRv4 (PaddleOCR) text detection and recognition' };
    this.#runners = cls ? [det, rec, cls] : [det, rec];
    this.#ownEngine = ownEngine;
    this.#detector = new PpocrDetector(det, {
      ...(opts.maxSideLen ? { maxSideLen: opts.maxSideLen } : {}),
      ...(opts.unclipRatio ? { unclipRatio: opts.unclipRatio } : {}),
      ...(opts.boxThreshold ? { boxThreshold: opts.boxThreshold } : {}),
      ...(opts.minLineHeight !== undefined ? { minLineHeight: opts.minLineHeight } : {}),
    });
    this.#classifier = cls && new PpocrClassifier(cls);
    this.#recognizer = new PpocrRecognizer(rec, keys);
    this.#minConfidence = opts.minConfidence ?? 0;
    this.#cropPadding = opts.cropPadding ?? 0.25;
  }

  async recognize(image: RawImage, opts: { signal?: AbortSignal } = {}): Promise<TextLine[]> {
    const found = await this.#find(image, opts.signal);
    const read = await this.#read(image, found.lines, opts.signal);
    const lines = read.lines.filter((l) => l.text !== '' && l.confidence >= this.#minConfidence);
    this.#publish('recognize', image, found.lines.length, lines.length, { ...found.ms, recognize: read.ms });
    return readingOrder(lines);
  }

  async findLines(image: RawImage, opts: { signal?: AbortSignal } = {}): Promise<FoundLines> {
    const { lines, orientation, ms } = await this.#find(image, opts.signal);
    this.#publish('findLines', image, lines.length, lines.length, { ...ms, recognize: 0 });
    return { lines, orientation };
  }

  async readLines(image: RawImage, lines: readonly LineToRead[], opts: { signal?: AbortSignal } = {}): Promise<TextLine[]> {
    const read = await this.#read(image, lines, opts.signal);
    this.#publish('readLines', image, lines.length, read.lines.length, { detect: 0, classify: 0, recognize: read.ms });
    return read.lines;
  }

  async pageOrientation(image: RawImage, opts: { signal?: AbortSignal } = {}): Promise<PageOrientation> {
    return (await this.findLines(image, opts)).orientation;
  }

  async #find(image: RawImage, signal: AbortSignal | undefined): Promise<FoundLines & { ms: { detect: number; classify: number } }> {
    this.#checkUsable(image, signal);
    const t0 = performance.now();
    const upright = (await this.#detector.detect(image, signal)).map((f) => lineGeometry(f.quad));
    const t1 = performance.now();
    const orientations =
      this.#classifier && upright.length > 0 ? await this.#classifier.classify(image, upright.map((g) => this.#padded(g)), signal) : undefined;
    const counted = orientationOf(orientations, upright.length);
    // The classifier is sure and wrong too often (Garamond and Fraktur lines called upside down at
    // 0.95) for its word to turn a line alone, or a page: every line reads the way the page does, and
    // a page where a quarter of the votes or more say upside down is decided by reading.
    const unsure = counted.upsideDown * UNSURE_SHARE >= counted.lines;
    const read = orientations && unsure ? await this.#readingAngle(image, upright, signal) : undefined;
    const angle = read ?? counted.angle;
    const t2 = performance.now();
    const lines = upright.map((g): FoundLine => {
      const quad = angle === 180 ? turnQuad180(g.quad) : g.quad;
      return { polygon: quad.map(([x, y]) => [round1(x), round1(y)]), box: polygonBox(quad, image), angle };
    });
    return { lines, orientation: { ...counted, angle }, ms: { detect: t1 - t0, classify: t2 - t1 } };
  }

  /**
   * Which way the page reads, by reading: the longest lines are recognised both ways up, and the
   * way the recogniser is surer of wins. Upside-down print read as text is garbage the recogniser
   * knows it is unsure of, whatever the typeface; the line classifier, trained on modern print,
   * calls whole pages of Garamond or Fraktur upside down with confidence. Undefined when the two
   * readings are too close to tell (a script the recogniser does not know): the classifier's
   * majority decides then.
   */
  async #readingAngle(image: RawImage, lines: readonly LineGeometry[], signal: AbortSignal | undefined): Promise<0 | 180 | undefined> {
    const sample = [...lines]
      .filter((g) => g.width >= READING_CHECK_MIN_ASPECT * g.height)
      .sort((a, b) => b.width - a.width)
      .slice(0, READING_CHECK_LINES)
      .map((g) => this.#padded(g));
    if (sample.length === 0) return undefined;
    const crops = [...sample, ...sample.map((g) => ({ ...g, quad: turnQuad180(g.quad) }))];
    const read = await this.#recognizer.recognize(image, crops, signal);
    const mean = (from: number): number => read.slice(from, from + sample.length).reduce((sum, r) => sum + r.confidence, 0) / sample.length;
    const [upright, turned] = [mean(0), mean(sample.length)];
    if (Math.abs(upright - turned) < READING_CHECK_MARGIN) return undefined;
    return turned > upright ? 180 : 0;
  }

  async #read(image: RawImage, lines: readonly LineToRead[], signal: AbortSignal | undefined): Promise<{ lines: TextLine[]; ms: number }> {
    this.#checkUsable(image, signal);
    const t0 = performance.now();
    // The polygon already starts where the text does, upside down or not: read it as it stands.
    const quads = lines.map((l, i) => lineQuad(l, i));
    const padded = quads.map((quad) => this.#padded({ quad, ...quadSize(quad) }));
    const texts = quads.length > 0 ? await this.#recognizer.recognize(image, padded, signal) : [];
    const read = lines.map((l, i): TextLine => {
      const quad = quads[i]!;
      return {
        text: latinForms(texts[i]!.text).trim(),
        confidence: texts[i]!.confidence,
        box: polygonBox(quad, image),
        polygon: quad.map(([x, y]) => [x, y]),
        angle: l.angle,
        words: this.#words(image, quad, texts[i]!),
      };
    });
    return { lines: read, ms: performance.now() - t0 };
  }

  /** The line's quad grown by the crop padding: the strip the recogniser and the classifier see. */
  #padded(g: LineGeometry): LineGeometry {
    const by = g.height * this.#cropPadding;
    return { quad: padQuad(g.quad, by), width: g.width + 2 * by, height: g.height + 2 * by };
  }

  /**
   * Words from the characters' places along the padded crop, carried back onto the line's own
   * quad: the padding is taken off, so a word never reaches past its line.
   */
  #words(image: RawImage, quad: Quad, read: RecognizedText): TextWord[] {
    const { width, height } = quadSize(quad);
    const by = height * this.#cropPadding;
    const onLine = (f: number) => Math.min(1, Math.max(0, (f * (width + 2 * by) - by) / Math.max(width, 1e-6)));
    const words: TextWord[] = [];
    let current: RecognizedChar[] = [];
    const flush = () => {
      if (current.length === 0) return;
      const from = onLine(current[0]!.start);
      const to = onLine(current.at(-1)!.end);
      words.push({
        text: current.map((c) => c.text).join(''),
        box: polygonBox(subQuad(quad, from, to), image),
        confidence: current.reduce((sum, c) => sum + c.confidence, 0) / current.length,
      });
      current = [];
    };
    for (const c of latinChars(read.chars)) {
      if (/^\s+$/.test(c.text)) flush();
      else current.push(c);
    }
    flush();
    return words;
  }

  #checkUsable(image: RawImage, signal: AbortSignal | undefined): void {
    if (this.#closed) throw new LoupeError('LOUPE_ERR_SHUTTING_DOWN', 'The text recogniser is closed');
    checkImage(image);
    signal?.throwIfAborted();
  }

  #publish(call: OcrTimingEvent['call'], image: RawImage, detected: number, lines: number, ms: { detect: number; classify: number; recognize: number }): void {
    if (!ocrChannel.hasSubscribers) return;
    const event: OcrTimingEvent = {
      model: 'ppocr-v4',
      call,
      width: image.width,
      height: image.height,
      detected,
      lines,
      detectMs: ms.detect,
      classifyMs: ms.classify,
      recognizeMs: ms.recognize,
    };
    ocrChannel.publish(event);
  }

  readiness(): TextRecognizerReadiness {
    const det = this.#runners[0]!;
    return {
      ready: !this.#closed,
      provider: det.provider,
      ...(det.fallbackReason ? { fallbackReason: det.fallbackReason } : {}),
      models: this.#runners.map((r) => {
        const m = r.metrics();
        return { id: r.id, version: r.card.version, provider: r.provider, pending: m.queued + m.inFlight };
      }),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#runners.map((r) => r.close()));
    await this.#ownEngine?.close();
  }
}

function checkImage(image: RawImage): void {
  const { width, height, data } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || data.length !== width * height * 3) {
    throw new LoupeError('LOUPE_ERR_IMAGE_UNSUPPORTED', `Expected ${width}x${height} RGB pixels (${width * height * 3} bytes), got ${data.length} bytes`, {
      details: { width, height, bytes: data.length },
    });
  }
}

/** The page's angle by majority of the classifier's own calls; upright without a classifier. */
/** A page is read both ways up when at least 1 / UNSURE_SHARE of its lines' votes say upside down. */
const UNSURE_SHARE = 4;
/** Lines read both ways up to decide a page's orientation: the longest, which say the most. */
const READING_CHECK_LINES = 8;
/** Only lines at least this many times longer than high: a short word or a number reads either way. */
const READING_CHECK_MIN_ASPECT = 4;
/** The mean confidence one way must beat the other's by this much to decide. */
const READING_CHECK_MARGIN = 0.05;

function orientationOf(orientations: readonly LineOrientation[] | undefined, count: number): PageOrientation {
  if (!orientations) return { angle: 0, lines: count, upright: count, upsideDown: 0 };
  const upsideDown = orientations.filter((o) => o.angle === 180).length;
  const upright = orientations.length - upsideDown;
  return { angle: upsideDown > upright ? 180 : 0, lines: orientations.length, upright, upsideDown };
}

function lineQuad(line: LineToRead, index: number): Quad {
  const p = line.polygon;
  if (p.length !== 4 || !p.every((c) => c.length === 2 && c.every(Number.isFinite))) {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `Line ${index} needs a polygon of 4 [x, y] corners`, { details: { index } });
  }
  return p.map(([x, y]) => [x, y]) as Quad;
}


const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/**
 * The dictionary holds both ASCII and full-width punctuation (，：（）), and the
 * recogniser sometimes picks the full-width form inside Latin text. In a line
 * without CJK characters the full-width form is never right, so fold it to ASCII.
 */
export function latinForms(text: string): string {
  if (CJK.test(text)) return text;
  return text.replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, ' ');
}

/** latinForms character by character: the line decides (CJK or not), each character is folded alone. */
function latinChars(chars: readonly RecognizedChar[]): RecognizedChar[] {
  if (CJK.test(chars.map((c) => c.text).join(''))) return [...chars];
  return chars.map((c) => ({ ...c, text: latinForms(c.text) }));
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/**
 * Reading order of the page as it reads: rows top to bottom, each left to right.
 * "Down" is measured across the page's mean text direction, not the image's y
 * axis, so a skewed scan keeps its rows apart, and an upside-down page is read
 * from its own top (the image's bottom). Lines whose centres are closer than
 * half a line's thickness across the text share a row.
 */
export function readingOrder<T extends { polygon: [number, number][]; angle: 0 | 180 }>(lines: T[]): T[] {
  if (lines.length < 2) return [...lines];
  const upsideDown = lines.filter((l) => l.angle === 180).length * 2 > lines.length;
  const measured = lines.map((line) => {
    // Back to image orientation, where every line's top edge runs left to right.
    const q = line.angle === 180 ? [line.polygon[2]!, line.polygon[3]!, line.polygon[0]!, line.polygon[1]!] : line.polygon;
    const [tl, tr, , bl] = q as [[number, number], [number, number], [number, number], [number, number]];
    const cx = q.reduce((sum, p) => sum + p[0], 0) / q.length;
    const cy = q.reduce((sum, p) => sum + p[1], 0) / q.length;
    return { line, cx, cy, dx: tr[0] - tl[0], dy: tr[1] - tl[1], thickness: Math.hypot(bl[0] - tl[0], bl[1] - tl[1]) };
  });
  // Longer lines say more about the page's skew, so they weigh more.
  let dx = measured.reduce((sum, m) => sum + m.dx, 0);
  let dy = measured.reduce((sum, m) => sum + m.dy, 0);
  const len = Math.hypot(dx, dy) || 1;
  dx = (upsideDown ? -dx : dx) / len;
  dy = (upsideDown ? -dy : dy) / len;
  const placed = measured.map((m) => ({
    line: m.line,
    along: m.cx * dx + m.cy * dy,
    across: -m.cx * dy + m.cy * dx,
    thickness: m.thickness,
  }));
  placed.sort((a, b) => a.across - b.across);
  const rows: (typeof placed)[] = [];
  for (const item of placed) {
    const row = rows.at(-1);
    const last = row?.at(-1);
    if (row && last && Math.abs(item.across - last.across) < Math.min(item.thickness, last.thickness) / 2) row.push(item);
    else rows.push([item]);
  }
  return rows.flatMap((row) => row.sort((a, b) => a.along - b.along).map((item) => item.line));
}
