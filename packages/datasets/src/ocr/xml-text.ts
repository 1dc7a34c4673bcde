/**
 * Text as XML 1.0 can carry it, for element content and attribute values alike. OCR engines emit
 * what they see, and a smudge can come out as U+0000 or a lone surrogate; XML 1.0 has no escape
 * for those (not even &#0;), so they are dropped rather than making the whole document unreadable.
 * Tab, newline and carriage return are written as character references because a parser
 * normalises them to spaces inside attribute values, and CONTENT and title are attributes.
 * Text is put in NFC so that "é" is one code point whichever engine read it.
 */
export function xmlText(s: string): string {
  return s
    .normalize('NFC')
    .replace(NOT_XML_1_0, '')
    .replace(/[&<>"'\t\n\r]/gu, (c) => ESCAPES[c]!);
}

const NOT_XML_1_0 = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };
