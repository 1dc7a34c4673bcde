import type { OcrPage } from '@loupe/contracts';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * A hand-made page of an 18th-century French journal: a heading across both columns, then two
 * columns in reading order; accents, a ligature, a Latin line, "&" and "<" in the text, a word box
 * a pixel outside its line, fractional corners, and a line the engine gave without words.
 */
export function heritagePage(): OcrPage {
  return {
    width: 1200,
    height: 1600,
    engine: { id: 'tesseract-lstm', version: '5.5.0' },
    languages: ['fra', 'lat'],
    blocks: [
      {
        role: 'heading',
        box: { x: 100, y: 80, w: 1000, h: 90 },
        lines: [
          {
            text: 'JOURNAL DES SÇAVANS',
            box: { x: 300, y: 90, w: 600, h: 70 },
            confidence: 0.97,
            language: 'fra',
            words: [
              { text: 'JOURNAL', box: { x: 300, y: 90, w: 250, h: 70 }, confidence: 0.99 },
              { text: 'DES', box: { x: 570, y: 90, w: 110, h: 70 }, confidence: 0.98 },
              { text: 'SÇAVANS', box: { x: 700, y: 90, w: 200, h: 70 }, confidence: 0.94 },
            ],
          },
        ],
      },
      {
        role: 'body',
        box: { x: 100, y: 200, w: 480, h: 200 },
        lines: [
          {
            text: 'échappés à la perspicacité',
            box: { x: 100.4, y: 200.6, w: 470.2, h: 40 },
            confidence: 0.91,
            language: 'fra',
            words: [
              { text: 'échappés', box: { x: 100.4, y: 200.6, w: 150, h: 40 }, confidence: 0.9 },
              { text: 'à', box: { x: 262, y: 205, w: 20, h: 35 }, confidence: 0.88 },
              { text: 'la', box: { x: 294, y: 201, w: 30, h: 39 }, confidence: 0.95 },
              // One pixel below the line: the line must grow to hold it.
              { text: 'perspicacité', box: { x: 336, y: 201, w: 235, h: 41 }, confidence: 0.87654 },
            ],
          },
          {
            text: 'Fish & <Chips> œuvre',
            box: { x: 100, y: 250, w: 400, h: 40 },
            confidence: 0.6,
            language: 'fra',
            words: [
              { text: 'Fish', box: { x: 100, y: 250, w: 80, h: 40 }, confidence: 0.7 },
              { text: '&', box: { x: 190, y: 250, w: 20, h: 40 }, confidence: 0.5 },
              { text: '<Chips>\u0000', box: { x: 220, y: 250, w: 150, h: 40 }, confidence: 0.4 },
              { text: 'œuvre', box: { x: 380, y: 250, w: 120, h: 40 }, confidence: 0.65 },
            ],
          },
          { text: 'des anciens ; mais,', box: { x: 100, y: 300, w: 380, h: 40 }, confidence: 0.2, language: 'fra', words: [] },
        ],
      },
      {
        role: 'body',
        box: { x: 620, y: 200, w: 480, h: 150 },
        lines: [
          {
            text: 'Mémoires de Trévoux',
            box: { x: 620, y: 200, w: 420, h: 40 },
            confidence: 0.93,
            language: 'fra',
            words: [
              { text: 'Mémoires', box: { x: 620, y: 200, w: 170, h: 40 }, confidence: 0.93 },
              { text: 'de', box: { x: 800, y: 200, w: 40, h: 40 }, confidence: 0.96 },
              { text: 'Trévoux', box: { x: 850, y: 200, w: 190, h: 40 }, confidence: 0.9 },
            ],
          },
          {
            text: 'Anno Domini',
            box: { x: 620, y: 250, w: 300, h: 40 },
            confidence: 0.92,
            language: 'lat',
            words: [
              { text: 'Anno', box: { x: 620, y: 250, w: 110, h: 40 }, confidence: 0.92 },
              { text: 'Domini', box: { x: 740, y: 250, w: 180, h: 40 }, confidence: 0.92 },
            ],
          },
        ],
      },
    ],
  };
}

