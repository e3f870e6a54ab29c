import { spawn } from 'node:child_process';

/**
 * How to start a script in a child Node process: under tsx with the "source" condition when it is
 * TypeScript (running from source, as the tests do), plain node when it is a built file.
 */
export function nodeCommand(script: string): string[] {
  return script.endsWith('.ts') ? ['--conditions=source', '--import', 'tsx', script] : [script];
}

export interface ChildOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node …args` to its end, collecting what it prints; `onLine` sees the last line of each output chunk. */
export function runNode(args: readonly string[], onLine?: (line: string) => void): Promise<ChildOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      onLine?.(String(chunk).trim().split('\n').at(-1) ?? '');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
