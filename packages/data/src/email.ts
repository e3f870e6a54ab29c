/**
 * Decodes raw RFC 822 / MIME email into readable text: headers unfolded with RFC 2047 encoded
 * words decoded, bodies undone from quoted-printable or base64 and from their charset, HTML
 * turned into text, `multipart/alternative` answered by its text/plain part. Attachments that
 * are not text are left out.
 */
import { decodeBytes } from './charset';
import { htmlToText, tidyText } from './html';

export interface DecodedEmail {
  /** The Subject header, decoded; '' when there is none. */
  subject: string;
  /** The From header, decoded; '' when there is none. */
  from: string;
  /** The readable text of the body. */
  body: string;
}

interface MimePart {
  headers: Map<string, string>;
  /** The body as a binary string: one char per byte. */
  body: string;
}

interface ContentType {
  /** Lowercased `type/subtype`. */
  mediaType: string;
  params: Map<string, string>;
}

/**
 * Decodes a raw email. Bytes (as read from disk) are the faithful input; a string is taken as
 * the message's text and encoded as UTF-8 first.
 */
export function decodeEmail(raw: Uint8Array | string): DecodedEmail {
  const bytes = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`decodeEmail: expected a Uint8Array or a string, got ${typeof raw}`);
  }
  const part = parsePart(toBinaryString(bytes));
  return {
    subject: decodeHeaderValue(part.headers.get('subject') ?? ''),
    from: decodeHeaderValue(part.headers.get('from') ?? ''),
    body: tidyText(partText(part, 0)),
  };
}

// Binary strings (one char per byte) let the parser use string methods without losing bytes.
function toBinaryString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function toBytes(binary: string): Uint8Array {
  return Buffer.from(binary, 'latin1');
}

/** Splits a message or part into unfolded headers (lowercased names; the first of repeats wins) and body. */
function parsePart(binary: string): MimePart {
  const text = binary.replace(/\r\n?/g, '\n');
  const end = text.search(/\n\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const body = end < 0 ? '' : text.slice(end + 2);
  const headers = new Map<string, string>();
  // mbox "From sender date" envelope lines carry no colon-separated header; skip them.
  const unfolded = head.replace(/\n[ \t]+/g, ' ').split('\n');
  for (const line of unfolded) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[!-9;-~]+$/.test(name) || headers.has(name)) continue;
    headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function parseContentType(value: string | undefined): ContentType {
  const params = new Map<string, string>();
  if (value === undefined) return { mediaType: 'text/plain', params };
  const [first = '', ...rest] = splitParams(value);
  const mediaType = first.trim().toLowerCase();
  for (const item of rest) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const name = item.slice(0, eq).trim().toLowerCase();
    let paramValue = item.slice(eq + 1).trim();
    if (paramValue.startsWith('"'))
      paramValue = paramValue.slice(1, paramValue.endsWith('"') ? -1 : undefined);
    params.set(name, paramValue.replace(/\\(.)/g, '$1'));
  }
  // A malformed type ("text", "") is read as the RFC default.
  return { mediaType: mediaType.includes('/') ? mediaType : 'text/plain', params };
}

/** Splits `a; b="x;y"; c` at the semicolons outside quotes. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted;
    if (c === ';' && !quoted) {
      out.push(current);
      current = '';
    } else current += c;
  }
  out.push(current);
  return out;
}

// Nested parts deeper than this are ignored rather than followed (malformed or hostile mail).
const MAX_DEPTH = 16;

/** The readable text of a part, by its content type. */
function partText(part: MimePart, depth: number): string {
  if (depth > MAX_DEPTH) return '';
  const type = parseContentType(part.headers.get('content-type'));
  if (type.mediaType.startsWith('multipart/')) {
    const boundary = type.params.get('boundary');
    const children = boundary ? splitMultipart(part.body, boundary) : null;
    // A multipart without a usable boundary is read as plain text, as mail readers do.
    if (!children) return bodyText(part, 'text/plain', type.params.get('charset'));
    if (type.mediaType === 'multipart/alternative') return alternativeText(children, depth);
    return children
      .filter((child) => !isAttachment(child))
      .map((child) => partText(child, depth + 1))
      .filter((text) => text.trim() !== '')
      .join('\n\n');
  }
  if (type.mediaType === 'message/rfc822') {
    const inner = parsePart(decodeTransfer(part));
    const subject = decodeHeaderValue(inner.headers.get('subject') ?? '');
    const text = partText(inner, depth + 1);
    return subject ? `Subject: ${subject}\n\n${text}` : text;
  }
  if (
    type.mediaType === 'text/html' ||
    type.mediaType === 'text/plain' ||
    type.mediaType === 'text/enriched'
  ) {
    return bodyText(part, type.mediaType, type.params.get('charset'));
  }
  return '';
}

