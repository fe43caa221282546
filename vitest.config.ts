import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/lab/**', 'test/ui/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Namespace and socket tests are heavy on a 2-core machine; keep workers bounded.
    maxWorkers: 2,
    pool: 'forks',
  },
});
