import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkEncoding, DataFileError, expandTextPaths, readLines } from './files';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'data-files-'));
});

async function lines(file: string, options = {}) {
  const out = [];
  for await (const line of readLines(file, options)) out.push(line);
  return out;
}

describe('readLines', () => {
  it('splits at \\n, drops \\r and a byte-order mark, and keeps a last line without a newline', async () => {
    const file = join(dir, 'crlf.txt');
    await writeFile(file, '\ufefffirst\r\nsecond\n\nlast');
    expect((await lines(file)).map((l) => [l.number, l.text])).toEqual([
      [1, 'first'],
      [2, 'second'],
      [3, ''],
      [4, 'last'],
    ]);
  });

  it('reads gzip files', async () => {
    const file = join(dir, 'zipped.txt.gz');
    await writeFile(file, gzipSync(Buffer.from('a\nb\n')));
    expect((await lines(file)).map((l) => l.text)).toEqual(['a', 'b']);
  });

  it('names the file and line of bytes that are not UTF-8, and decodes them as the user says', async () => {
    const file = join(dir, 'latin1.txt');
    await writeFile(file, Buffer.concat([Buffer.from('fine\ncaf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    await expect(lines(file)).rejects.toThrow(`${file}: line 2 is not valid utf-8 (pass --encoding`);
    expect((await lines(file, { encoding: 'latin1' }))[1]!.text).toBe('café');
  });

  it('cuts a line longer than the limit and marks it, without holding the rest', async () => {
    const file = join(dir, 'long.txt');
    await writeFile(file, `short\n${'x'.repeat(5000)}\nafter\n`);
    const got = await lines(file, { maxLineChars: 100 });
    expect(got.map((l) => [l.text.length, l.truncated])).toEqual([
      [5, false],
      [100, true],
      [5, false],
    ]);
  });

  it('reports a missing file and a broken gzip file by name', async () => {
    await expect(lines(join(dir, 'nope.txt'))).rejects.toThrow(`${join(dir, 'nope.txt')}: no such file`);
    const bad = join(dir, 'bad.txt.gz');
    await writeFile(bad, 'not gzip at all');
    await expect(lines(bad)).rejects.toThrow(/bad\.txt\.gz: not a valid gzip file/);
  });

  it('refuses unknown and UTF-16 encodings before reading', () => {
    expect(() => checkEncoding('klingon')).toThrow(DataFileError);
    expect(() => checkEncoding('utf-16le')).toThrow(/convert the files to UTF-8/);
    expect(checkEncoding('LATIN1')).toBe('windows-1252');
  });
});

describe('expandTextPaths', () => {
  it('expands files, folders (recursively, text files only) and globs, in order and without repeats', async () => {
    const corpus = join(dir, 'corpus');
    await mkdir(join(corpus, 'deeper'), { recursive: true });
    for (const name of ['b.txt', 'a.jsonl', 'skip.csv', 'deeper/c.txt.gz'])
      await writeFile(join(corpus, name), 'x');
    const single = join(dir, 'single.txt');
    await writeFile(single, 'x');
    expect(await expandTextPaths([single, corpus, join(corpus, '*.txt')])).toEqual([
      single,
      join(corpus, 'a.jsonl'),
      join(corpus, 'b.txt'),
      join(corpus, 'deeper/c.txt.gz'),
    ]);
  });

  it('names an argument that gives no file', async () => {
    await expect(expandTextPaths([join(dir, 'missing.txt')])).rejects.toThrow(/missing\.txt: no such file/);
    await expect(expandTextPaths([join(dir, 'none-*.txt')])).rejects.toThrow(/matches no file/);
    const empty = join(dir, 'empty-folder');
    await mkdir(empty);
    await expect(expandTextPaths([empty])).rejects.toThrow(/holds no \.txt or \.jsonl file/);
  });
});
