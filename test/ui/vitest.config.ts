import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/ui/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Chromium + a session on a shared 2-core machine: one file at a time.
    maxWorkers: 1,
    pool: 'forks',
  },
});
