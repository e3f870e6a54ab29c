import { describe, expect, it } from 'vitest';
import { iterateSpamAssassin, loadMobyDick, loadSotu } from './corpora';

describe('corpora', () => {
  it('reads the State of the Union addresses with year, president and party', () => {
    const addresses = loadSotu();
    expect(addresses.length).toBe(233);
    expect(new Set(addresses.map((a) => a.id)).size).toBe(addresses.length);
    const first = addresses[0]!;
    expect(first).toMatchObject({
      id: '1790_george_washington_n',
      year: 1790,
      president: 'George Washington',
      party: 'none',
    });
    expect(first.text.startsWith('Fellow-Citizens of the Senate and House of Representatives')).toBe(true);
    const parties = new Set(addresses.map((a) => a.party));
    expect(parties).toEqual(
      new Set([
        'none',
        'Federalist',
        'Democratic-Republican',
        'Democratic',
        'Whig & Democratic',
        'Whig',
        'Republican',
        'National Union',
      ]),
    );
    expect(loadSotu()).toBe(addresses);
  });

  it('reads Moby-Dick in reading order without the table of contents', () => {
    const chapters = loadMobyDick();
    expect(chapters.length).toBe(138);
    expect(chapters.map((c) => c.id).slice(0, 4)).toEqual([
      'etymology',
      'extracts',
      'chapter_1',
      'chapter_2',
    ]);
    expect(chapters.at(-1)!.id).toBe('epilogue');
    expect(chapters[2]!.text.startsWith('Call me Ishmael.')).toBe(true);
  });

  it('streams SpamAssassin emails lazily, decoded and labelled', () => {
    const stream = iterateSpamAssassin();
    const first = stream.next().value!;
    expect(first).toMatchObject({ id: 'easy-ham-1/00001', group: 'easy-ham-1', label: 'ham' });
    expect(first.subject).toBe('Re: New Sequences Window');
    expect(first.body).toContain('Date:');
    stream.return(undefined);
  });
});
