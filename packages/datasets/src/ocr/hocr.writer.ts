import type { OcrPage } from '@loupe/contracts';
import type { OcrWriterOptions } from './alto.writer.js';
import { layOutPage, type PixelBox } from './page-layout.js';
import { xmlText } from './xml-text.js';

/**
 * Every class and property this writer can produce, whether or not a given page uses it: the hOCR
 * spec lets a reader take a listed capability that finds no element to mean "absent on the page".
 */
export const HOCR_CAPABILITIES = ['ocr_page', 'ocr_carea', 'ocr_par', 'ocr_line', 'ocr_header', 'ocr_caption', 'ocrx_word', 'ocrp_lang', 'ocrp_wconf'] as const;

/**
 * One page as hOCR 1.2 in XHTML: ocr_page > ocr_carea (a block) > ocr_par > line > ocrx_word, with
 * `bbox x0 y0 x1 y1` (x1, y1 exclusive, image pixels) and `x_wconf` as a whole percentage.
 * Heading and caption lines get Tesseract's line classes, ocr_header and ocr_caption, because
 * hOCR readers in the wild (hocr-tools, viewers built for Tesseract output) treat those as lines;
 * the spec itself has no heading class at the physical level. Languages are BCP 47 in `lang`,
 * written on the paragraph and again on a line only when it differs.
 */
export function toHocr(page: OcrPage, opts: OcrWriterOptions = {}): string {
  const laidOut = layOutPage(page);
  const pageNumber = opts.pageNumber ?? 1;
  const system = `${page.engine.id} ${page.engine.version}${opts.software !== undefined ? ` (${opts.software.name} ${opts.software.version})` : ''}`;
  const mainLang = laidOut.languages[0];
  const htmlLang = mainLang !== undefined ? ` xml:lang="${mainLang}" lang="${mainLang}"` : '';
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
    `<html xmlns="http://www.w3.org/1999/xhtml"${htmlLang}>`,
    ' <head>',
    `  <title>${xmlText(opts.canvasId ?? opts.imageUri ?? '')}</title>`,
    '  <meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>',
    `  <meta name="ocr-system" content="${xmlText(system)}"/>`,
    `  <meta name="ocr-capabilities" content="${HOCR_CAPABILITIES.join(' ')}"/>`,
    `  <meta name="ocr-langs" content="${laidOut.languages.join(' ') || 'unknown'}"/>`,
    '  <meta name="ocr-number-of-pages" content="1"/>',
    ' </head>',
    ' <body>',
  ];
  const image = opts.imageUri !== undefined ? `image "${opts.imageUri.replace(/"/gu, '%22')}"; ` : '';
  out.push(`  <div class="ocr_page" id="page_${pageNumber}" title="${xmlText(`${image}bbox 0 0 ${laidOut.width} ${laidOut.height}; ppageno ${pageNumber - 1}`)}">`);
  laidOut.blocks.forEach((block, b) => {
    const id = `${pageNumber}_${b + 1}`;
    const lang = block.language !== undefined ? ` lang="${block.language}"` : '';
    const lineClass = block.role === 'heading' ? 'ocr_header' : block.role === 'caption' ? 'ocr_caption' : 'ocr_line';
    out.push(`   <div class="ocr_carea" id="block_${id}" title="${bbox(block.box)}">`, `    <p class="ocr_par" id="par_${id}"${lang} title="${bbox(block.box)}">`);
    block.lines.forEach((line, l) => {
      const lineId = `${id}_${l + 1}`;
      const lineLang = line.language !== undefined && line.language !== block.language ? ` lang="${line.language}"` : '';
      const words = line.words.map(
        (word, w) => `<span class="ocrx_word" id="word_${lineId}_${w + 1}" title="${bbox(word.box)}; x_wconf ${Math.round(word.confidence * 100)}">${xmlText(word.text)}</span>`,
      );
      out.push(`     <span class="${lineClass}" id="line_${lineId}"${lineLang} title="${bbox(line.box)}">${words.join(' ')}</span>`);
    });
    out.push('    </p>', '   </div>');
  });
  out.push('  </div>', ' </body>', '</html>');
  return `${out.join('\n')}\n`;
}

function bbox(box: PixelBox): string {
  return `bbox ${box.x0} ${box.y0} ${box.x1} ${box.y1}`;
}
