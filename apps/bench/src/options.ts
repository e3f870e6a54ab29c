import { parseArgs } from 'node:util';

/** Bad command-line input: printed as one line, exit code 2. */
export class UsageError extends Error {}

export type Flags = Record<string, string | boolean | undefined>;

/** The flags every subcommand takes. */
export interface CommonOptions {
  quick: boolean;
  json: string | null;
  out: string | null;
  markdown: string | null;
}

const COMMON = {
  quick: { type: 'boolean' },
  json: { type: 'string' },
  out: { type: 'string' },
  markdown: { type: 'string' },
} as const;

/** Parses `argv` strictly: the common flags plus the subcommand's own (all string-valued). */
export function parseFlags(
  argv: readonly string[],
  own: readonly string[],
): { common: CommonOptions; flags: Record<string, string | undefined> } {
  let values: Flags;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { ...COMMON, ...Object.fromEntries(own.map((name) => [name, { type: 'string' as const }])) },
    }).values as Flags;
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify.*$/s, ''));
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    common: {
      quick: values.quick === true,
      json: str(values.json),
      out: str(values.out),
      markdown: str(values.markdown),
    },
    flags: Object.fromEntries(own.map((name) => [name, str(values[name]) ?? undefined])),
  };
}

export function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new UsageError(`--${flag} expects one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function positiveInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${flag} expects an integer ≥ 1, got ${JSON.stringify(value)}`);
  return n;
}

/** A comma-separated list of positive numbers. */
export function numberList(flag: string, value: string | undefined, fallback: readonly number[]): number[] {
  if (value === undefined) return [...fallback];
  const list = value.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isFinite(n) || n <= 0)) {
    throw new UsageError(`--${flag} expects comma-separated positive numbers, got ${JSON.stringify(value)}`);
  }
  return list;
}

export function positiveNumber(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--${flag} expects a number > 0, got ${JSON.stringify(value)}`);
  return n;
}