/** An element as the structural checks read it: name, attributes as strings, child elements in order. */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', parseAttributeValue: false, parseTagValue: false, trimValues: true, processEntities: true, htmlEntities: true });

/** Parses well-formed XML into its root element; throws with the parser's message otherwise. */
export function parseXml(xml: string): XmlElement {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`not well-formed: ${valid.err.msg} at line ${valid.err.line}`);
  const toElements = (nodes: unknown[]): XmlElement[] =>
    nodes.flatMap((node) => {
      const record = node as Record<string, unknown>;
      const name = Object.keys(record).find((k) => k !== ':@' && k !== '#text' && !k.startsWith('?') && !k.startsWith('!'));
      if (name === undefined) return [];
      const children = record[name] as unknown[];
      const text = children.map((c) => (c as Record<string, unknown>)['#text']).filter((t) => t !== undefined).join('');
      return [{ name, attrs: (record[':@'] ?? {}) as Record<string, string>, children: toElements(children), text }];
    });
  const roots = toElements(parser.parse(xml) as unknown[]);
  if (roots.length !== 1) throw new Error(`expected one root element, found ${roots.length}`);
  return roots[0]!;
}

export function descendants(e: XmlElement): XmlElement[] {
  return e.children.flatMap((c) => [c, ...descendants(c)]);
}

/** xsd:language, the type of ALTO's LANG. */
export const XSD_LANGUAGE = /^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$/u;

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const altoBox = (e: XmlElement): Box => {
  const [x, y, w, h] = ['HPOS', 'VPOS', 'WIDTH', 'HEIGHT'].map((a) => Number(e.attrs[a]));
  return { x0: x!, y0: y!, x1: x! + w!, y1: y! + h! };
};
const inside = (inner: Box, outer: Box): boolean => inner.x0 >= outer.x0 && inner.y0 >= outer.y0 && inner.x1 <= outer.x1 && inner.y1 <= outer.y1;

/** Children in the order a schema's xsd:sequence allows: each name from `order`, never going back. */
function inOrder(parent: XmlElement, order: string[], where: string, problems: string[]): void {
  let at = 0;
  for (const child of parent.children) {
    const i = order.indexOf(child.name, at);
    if (i < 0) problems.push(`${where}: <${child.name}> is not allowed here or out of order (allowed: ${order.join(', ')})`);
    else at = i;
  }
}

/**
 * What alto-4-4.xsd requires of the subset Loupe writes, checked by hand because no XSD validator
 * installs offline: namespace and schemaLocation, element order of alto, Description,
 * ocrProcessingStep, processingSoftware, Page, TextLine; required attributes (IDs, CONTENT,
 * PHYSICAL_IMG_NR); IDs unique and TAGREFS resolving; WC in 0..1; LANG an xsd:language;
 * coordinates whole pixels; and, beyond the XSD, every String inside its line, every line inside
 * its block, every block inside the page. Returns the problems; none means the document passes.
 */
