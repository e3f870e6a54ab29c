import type { BertTokenizer } from '@sibert/tokenizer';

/** The ids of BERT's special tokens in a tokenizer's vocabulary. */
export interface SpecialTokenIds {
  pad: number;
  unk: number;
  cls: number;
  sep: number;
  mask: number;
  /** Every token the tokenizer marks special (the five above and any added special tokens). */
  all: readonly number[];
}

/** Reads [PAD] [UNK] [CLS] [SEP] [MASK] from the vocabulary; a missing one is an error. */
export function specialTokenIds(tokenizer: BertTokenizer): SpecialTokenIds {
  const id = (token: string): number => {
    const value = tokenizer.tokenToId(token);
    if (value === undefined)
      throw new Error(`specialTokenIds: expected '${token}' in the vocabulary, it is missing`);
    return value;
  };
  const ids = { pad: id('[PAD]'), unk: id('[UNK]'), cls: id('[CLS]'), sep: id('[SEP]'), mask: id('[MASK]') };
  const all = new Set([
    ...Object.values(ids),
    ...tokenizer.config.addedTokens.filter((t) => t.special).map((t) => t.id),
  ]);
  return { ...ids, all: [...all].sort((a, b) => a - b) };
}