/** The preferred alternative: text/plain if it has text, else HTML, else the first that reads. */
function alternativeText(children: MimePart[], depth: number): string {
  const typed = children.map((child) => ({
    child,
    type: parseContentType(child.headers.get('content-type')),
  }));
  for (const preferred of ['text/plain', 'text/html']) {
    for (const { child, type } of typed) {
      if (type.mediaType !== preferred) continue;
      const text = partText(child, depth + 1);
      if (text.trim() !== '') return text;
    }
  }
  for (const { child } of typed) {
    const text = partText(child, depth + 1);
    if (text.trim() !== '') return text;
  }
  return '';
}

function isAttachment(part: MimePart): boolean {
  const disposition = (part.headers.get('content-disposition') ?? '').toLowerCase();
  if (!disposition.startsWith('attachment')) return false;
  return !parseContentType(part.headers.get('content-type')).mediaType.startsWith('text/');
}

/** The parts between `--boundary` lines, up to `--boundary--`; null when there are none. */
function splitMultipart(body: string, boundary: string): MimePart[] | null {
  const delimiter = `--${boundary}`;
  const lines = body.split('\n');
  const parts: string[][] = [];
  let current: string[] | null = null;
  for (const line of lines) {
    const trimmed = line.trimEnd();
    if (trimmed === `${delimiter}--`) {
      if (current) parts.push(current);
      current = null;
      break;
    }
    if (trimmed === delimiter) {
      if (current) parts.push(current);
      current = [];
      continue;
    }
    current?.push(line);
  }
  // A message cut off before its closing delimiter still has its last part.
  if (current) parts.push(current);
  if (parts.length === 0) return null;
  return parts.map((partLines) => parsePart(partLines.join('\n')));
}

/** The body bytes of a part with its Content-Transfer-Encoding undone, as a binary string. */
function decodeTransfer(part: MimePart): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(part.body);
  if (encoding === 'base64') return decodeBase64(part.body);
  return part.body;
}

function bodyText(part: MimePart, mediaType: string, charset: string | undefined): string {
  const text = decodeCharset(decodeTransfer(part), charset);
  // Much spam sends HTML labelled text/plain; a reader would render it, so we strip it too.
  if (mediaType === 'text/html' || /<(?:html|body|!doctype html)\b/i.test(text)) return htmlToText(text);
  if (mediaType === 'text/enriched') return text.replace(/<\/?[a-zA-Z][^>]*>/g, '').replace(/<</g, '<');
  return text;
}

/** Quoted-printable (RFC 2045 §6.7): `=XX` is a byte, `=` at a line end is a soft break. */
function decodeQuotedPrintable(binary: string): string {
  return binary
    .replace(/[ \t]+$/gm, '')
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

function decodeBase64(binary: string): string {
  const clean = binary.replace(/[^A-Za-z0-9+/]/g, '');
  return Buffer.from(clean, 'base64').toString('latin1');
}

/** Text of a binary string in `charset` (see `decodeBytes`). */
function decodeCharset(binary: string, charset: string | undefined): string {
  // Pure ASCII reads the same in every charset mail uses.
  if (!/[\x80-\xff]/.test(binary)) return binary;
  return decodeBytes(toBytes(binary), charset);
}

/** A header value with RFC 2047 encoded words (`=?utf-8?B?…?=`, `=?iso-8859-1?Q?…?=`) decoded. */
function decodeHeaderValue(value: string): string {
  // Raw 8-bit bytes first (they never form encoded words, which are ASCII), then the words.
  return (
    decodeCharset(value, undefined)
      // Whitespace between two adjacent encoded words is not part of the text.
      .replace(/(\?=)\s+(?==\?)/g, '$1')
      .replace(
        /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g,
        (_, charset: string, encoding: string, text: string) => {
          const binary =
            encoding.toUpperCase() === 'B'
              ? decodeBase64(text)
              : text
                  .replace(/_/g, ' ')
                  .replace(/=([0-9A-Fa-f]{2})/g, (__, hex: string) =>
                    String.fromCharCode(Number.parseInt(hex, 16)),
                  );
          // RFC 2231 allows a language after '*' in the charset (utf-8*en).
          return decodeCharset(binary, charset.split('*')[0]);
        },
      )
      .replace(/\s+/g, ' ')
      .trim()
  );
}
