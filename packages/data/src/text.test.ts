import { describe, expect, it } from 'vitest';
import { sentencePassages, splitParagraphs, splitSentences } from './text';

describe('text splitting', () => {
  it('splits paragraphs at blank lines and collapses whitespace inside them', () => {
    expect(splitParagraphs('One\nline.\n\n  \nTwo.\n \nThree.  ')).toEqual(['One line.', 'Two.', 'Three.']);
  });

  it('splits sentences but not after abbreviations or initials', () => {
    expect(
      splitSentences(
        'Mr. Lincoln spoke. The U.S. Army marched! Did it? "Yes." Gen. Grant agreed. 1865 ended.',
      ),
    ).toEqual([
      'Mr. Lincoln spoke.',
      'The U.S. Army marched!',
      'Did it?',
      '"Yes."',
      'Gen. Grant agreed.',
      '1865 ended.',
    ]);
  });

  it('groups whole sentences into passages within the word budget', () => {
    const text = 'One two three. Four five. Six seven eight nine ten eleven. Twelve.';
    expect(sentencePassages(text, 5)).toEqual([
      'One two three. Four five.',
      'Six seven eight nine ten eleven.',
      'Twelve.',
    ]);
    expect(() => sentencePassages(text, 0)).toThrow(/expected maxWords to be a positive integer, got 0/);
  });
});
