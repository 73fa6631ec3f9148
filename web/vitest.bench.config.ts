import { defineConfig } from 'vitest/config';

// `npm run bench:browser`: timings printed, never asserted.
export default defineConfig({
  test: {
    include: ['tests/bench/**/*.ts'],
    environment: 'node',
    testTimeout: 1_800_000,
    hookTimeout: 300_000,
    reporters: ['verbose'],
  },
});
