import { describe, expect, it } from 'vitest';
import { decodeEmail } from './email';
import { htmlToText } from './html';

const crlf = (lines: string[]) => lines.join('\r\n');

describe('decodeEmail', () => {
  it('joins quoted-printable soft line breaks and decodes =XX bytes in the declared charset', () => {
    const raw = crlf([
      'From: Ann <ann@example.org>',
      'Subject: Hello',
      'Content-Type: text/plain; charset="iso-8859-1"',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'This line is long and was wrapp=',
      'ed by the sender. Caf=E9 au lait costs =A35.   ',
      'Equals: 1 =3D 1',
    ]);
    const email = decodeEmail(raw);
    expect(email.subject).toBe('Hello');
    expect(email.from).toBe('Ann <ann@example.org>');
    expect(email.body).toBe(
      'This line is long and was wrapped by the sender. Café au lait costs £5.\nEquals: 1 = 1',
    );
  });

  it('decodes base64 text parts as UTF-8', () => {
    const text = 'Grüße aus Köln — 100 € für alle.\nZweite Zeile.';
    const encoded = Buffer.from(text, 'utf8').toString('base64');
    const raw = crlf([
      'Subject: base64',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      encoded.slice(0, 20),
      encoded.slice(20),
    ]);
    expect(decodeEmail(raw).body).toBe(text);
  });

  it('strips HTML to text, decoding named and numeric entities', () => {
    const raw = [
      'Subject: offer',
      'Content-Type: text/html',
      '',
      '<html><head><title>t</title><style>p { color: red }</style></head>',
      '<body><p>Fish &amp; chips &lt;cheap&gt;&nbsp;now</p><!-- hidden -->',
      '<div>It&#39;s &#x201C;free&#8221;&hellip; &copy; &unknown; a < b</div>',
      '<script>alert("x")</script><br>Bye</body></html>',
    ].join('\n');
    expect(decodeEmail(raw).body).toBe("Fish & chips <cheap> now\n\nIt's “free”… © &unknown; a < b\n\nBye");
  });

  it('answers multipart/alternative with its text/plain part, wherever it comes', () => {
    const raw = [
      'Subject: both',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="=_b1"',
      '',
      'This is a multi-part message in MIME format.',
      '--=_b1',
      'Content-Type: text/html; charset=us-ascii',
      '',
      '<p>HTML version</p>',
      '--=_b1',
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Plain vers=',
      'ion',
      '--=_b1--',
      'epilogue text',
    ].join('\n');
    expect(decodeEmail(raw).body).toBe('Plain version');
  });

  it('falls back to HTML in an alternative without text/plain, and reads nested multipart/mixed', () => {
    const raw = [
      'Subject: nested',
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/html',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<b>Bold</b> news').toString('base64'),
      '--inner--',
      '--outer',
      'Content-Type: image/gif',
      'Content-Disposition: attachment; filename="x.gif"',
      'Content-Transfer-Encoding: base64',
      '',
      'R0lGODlhAQABAAAAACw=',
      '--outer',
      'Content-Type: text/plain',
      '',
      'Footer',
      '--outer--',
    ].join('\n');
    expect(decodeEmail(raw).body).toBe('Bold news\n\nFooter');
  });

  it('decodes RFC 2047 encoded words and unfolds headers', () => {
    const raw = crlf([
      'Subject: =?utf-8?B?w4lsw6h2ZQ==?= =?iso-8859-1?Q?_=E0_Paris?=',
      '  and more',
      '',
      'body',
    ]);
    expect(decodeEmail(raw).subject).toBe('Élève à Paris and more');
  });

  it('reads unlabelled 8-bit bytes as UTF-8 when valid, else as Windows-1252', () => {
    const head = Buffer.from('Subject: x\n\n', 'latin1');
    const utf8 = Buffer.concat([head, Buffer.from('naïve', 'utf8')]);
    const cp1252 = Buffer.concat([head, Uint8Array.from([0x93, 0x68, 0x69, 0x94, 0x20, 0xe9])]);
    expect(decodeEmail(utf8).body).toBe('naïve');
    expect(decodeEmail(cp1252).body).toBe('“hi” é');
  });

  it('takes a message without Content-Type as text/plain and one without a body as empty', () => {
    expect(decodeEmail('Subject: a\n\nJust text.').body).toBe('Just text.');
    expect(decodeEmail('Subject: only headers')).toEqual({ subject: 'only headers', from: '', body: '' });
  });

  it('rejects input that is neither bytes nor a string', () => {
    expect(() => decodeEmail(42 as unknown as string)).toThrow(
      /expected a Uint8Array or a string, got number/,
    );
  });
});

describe('htmlToText', () => {
  it('maps the Windows-1252 range of numeric references to typographic characters', () => {
    expect(htmlToText('don&#146;t &#150; ok')).toBe('don’t – ok');
  });
});
