import { defineConfig } from 'vitest/config';

// Each test starts the real server and real clients: give them time, and run files one at a time.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 60_000, fileParallelism: false },
});
