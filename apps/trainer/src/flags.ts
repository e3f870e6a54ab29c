import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkEncoding } from '@sibert/data/node';

/** Bad command-line or config input: printed as one line, exit code 2. */
export class UsageError extends Error {}

/**
 * A problem with the user's data files is bad input too. Matched by name: errors from the data
 * worker arrive as plain Errors carrying it.
 */
export function dataErrorAsUsage(error: Error): Error {
  return error.name === 'DataFileError' ? new UsageError(error.message) : error;
}

// ---- value parsers: each names the option, what it expects and what came ----------------------

export function fail(option: string, expected: string, value: unknown): never {
  throw new UsageError(`--${option} expects ${expected}, got ${JSON.stringify(value)}`);
}

/** Seeds feed the data package's 32-bit generators. */
export const MAX_SEED = 0xffffffff;

// Strict number syntax: Number() also reads '0x10', '1e3' as integers and ' ' as 0.
const INTEGER = /^[-+]?\d+$/;
const REAL = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

export function integer(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && INTEGER.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    fail(
      option,
      max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`,
      value,
    );
  }
  return n;
}

export function real(
  option: string,
  value: unknown,
  check: (n: number) => boolean,
  expected: string,
): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && REAL.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isFinite(n) || !check(n)) fail(option, expected, value);
  return n;
}

export function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T))
    fail(option, `one of ${allowed.join(', ')}`, value);
  return value as T;
}

export function nonEmpty(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') fail(option, 'a non-empty string', value);
  return value;
}

/** A several-values option: paths from the command line (an array) or a config file (array or string). */
export function paths(option: string, value: unknown): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((v) => typeof v !== 'string' || v === ''))
    fail(option, 'one or more paths', value);
  return list as string[];
}

export function encodingName(value: unknown): string {
  try {
    return checkEncoding(nonEmpty('encoding', value));
  } catch (error) {
    throw new UsageError(`--encoding: ${(error as Error).message}`);
  }
}

// ---- flags and config files ---------------------------------------------------------------------

export type Raw = Record<string, unknown>;

type FlagKind = 'string' | 'boolean' | 'strings';

/**
 * Reads flags (strict: unknown flags are errors) and merges them over `--config FILE` (JSON). A
 * `strings` flag takes every value up to the next flag (`--text a.txt b.txt`, what a shell glob
 * expands to) and may repeat.
 */
export function readRaw(argv: readonly string[], spec: Record<string, FlagKind>): Raw {
  const multiple = new Set(Object.keys(spec).filter((name) => spec[name] === 'strings'));
  const args = spreadMultipleValues(joinNegativeValues(argv), multiple);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        Object.entries({ ...spec, config: 'string' }).map(([name, kind]) => [
          name,
          kind === 'strings' ? { type: 'string', multiple: true } : { type: kind },
        ]),
      ) as Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, ''));
  }
  const flags = Object.fromEntries(Object.entries(parsed.values).map(([k, v]) => [camel(k), v]));
  const { config, ...rest } = flags;
  if (config === undefined) return rest;
  let fromFile: unknown;
  try {
    fromFile = JSON.parse(readFileSync(String(config), 'utf8'));
  } catch (error) {
    throw new UsageError(`--config ${config}: ${(error as Error).message}`);
  }
  if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
    throw new UsageError(`--config ${config}: expected a JSON object of options`);
  }
  const known = new Set(Object.keys(spec).map(camel));
  const unknown = Object.keys(fromFile).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new UsageError(`--config ${config}: unknown option(s) ${unknown.join(', ')}`);
  return { ...(fromFile as Raw), ...rest };
}

/** `--steps -5` would read as two flags; `--steps=-5` lets the value check name the bad value. */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg.startsWith('--') && !arg.includes('=') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** `--text a b --seed 1` → `--text a --text b --seed 1`, for the flags that take several values. */
function spreadMultipleValues(argv: readonly string[], multiple: Set<string>): string[] {
  const out: string[] = [];
  let flag: string | null = null; // the several-values flag the next arguments belong to
  let hasValue = false;
  for (const arg of argv) {
    if (arg.startsWith('--')) {
      flag = multiple.has(arg.slice(2)) ? arg.slice(2) : null; // `--text=a` takes no more
      hasValue = false;
      out.push(arg);
    } else if (flag && hasValue) {
      out.push(`--${flag}`, arg);
    } else {
      out.push(arg);
      hasValue = true;
    }
  }
  return out;
}

export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
