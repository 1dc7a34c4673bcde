import { LoupeError, isRecord } from '@loupe/contracts';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { GroundTruthLabel, LabelledImage } from './model.js';

/**
 * Pascal VOC annotation XML, one document per image, as the VOC devkit, LabelImg and CVAT write it.
 *
 * VOC corners are integer pixel indices, 1-based and inclusive: a box over pixels 0..9 of a row
 * is xmin 1, xmax 10. Loupe's boxes are 0-based and continuous, so
 *   xmin = x + 1, ymin = y + 1, xmax = x + w, ymax = y + h   and back   x = xmin - 1, w = xmax - xmin + 1.
 * VOC has no fractions: corners are rounded to whole pixels on export (x and x + w each rounded,
 * so a box never grows by two roundings), and a box keeps at least one pixel. Fractional corners
 * that some tools write are read as they are.
 *
 * Loupe's extras are plain elements that VOC readers skip: `<path>` holds the canvas id (LabelImg
 * puts a local file path there, which is as good an id), `<url>`, `<manifest>` and `<external_id>`
 * under `<annotation>`, and `<concept>` (the concept URI) and `<score>` under `<object>`.
 * Namespaced elements would be cleaner XML but trip some VOC parsers.
 *
 * Labels without a box (whole-image classes, text) have no VOC form and are not written.
 */

export interface ToVocOptions {
  /** `<folder>`: 'VOC2012' in the devkit, a directory name in LabelImg. */
  folder?: string;
  /** `<source><database>`. */
  database?: string;
}

export function toVoc(image: LabelledImage, opts: ToVocOptions = {}): string {
  const lines = ['<annotation>'];
  const add = (depth: number, name: string, value: string | number) => lines.push(`${'\t'.repeat(depth)}<${name}>${escapeXml(String(value))}</${name}>`);
  add(1, 'folder', opts.folder ?? 'loupe');
  add(1, 'filename', image.file ?? fileNameOf(image.url ?? image.id));
  add(1, 'path', image.id);
  if (image.url !== undefined) add(1, 'url', image.url);
  if (image.manifest !== undefined) add(1, 'manifest', image.manifest);
  if (image.externalId !== undefined) add(1, 'external_id', image.externalId);
  lines.push('\t<source>');
  add(2, 'database', opts.database ?? 'Unknown');
  lines.push('\t</source>', '\t<size>');
  // VOC has no "unknown"; 0 is what LabelImg writes when it could not read the image.
  add(2, 'width', image.width ?? 0);
  add(2, 'height', image.height ?? 0);
  add(2, 'depth', 3);
  lines.push('\t</size>');
  add(1, 'segmented', 0);
  for (const label of image.labels) {
    const name = label.label ?? label.concept;
    if (label.box === undefined || name === undefined) continue;
    const { xmin, ymin, xmax, ymax } = corners(label.box);
    lines.push('\t<object>');
    add(2, 'name', name);
    add(2, 'pose', 'Unspecified');
    add(2, 'truncated', 0);
    add(2, 'difficult', label.difficult === true ? 1 : 0);
    if (label.concept !== undefined) add(2, 'concept', label.concept);
    if (label.score !== undefined) add(2, 'score', label.score);
    lines.push('\t\t<bndbox>');
    add(3, 'xmin', xmin);
    add(3, 'ymin', ymin);
    add(3, 'xmax', xmax);
    add(3, 'ymax', ymax);
    lines.push('\t\t</bndbox>', '\t</object>');
  }
  lines.push('</annotation>');
  return `${lines.join('\n')}\n`;
}

function corners(box: { x: number; y: number; w: number; h: number }): { xmin: number; ymin: number; xmax: number; ymax: number } {
  const x0 = Math.round(box.x);
  const y0 = Math.round(box.y);
  return { xmin: x0 + 1, ymin: y0 + 1, xmax: Math.max(x0 + 1, Math.round(box.x + box.w)), ymax: Math.max(y0 + 1, Math.round(box.y + box.h)) };
}

/** The last path segment of a URL or id, without query or fragment; the whole string when it has none. */
function fileNameOf(ref: string): string {
  const path = ref.replace(/[?#].*$/u, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  return last === '' ? ref : last;
}

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/gu, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export interface FromVocOptions {
  /** Names the document in error messages (a file name). */
  source?: string;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  // Keep every value a string: "007.jpg" is a file name, not 7.
  parseTagValue: false,
  trimValues: true,
  // Numeric character references (&#38;) as well as the five XML entities.
  htmlEntities: true,
  // One <object> parses as an object, several as an array; always an array is one code path.
  isArray: (_name, jpath) => jpath === 'annotation.object',
});

/** Comments and CDATA sections: what they hold is text, not markup. */
const NOT_MARKUP = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>/g;
const DECLARATION = /<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)\b/i;

/**
 * A DOCTYPE (internal subset, external DTD, entity declarations) is where XML's attacks live:
 * external entities that read files or URLs, entities that expand a billion times. VOC annotations
 * need none of it, so any declaration is refused before a parser sees the text.
 */