export function altoProblems(xml: string): string[] {
  const problems: string[] = [];
  const root = parseXml(xml);
  if (root.name !== 'alto') return [`root is <${root.name}>, not <alto>`];
  if (root.attrs['xmlns'] !== 'http://www.loc.gov/standards/alto/ns-v4#') problems.push(`alto: namespace is ${root.attrs['xmlns']}`);
  if (root.attrs['xsi:schemaLocation'] !== 'http://www.loc.gov/standards/alto/ns-v4# https://www.loc.gov/standards/alto/v4/alto-4-4.xsd') problems.push('alto: xsi:schemaLocation');
  inOrder(root, ['Description', 'Styles', 'Tags', 'ReadingOrder', 'Layout'], 'alto', problems);
  const description = root.children.find((c) => c.name === 'Description');
  if (description !== undefined) {
    inOrder(description, ['MeasurementUnit', 'sourceImageInformation', 'OCRProcessing', 'Processing'], 'Description', problems);
    if (description.children[0]?.name !== 'MeasurementUnit') problems.push('Description: MeasurementUnit must come first');
    for (const ocr of description.children.filter((c) => c.name === 'OCRProcessing')) {
      inOrder(ocr, ['preProcessingStep', 'ocrProcessingStep', 'postProcessingStep'], 'OCRProcessing', problems);
      for (const step of ocr.children) {
        inOrder(step, ['processingCategory', 'processingDateTime', 'processingAgency', 'processingStepDescription', 'processingStepSettings', 'processingSoftware'], step.name, problems);
        for (const software of step.children.filter((c) => c.name === 'processingSoftware')) {
          inOrder(software, ['softwareCreator', 'softwareName', 'softwareVersion', 'applicationDescription'], 'processingSoftware', problems);
        }
      }
    }
  }
  const layout = root.children.find((c) => c.name === 'Layout');
  if (layout === undefined) return [...problems, 'alto: Layout is required'];

  const all = descendants(root);
  const ids = all.map((e) => e.attrs['ID']).filter((id): id is string => id !== undefined);
  for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push(`ID ${id} is not unique`);
  const tagIds = new Set(all.filter((e) => e.name.endsWith('Tag')).map((e) => e.attrs['ID']));
  for (const e of all) {
    for (const ref of (e.attrs['TAGREFS'] ?? '').split(/\s+/u).filter(Boolean)) if (!tagIds.has(ref)) problems.push(`${e.attrs['ID']}: TAGREFS ${ref} names no tag`);
    const lang = e.attrs['LANG'];
    if (lang !== undefined && !XSD_LANGUAGE.test(lang)) problems.push(`${e.attrs['ID']}: LANG ${lang} is not an xsd:language`);
    for (const a of ['HPOS', 'VPOS', 'WIDTH', 'HEIGHT']) {
      const v = e.attrs[a];
      if (v !== undefined && !/^\d+$/u.test(v)) problems.push(`${e.name} ${e.attrs['ID'] ?? ''}: ${a}="${v}" is not a whole pixel count`);
    }
  }

  for (const page of layout.children) {
    if (page.name !== 'Page') problems.push(`Layout: <${page.name}> is not a Page`);
    for (const a of ['ID', 'PHYSICAL_IMG_NR']) if (page.attrs[a] === undefined) problems.push(`Page: ${a} is required`);
    const pageBox = { x0: 0, y0: 0, x1: Number(page.attrs['WIDTH']), y1: Number(page.attrs['HEIGHT']) };
    inOrder(page, ['TopMargin', 'LeftMargin', 'RightMargin', 'BottomMargin', 'PrintSpace'], 'Page', problems);
    for (const space of page.children) {
      for (const block of space.children) {
        if (block.name !== 'TextBlock') problems.push(`PrintSpace: unexpected <${block.name}>`);
        if (block.attrs['ID'] === undefined) problems.push('TextBlock: ID is required');
        if (!inside(altoBox(block), pageBox)) problems.push(`${block.attrs['ID']}: outside the page`);
        for (const line of block.children) {
          if (line.name !== 'TextLine') problems.push(`${block.attrs['ID']}: unexpected <${line.name}>`);
          if (!inside(altoBox(line), altoBox(block))) problems.push(`${line.attrs['ID']}: outside its block`);
          // (String (SP)?)+ : a String first, then never two SPs in a row nor an SP last.
          const names = line.children.map((c) => c.name).join(' ');
          if (!/^String( (SP )?String)*$/u.test(names)) problems.push(`${line.attrs['ID']}: children "${names}" are not (String SP?)+`);
          for (const string of line.children.filter((c) => c.name === 'String')) {
            if (string.attrs['CONTENT'] === undefined) problems.push(`${string.attrs['ID']}: CONTENT is required`);
            const wc = Number(string.attrs['WC']);
            if (string.attrs['WC'] !== undefined && !(wc >= 0 && wc <= 1)) problems.push(`${string.attrs['ID']}: WC ${string.attrs['WC']} is outside 0..1`);
            if (!inside(altoBox(string), altoBox(line))) problems.push(`${string.attrs['ID']}: outside its line`);
          }
        }
      }
    }
  }
  return problems;
}
