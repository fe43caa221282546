import { defineConfig } from 'vitest/config';

// The QEMU lab tier (scripts/test.mjs `lab`): one QEMU guest at a time on a 2-core machine, TCG boots
// take 10–25 s each. Run one case: LAB_CASE=bios-proxy npx vitest run --config test/lab/vitest.config.ts
export default defineConfig({
  test: {
    include: ['test/lab/**/*.test.ts'],
    testTimeout: 240_000,
    hookTimeout: 300_000,
    maxWorkers: 1,
    fileParallelism: false,
    pool: 'forks',
  },
});