function refuseDeclarations(xml: string, where: string): void {
  if (DECLARATION.test(xml.replace(NOT_MARKUP, ''))) {
    throw new LoupeError('LOUPE_ERR_XML_UNSAFE', `${where}: the XML declares a DOCTYPE or entities, which Loupe refuses (a VOC annotation needs neither)`);
  }
}

/**
 * Reads one VOC annotation document. The image id is `<path>`, else `<filename>`. Errors name the
 * element in XPath form (1-based: `annotation/object[2]/bndbox/xmax`). A difficult flag of 1
 * becomes `difficult: true`; pose and truncated are not kept.
 */
export function fromVoc(xml: string, opts: FromVocOptions = {}): LabelledImage {
  const where = opts.source ?? 'VOC';
  const fail = (path: string, message: string): never => {
    throw new LoupeError('LOUPE_ERR_VALIDATION', `${where}: ${path} ${message}`, { details: { path } });
  };
  refuseDeclarations(xml, where);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) fail(`line ${valid.err.line} column ${valid.err.col}`, `is not well-formed XML: ${valid.err.msg}`);
  const doc: unknown = parser.parse(xml);
  const root = isRecord(doc) ? doc['annotation'] : undefined;
  if (!isRecord(root)) return fail('annotation', 'is missing (not a VOC annotation document)');

  const text = (parent: Record<string, unknown>, name: string, path: string): string | undefined => {
    const v = parent[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') return fail(`${path}/${name}`, 'is not a plain text element');
    return v;
  };
  const number = (parent: Record<string, unknown>, name: string, path: string): number | undefined => {
    const v = text(parent, name, path);
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : fail(`${path}/${name}`, `is not a number (${JSON.stringify(v)})`);
  };

  const fileName = text(root, 'filename', 'annotation');
  const id = text(root, 'path', 'annotation') ?? fileName ?? fail('annotation/filename', 'is missing (and there is no path)');
  const url = text(root, 'url', 'annotation');
  const manifest = text(root, 'manifest', 'annotation');
  const externalId = text(root, 'external_id', 'annotation');
  let width: number | undefined;
  let height: number | undefined;
  const size = root['size'];
  if (size !== undefined && size !== '') {
    if (!isRecord(size)) return fail('annotation/size', 'is not an element with width and height');
    width = number(size, 'width', 'annotation/size');
    height = number(size, 'height', 'annotation/size');
    for (const [name, v] of [['width', width], ['height', height]] as const) {
      if (v !== undefined && v < 0) fail(`annotation/size/${name}`, `is negative (${v})`);
    }
  }

  const objects = (root['object'] ?? []) as unknown[];
  const labels = objects.map((o, i): GroundTruthLabel => {
    const path = `annotation/object[${i + 1}]`;
    if (!isRecord(o)) return fail(path, 'is not an element with name and bndbox');
    const name = text(o, 'name', path) ?? fail(`${path}/name`, 'is missing or empty');
    const concept = text(o, 'concept', path);
    const score = number(o, 'score', path);
    const difficult = text(o, 'difficult', path);
    if (difficult !== undefined && difficult !== '0' && difficult !== '1') fail(`${path}/difficult`, `is not 0 or 1 (${JSON.stringify(difficult)})`);
    const bndbox = o['bndbox'];
    if (!isRecord(bndbox)) return fail(`${path}/bndbox`, 'is missing');
    const corner = (c: string): number => number(bndbox, c, `${path}/bndbox`) ?? fail(`${path}/bndbox/${c}`, 'is missing');
    const [xmin, ymin, xmax, ymax] = [corner('xmin'), corner('ymin'), corner('xmax'), corner('ymax')];
    if (xmax < xmin) fail(`${path}/bndbox/xmax`, `(${xmax}) is less than xmin (${xmin})`);
    if (ymax < ymin) fail(`${path}/bndbox/ymax`, `(${ymax}) is less than ymin (${ymin})`);
    // Some writers use 0 for the first pixel; clamping keeps such a box inside the image.
    const x = Math.max(0, xmin - 1);
    const y = Math.max(0, ymin - 1);
    // A name that repeats the concept URI stood for a concept without label.
    const label = concept !== undefined && name === concept ? undefined : name;
    return {
      ...(concept !== undefined && { concept }),
      ...(label !== undefined && { label }),
      box: { x, y, w: xmax - x, h: ymax - y },
      ...(score !== undefined && { score }),
      ...(difficult === '1' && { difficult: true }),
    };
  });

  return {
    id,
    ...(manifest !== undefined && { manifest }),
    ...(url !== undefined && { url }),
    ...(fileName !== undefined && { file: fileName }),
    ...(externalId !== undefined && { externalId }),
    ...(width !== undefined && width > 0 && { width }),
    ...(height !== undefined && height > 0 && { height }),
    labels,
  };
}

