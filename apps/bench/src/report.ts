import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname } from 'node:path';

/** The machine a suite ran on: what the JSON and Markdown outputs name. */
export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  /** The WebGPU adapter, or why there is none. */
  adapter: string;
}

export function machineInfo(adapter: string): Machine {
  const list = cpus();
  return { cpu: list[0]?.model.trim() ?? 'unknown', cores: list.length, node: process.version, adapter };
}

export type Row = Record<string, string | number | boolean | null>;

export interface SuiteResult {
  suite: string;
  date: string;
  machine: Machine;
  /** The command line that produced it. */
  command: string;
  /** Settings and caveats printed under the table. */
  notes: string[];
  results: Row[];
}

/** What a suite hands the CLI: rows for JSON, the Markdown body, notes, plots (name → SVG). */
export interface SuiteOutput {
  rows: Row[];
  notes: string[];
  adapter: string;
  body: string;
  plots: { name: string; svg: string }[];
}

export interface Column {
  key: string;
  title: string;
  format?: (value: Row[string], row: Row) => string;
}

/** A GitHub-flavoured Markdown table of `rows` over `columns`. */
export function markdownTable(rows: readonly Row[], columns: readonly Column[]): string {
  const cell = (c: Column, r: Row) => {
    const v = r[c.key];
    if (c.format) return c.format(v ?? null, r);
    return v === null || v === undefined ? '–' : String(v);
  };
  return [
    `| ${columns.map((c) => c.title).join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${columns.map((c) => cell(c, r)).join(' | ')} |`),
  ].join('\n');
}

/** Formats a number with `digits` significant digits (no exponent for ordinary magnitudes). */
export function fixed(digits: number): (v: Row[string]) => string {
  return (v) => (typeof v === 'number' ? (Number.isFinite(v) ? v.toFixed(digits) : String(v)) : '–');
}

export function mebibytes(v: Row[string]): string {
  return typeof v === 'number' ? (v / 2 ** 20).toFixed(2) : '–';
}

/** The Markdown section of a suite: heading, command, machine, table(s), notes. */
export function markdownSection(result: SuiteResult, body: string): string {
  const m = result.machine;
  return [
    `## ${result.suite}`,
    '',
    `Command: \`${result.command}\`  `,
    `Run ${result.date} on ${m.cpu} (${m.cores} cores), Node ${m.node}; WebGPU adapter: ${m.adapter}.`,
    '',
    body,
    '',
    ...result.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

const begin = (id: string) => `<!-- sibert-bench ${id} :begin -->`;
const end = (id: string) => `<!-- sibert-bench ${id} :end -->`;

/**
 * Writes `section` into `file` between the suite's markers, replacing what an earlier run wrote
 * there and leaving the rest of the file alone (a new file or suite is appended).
 */
export async function writeMarkdownSection(file: string, suite: string, section: string): Promise<void> {
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const block = `${begin(suite)}\n${section.trimEnd()}\n${end(suite)}`;
  const from = text.indexOf(begin(suite));
  const to = text.indexOf(end(suite));
  const next =
    from >= 0 && to > from
      ? `${text.slice(0, from)}${block}${text.slice(to + end(suite).length)}`
      : `${text.trimEnd()}${text ? '\n\n' : ''}${block}\n`;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, next);
}

export async function writeJson(file: string, result: SuiteResult): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
