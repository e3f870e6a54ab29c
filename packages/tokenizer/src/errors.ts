/** Every error this package throws on purpose: bad vocabularies, malformed tokenizer.json, bad input. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/** Throws a TokenizerError unless `value` is a string; `where` names the function and argument. */
export function assertString(value: unknown, where: string): asserts value is string {
  if (typeof value !== 'string') {
    const got = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    throw new TokenizerError(`${where}: expected a string, got ${got}`);
  }
}
