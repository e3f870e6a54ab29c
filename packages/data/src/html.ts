/** HTML to readable text: enough for mail bodies (tags dropped, blocks on their own lines, entities decoded). */
import { WINDOWS_1252_HIGH } from './charset';

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  trade: '™',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  sbquo: '‚',
  ldquo: '“',
  rdquo: '”',
  bdquo: '„',
  bull: '•',
  middot: '·',
  euro: '€',
  pound: '£',
  yen: '¥',
  cent: '¢',
  curren: '¤',
  sect: '§',
  para: '¶',
  deg: '°',
  plusmn: '±',
  times: '×',
  divide: '÷',
  frac12: '½',
  frac14: '¼',
  frac34: '¾',
  sup1: '¹',
  sup2: '²',
  sup3: '³',
  laquo: '«',
  raquo: '»',
  iexcl: '¡',
  iquest: '¿',
  shy: '',
  agrave: 'à',
  aacute: 'á',
  acirc: 'â',
  atilde: 'ã',
  auml: 'ä',
  aring: 'å',
  aelig: 'æ',
  ccedil: 'ç',
  egrave: 'è',
  eacute: 'é',
  ecirc: 'ê',
  euml: 'ë',
  igrave: 'ì',
  iacute: 'í',
  icirc: 'î',
  iuml: 'ï',
  ntilde: 'ñ',
  ograve: 'ò',
  oacute: 'ó',
  ocirc: 'ô',
  otilde: 'õ',
  ouml: 'ö',
  oslash: 'ø',
  ugrave: 'ù',
  uacute: 'ú',
  ucirc: 'û',
  uuml: 'ü',
  yacute: 'ý',
  yuml: 'ÿ',
  szlig: 'ß',
  Agrave: 'À',
  Aacute: 'Á',
  Acirc: 'Â',
  Auml: 'Ä',
  Ccedil: 'Ç',
  Egrave: 'È',
  Eacute: 'É',
  Ntilde: 'Ñ',
  Ouml: 'Ö',
  Uuml: 'Ü',
};

/** Decodes named (`&amp;`), decimal (`&#8217;`) and hex (`&#x2019;`) character references; unknown ones stay. */
export function decodeHtmlEntities(text: string): string {
  return text.replace(
    /&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g,
    (whole, ref: string) => {
      if (ref.startsWith('#')) {
        const code =
          ref[1] === 'x' || ref[1] === 'X'
            ? Number.parseInt(ref.slice(2), 16)
            : Number.parseInt(ref.slice(1), 10);
        if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd';
        // Windows-1252 code points that HTML maps to their typographic characters (&#146; → ’).
        if (code >= 0x80 && code <= 0x9f) return WINDOWS_1252_HIGH[code - 0x80] as string;
        return String.fromCodePoint(code);
      }
      return NAMED_ENTITIES[ref] ?? NAMED_ENTITIES[ref.toLowerCase()] ?? whole;
    },
  );
}

const BLOCK_TAGS =
  /<\/?(?:p|div|tr|li|ul|ol|h[1-6]|table|tbody|thead|blockquote|hr|pre|center|dl|dt|dd|form|address|title)\b[^>]*>/gi;

/** Readable text of an HTML document or fragment: blocks become paragraphs (blank-line separated), `<br>` a line break. */
export function htmlToText(html: string): string {
  const text = html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|head|xml)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!doctype[^>]*>/gi, ' ')
    // Source line breaks are spaces in HTML; only tags break lines.
    .replace(/\s+/g, ' ')
    .replace(BLOCK_TAGS, '\n\n')
    .replace(/<br\b[^>]*>/gi, '\n')
    .replace(/<\/?(?:td|th)\b[^>]*>/gi, ' ')
    // Any other tag goes; a bare '<' that starts no tag ("a < b") stays.
    .replace(/<\/?[a-zA-Z][^>]*>/g, '');
  return tidyText(decodeHtmlEntities(text));
}

/** Spaces collapsed within lines, lines trimmed, at most one blank line in a row, no blank ends. */
export function tidyText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
