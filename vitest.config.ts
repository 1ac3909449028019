import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'tools/**/*.test.ts'],
    // Integration tests start real nats-server and ffmpeg processes; on 2 cores, running every
    // file at once starves the live sources and makes latency assertions flaky.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
