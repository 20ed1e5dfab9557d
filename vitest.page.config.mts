// The browser tests of the demo page: Node code (wrangler dev + Chromium), so they run outside workerd, apart
// from vitest.config.mts. `npm test` runs both.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/page/**/*.test.ts'],
    environment: 'node',
    // Each file starts its own local stack (two wrangler dev Workers): one at a time on a 2-core machine.
    fileParallelism: false,
    testTimeout: 60_000,
    // Starting the stack (two wrangler dev Workers) dominates; the hooks carry their own timeouts too.
    hookTimeout: 150_000,
  },
});
