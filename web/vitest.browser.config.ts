import { defineConfig } from 'vitest/config';

// Browser tests: Node drives Debian's Chromium (playwright-core, no browser
// download) against a real `molbatch serve` that serves the built app.
export default defineConfig({
  test: {
    include: ['tests/browser/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ['verbose'],
  },
});
