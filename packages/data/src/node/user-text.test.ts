import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainWordPiece } from '@sibert/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import { emptyTextStats, encodeTextDocuments, heldOutDocuments, textDocuments } from './user-text';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'data-user-text-'));
});

async function documents(files: string[], options = {}, stats = emptyTextStats()) {
  const out = [];
  for await (const document of textDocuments(files, options, stats)) out.push(document);
  return out;
}

describe('textDocuments', () => {
  it('reads a .txt file as its blank-line-separated paragraphs, whitespace collapsed', async () => {
    const file = join(dir, 'book.txt');
    await writeFile(file, 'Call me\n  Ishmael.\n\n\n \nSome years ago.\n');
    const stats = emptyTextStats();
    expect(await documents([file], {}, stats)).toEqual([
      { file, line: 1, text: 'Call me Ishmael.' },
      { file, line: 6, text: 'Some years ago.' },
    ]);
    expect(stats).toMatchObject({ files: 1, documents: 2, lines: 6, longLines: 0 });
  });

  it('ends a paragraph that grows past the document budget at a line end', async () => {
    const file = join(dir, 'no-blank-lines.txt');
    await writeFile(file, `${'a'.repeat(30)}\n${'b'.repeat(30)}\n${'c'.repeat(30)}\n`);
    const got = await documents([file], { maxDocumentChars: 50 });
    expect(got.map((d) => d.line)).toEqual([1, 3]);
  });

  it('reads a .jsonl file as one document per record, from the named field', async () => {
    const file = join(dir, 'records.jsonl');
    await writeFile(file, '{"body": "first  record"}\n\n{"body": "second"}\n');
    expect((await documents([file], { textField: 'body' })).map((d) => [d.line, d.text])).toEqual([
      [1, 'first record'],
      [3, 'second'],
    ]);
  });

  it('names the file, line and field of a bad record', async () => {
    const file = join(dir, 'bad.jsonl');
    await writeFile(file, '{"text": "fine"}\n{"title": "no text"}\n');
    await expect(documents([file])).rejects.toThrow(`${file}: line 2 has no field 'text' (it has title)`);
    await writeFile(file, '{"text": 3}\n');
    await expect(documents([file])).rejects.toThrow(
      `${file}: line 1: field 'text' is a number, expected a string`,
    );
    await writeFile(file, '{"text": "fine"}\n{"text": \n');
    await expect(documents([file])).rejects.toThrow(`${file}: line 2 is not valid JSON`);
  });

  it('refuses a file without text, naming it', async () => {
    const empty = join(dir, 'empty.txt');
    await writeFile(empty, '\n  \n');
    await expect(documents([empty])).rejects.toThrow(`${empty}: the file holds no text`);
    const blank = join(dir, 'blank.jsonl');
    await writeFile(blank, '{"text": "  "}\n');
    await expect(documents([blank])).rejects.toThrow("no record with a non-empty 'text'");
  });

  it('skips a .jsonl line longer than the limit (a cut record would not parse) and counts it', async () => {
    const file = join(dir, 'long.jsonl');
    await writeFile(file, `{"text": "${'x'.repeat(500)}"}\n{"text": "kept"}\n`);
    const stats = emptyTextStats();
    expect((await documents([file], { maxLineChars: 100 }, stats)).map((d) => d.text)).toEqual(['kept']);
    expect(stats.longLines).toBe(1);
  });
});

describe('heldOutDocuments', () => {
  it('holds out a seeded share, at least one document of two or more', () => {
    const a = heldOutDocuments(1000, 0.02, 5);
    expect(a.size).toBe(20);
    expect(heldOutDocuments(1000, 0.02, 5)).toEqual(a);
    expect(heldOutDocuments(1000, 0.02, 6)).not.toEqual(a);
    expect(heldOutDocuments(10, 0.02, 0).size).toBe(1);
    expect(heldOutDocuments(1, 0.5, 0).size).toBe(0);
    expect(heldOutDocuments(10, 0, 0).size).toBe(0);
  });
});

describe('encodeTextDocuments', () => {
  it('encodes every document on the worker pool, as the tokenizer encodes it alone', async () => {
    const file = join(dir, 'pool.txt');
    const paragraphs = Array.from({ length: 40 }, (_, i) => `paragraph number ${i} about whales and ships`);
    await writeFile(file, paragraphs.join('\n\n'));
    const tokenizer = trainWordPiece(paragraphs, { vocabSize: 120 });
    const encoded = await encodeTextDocuments([file], tokenizer, { threads: 2 });
    expect(encoded.documents.map((d) => Array.from(d))).toEqual(
      paragraphs.map((p) =>
        Array.from(tokenizer.encode(p, { addSpecialTokens: false, truncation: false, padding: false }).ids),
      ),
    );
    expect(encoded.tokens).toBe(encoded.documents.reduce((n, d) => n + d.length, 0));
    expect(encoded.stats.documents).toBe(40);
  });
});
