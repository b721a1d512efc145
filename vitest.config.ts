import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // The default reporter, plus the names (and so the reasons) of skipped tests at the end of the run.
    reporters: ['./test/skip-reporter.ts'],
  },
});
