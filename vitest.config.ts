import { defineConfig } from 'vitest/config';

/**
 * Test projects. `unit` and `contract` run on the sources; `e2e` and `packaging` need the build
 * (`npm test` builds first). Each project's files live in tests/<project>/. `full-size` is opt-in
 * (`npm run test:full-size`): its ≈600 MB fixtures are made by Python dev tools, never in CI.
 */
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], testTimeout: 30_000 } },
      { test: { name: 'contract', include: ['tests/contract/**/*.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      { test: { name: 'full-size', include: ['tests/full-size/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000 } },
      {
        test: {
          name: 'packaging',
          include: ['tests/packaging/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
