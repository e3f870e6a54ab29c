/**
 * Windows-1252's 0x80–0x9F (WHATWG table; the five unassigned bytes map to themselves). Node 20's
 * TextDecoder('windows-1252') decodes these bytes as Latin-1 control characters, so we map them here.
 */
export const WINDOWS_1252_HIGH = '€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ';

/** Text of Windows-1252 bytes (which WHATWG also uses for labels iso-8859-1, latin1 and us-ascii). */
export function decodeWindows1252(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    out += byte >= 0x80 && byte <= 0x9f ? WINDOWS_1252_HIGH[byte - 0x80] : String.fromCharCode(byte);
  }
  return out;
}

const WINDOWS_1252_LABELS = new Set([
  'windows-1252',
  'cp1252',
  'x-cp1252',
  'iso-8859-1',
  'iso8859-1',
  'iso_8859-1',
  'latin1',
  'l1',
  'us-ascii',
  'ascii',
  'ansi_x3.4-1968',
]);

// The global TextDecoder (WHATWG), in Node and in a page alike.
type Decoder = InstanceType<typeof TextDecoder>;

const decoders = new Map<string, Decoder | null>();

function decoderFor(label: string): Decoder | null {
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      decoder = null;
    }
    decoders.set(label, decoder);
  }
  return decoder;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Text of `bytes` in the charset `label`. An unknown or absent label is read as UTF-8 when the
 * bytes are valid UTF-8, else as Windows-1252 (what unlabelled mail of the period mostly is).
 */
export function decodeBytes(bytes: Uint8Array, label: string | undefined): string {
  const name = (label ?? '').trim().toLowerCase();
  if (WINDOWS_1252_LABELS.has(name)) return decodeWindows1252(bytes);
  const decoder = name ? decoderFor(name) : null;
  if (decoder) return decoder.decode(bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return decodeWindows1252(bytes);
  }
}
