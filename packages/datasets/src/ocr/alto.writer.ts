import type { OcrPage } from '@loupe/contracts';
import { layOutPage, union, type LaidOutBlock, type PixelBox } from './page-layout.js';
import { xmlText } from './xml-text.js';

export const ALTO_NAMESPACE = 'http://www.loc.gov/standards/alto/ns-v4#';
export const ALTO_SCHEMA_LOCATION = 'https://www.loc.gov/standards/alto/v4/alto-4-4.xsd';

export interface OcrWriterOptions {
  /** The image the engine read (ALTO fileName, hOCR `image`). */
  imageUri?: string;
  /** The IIIF canvas the page belongs to (ALTO fileIdentifier, hOCR title). */
  canvasId?: string;
  /** When the page was read; absent leaves the date out, so the same page always writes the same bytes. */
  created?: Date;
  /** The program that ran the engine and wrote the file (Loupe and its version). */
  software?: { name: string; version: string };
  /** The page's number within its document, 1-based (ALTO PHYSICAL_IMG_NR); 1 when not given. */
  pageNumber?: number;
}

/**
 * One page as ALTO v4.4 XML, in pixels of the image the engine read. Element order, required
 * attributes and types follow alto-4-4.xsd. Headings and captions are marked the way the ALTO
 * board's own tag sample marks article titles: a StructureTag under Tags (LABEL "heading" or
 * "caption") that the TextBlock names in TAGREFS. Body and other blocks carry no tag.
 * Word confidence goes to WC, 0..1 with three decimals; SP between words has the gap as its width.
 * OCRProcessing is what most ALTO readers look for, though v4 also offers Processing.
 */
export function toAlto(page: OcrPage, opts: OcrWriterOptions = {}): string {
  const laidOut = layOutPage(page);
  const pageId = `P${opts.pageNumber ?? 1}`;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<alto xmlns="${ALTO_NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="${ALTO_NAMESPACE} ${ALTO_SCHEMA_LOCATION}" SCHEMAVERSION="4.4">`,
    '  <Description>',
    '    <MeasurementUnit>pixel</MeasurementUnit>',
  ];
  if (opts.imageUri !== undefined || opts.canvasId !== undefined) {
    out.push('    <sourceImageInformation>');
    if (opts.imageUri !== undefined) out.push(`      <fileName>${xmlText(opts.imageUri)}</fileName>`);
    if (opts.canvasId !== undefined) out.push(`      <fileIdentifier fileIdentifierLocation="iiif-canvas">${xmlText(opts.canvasId)}</fileIdentifier>`);
    out.push('    </sourceImageInformation>');
  }
  out.push('    <OCRProcessing ID="OCR_1">', '      <ocrProcessingStep>', '        <processingCategory>contentGeneration</processingCategory>');
  if (opts.created !== undefined) out.push(`        <processingDateTime>${opts.created.toISOString()}</processingDateTime>`);
  out.push(
    `        <processingStepSettings>${xmlText(`language models: ${page.languages.join('+') || 'none'}`)}</processingStepSettings>`,
    '        <processingSoftware>',
    `          <softwareName>${xmlText(page.engine.id)}</softwareName>`,
    `          <softwareVersion>${xmlText(page.engine.version)}</softwareVersion>`,
  );
  if (opts.software !== undefined) out.push(`          <applicationDescription>${xmlText(`run by ${opts.software.name} ${opts.software.version}`)}</applicationDescription>`);
  out.push('        </processingSoftware>', '      </ocrProcessingStep>', '    </OCRProcessing>', '  </Description>');

  const roles = TAGGED_ROLES.filter((role) => laidOut.blocks.some((b) => b.role === role));
  if (roles.length > 0) {
    out.push('  <Tags>');
    for (const role of roles) out.push(`    <StructureTag ID="${tagId(role)}" LABEL="${role}"/>`);
    out.push('  </Tags>');
  }

  out.push('  <Layout>', `    <Page ID="${pageId}" PHYSICAL_IMG_NR="${opts.pageNumber ?? 1}" WIDTH="${laidOut.width}" HEIGHT="${laidOut.height}">`);
  const print = laidOut.blocks.length > 0 ? union(laidOut.blocks[0]!.box, ...laidOut.blocks.map((b) => b.box)) : { x0: 0, y0: 0, x1: laidOut.width, y1: laidOut.height };
  out.push(`      <PrintSpace ${position(print)}>`);
  laidOut.blocks.forEach((block, b) => writeBlock(out, block, `${pageId}_TB${b + 1}`));
  out.push('      </PrintSpace>', '    </Page>', '  </Layout>', '</alto>');
  return `${out.join('\n')}\n`;
}

const TAGGED_ROLES = ['heading', 'caption'] as const;
const tagId = (role: string): string => `TAG_${role}`;

function writeBlock(out: string[], block: LaidOutBlock, id: string): void {
  const tag = (TAGGED_ROLES as readonly string[]).includes(block.role) ? ` TAGREFS="${tagId(block.role)}"` : '';
  const lang = block.language !== undefined ? ` LANG="${block.language}"` : '';
  out.push(`        <TextBlock ID="${id}" ${position(block.box)}${lang}${tag}>`);
  block.lines.forEach((line, l) => {
    const lineId = `${id}_TL${l + 1}`;
    const lineLang = line.language !== undefined && line.language !== block.language ? ` LANG="${line.language}"` : '';
    out.push(`          <TextLine ID="${lineId}" ${position(line.box)}${lineLang}>`);
    line.words.forEach((word, w) => {
      const previous = line.words[w - 1];
      if (previous !== undefined) {
        // Words that touch or overlap have no gap to measure; the SP still says "a space here".
        const gap = word.box.x0 - previous.box.x1;
        out.push(`            <SP HPOS="${previous.box.x1}" VPOS="${line.box.y0}"${gap > 0 ? ` WIDTH="${gap}"` : ''}/>`);
      }
      out.push(`            <String ID="${lineId}_S${w + 1}" ${position(word.box)} CONTENT="${xmlText(word.text)}" WC="${Number(word.confidence.toFixed(3))}"/>`);
    });
    out.push('          </TextLine>');
  });
  out.push('        </TextBlock>');
}

function position(box: PixelBox): string {
  return `HPOS="${box.x0}" VPOS="${box.y0}" WIDTH="${box.x1 - box.x0}" HEIGHT="${box.y1 - box.y0}"`;
}
