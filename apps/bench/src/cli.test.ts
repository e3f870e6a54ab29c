import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openTestBackend } from '@sibert/backend-webgpu/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeMarkdownSection } from './report.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../..', import.meta.url));

/** Runs the CLI as a user would (from the repo root, TypeScript sources); never rejects. */
async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', CLI, ...args],
      {
        cwd: REPO,
        maxBuffer: 16 * 2 ** 20,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sibert-bench-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SMOKE_CASES: [string, string, string[]][] = [
  ['kernels', 'ms', []],
  ['step', 'msPerStep', []],
  ['profile', 'msPerStep', []],
  ['memory', 'stateBytes', []],
  ['robustness', 'finalLoss', ['robustness-steps-init.svg', 'robustness-init-0.1-loss-1.svg']],
  ['reproduce', 'accuracy', ['reproduce-pretrain-loss.svg']],
];

// An adapter is probed (and closed) once; in CI a missing one fails here rather than skipping.
const webgpu = await openTestBackend();
webgpu?.dispose();

describe('sibert-bench --quick (smoke)', () => {
  smokeTests('cpu');
});

describe.skipIf(!webgpu)('sibert-bench --quick --backend webgpu (smoke)', () => {
  smokeTests('webgpu');
});

/** Every subcommand with --quick on one backend: its table, JSON, Markdown section and plots. */
function smokeTests(backend: 'cpu' | 'webgpu') {
  for (const [suite, field, plots] of SMOKE_CASES) {
    it(`${suite} prints its table and writes JSON, Markdown and plots`, async () => {
      const out = join(dir, `${suite}-${backend}`);
      const markdown = join(dir, `results-${backend}.md`);
      const result = await bench([
        suite,
        '--quick',
        '--backend',
        backend,
        '--json',
        join(out, 'r.json'),
        '--markdown',
        markdown,
        '--out',
        out,
      ]);
      expect(result.stderr).not.toMatch(/^sibert-bench /m);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`## ${suite}`);
      const json = JSON.parse(await readFile(join(out, 'r.json'), 'utf8'));
      expect(json.suite).toBe(suite);
      expect(json.machine.cores).toBeGreaterThan(0);
      expect(json.results.length).toBeGreaterThan(0);
      for (const row of json.results) expect(typeof row[field]).toBe('number');
      if (backend === 'webgpu') {
        expect(json.machine.adapter).not.toMatch(/^(none|not)/);
        expect(json.results.some((row: { backend?: string }) => row.backend === 'cpu')).toBe(false);
      }
      expect(await readFile(markdown, 'utf8')).toContain(
        `<!-- sibert-bench ${suite} --quick --backend ${backend} :begin -->`,
      );
      const files = await readdir(out);
      for (const plot of plots) {
        expect(files).toContain(plot);
        expect(await readFile(join(out, plot), 'utf8')).toContain('<polyline');
      }
    }, 180_000);
  }
}

describe('sibert-bench errors', () => {
  it('an unknown subcommand is one line on stderr and exit code 2', async () => {
    const result = await bench(['nope']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain("unknown subcommand 'nope'");
  });

  it("SUITE --help prints that suite's usage and the common options", async () => {
    const result = await bench(['robustness', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {2}sibert-bench robustness \[--steps N\]/);
    expect(result.stdout).toContain('--grid axes|full');
    expect(result.stdout).toContain('--markdown FILE');
    expect(result.stdout).not.toContain('sibert-bench step');
  });

  it('a bad flag value names the flag', async () => {
    const result = await bench(['step', '--model', 'gpt-2']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--model expects one of bert-mini, sibert-mini');
  });
});

describe('writeMarkdownSection', () => {
  it("replaces only its own suite's section and keeps the rest of the file", async () => {
    const file = join(dir, 'sections.md');
    await writeFile(file, '# Results\n\nhand-written intro\n');
    await writeMarkdownSection(file, 'kernels', 'first');
    await writeMarkdownSection(file, 'memory', 'mem');
    await writeMarkdownSection(file, 'kernels', 'second');
    const text = await readFile(file, 'utf8');
    expect(text).toContain('hand-written intro');
    expect(text).toContain('second');
    expect(text).not.toContain('first');
    expect(text.indexOf('second')).toBeLessThan(text.indexOf('mem'));
  });
});

describe('sibert-bench reproduce --quick, run again', () => {
  it('reuses every complete run of the first and reports the same numbers', async () => {
    const out = join(dir, 'reproduce-cpu');
    const first = JSON.parse(await readFile(join(out, 'r.json'), 'utf8'));
    const result = await bench(['reproduce', '--quick', '--json', join(out, 'again.json'), '--out', out]);
    expect(result.code).toBe(0);
    const again = JSON.parse(await readFile(join(out, 'again.json'), 'utf8'));
    expect(again.results.map((r: { accuracy: number }) => r.accuracy)).toEqual(
      first.results.map((r: { accuracy: number }) => r.accuracy),
    );
    for (const row of again.results) expect(row.finetuneSeconds).toBeNull();
  }, 60_000);
});
