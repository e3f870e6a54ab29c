import { defineConfig } from 'vitest/config';

// Tests run against each package's TypeScript sources (the "source" export condition),
// so `npm test` needs no build step.
export const conditions = ['source', 'import', 'module', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: { include: ['src/**/*.test.ts', 'test/**/*.test.ts'], testTimeout: 60_000 },
});
