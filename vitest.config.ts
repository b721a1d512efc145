import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take longest (CPU seconds per file, measured alone on the 2-core CI machine; most spawn the
 * built CLI on large generated inputs), started first so that no long file starts last and runs alone.
 * From a clean clone vitest has no durations cached and would run files in the order it found them.
 */
const SLOW_FIRST = [
  'test/cli/report-memory-2m.test.ts',
  'test/hostile/capture-memory.test.ts',
  'test/hostile/spread.test.ts',
  'test/hostile/compile-memory.test.ts',
  'test/cli/explain-json-memory.test.ts',
  'test/hostile/explain-memory.test.ts',
  'test/cli/threads.test.ts',
  'test/cli/bad-input.test.ts',
  'test/cli/tty-width.test.ts',
  'test/hostile/als-collector.test.ts',
  'test/report/samples.test.ts',
  'test/cli/capture-pipeline.test.ts',
  'test/cli/conventions.test.ts',
  'test/cli/compile-golden.test.ts',
];

class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOW_FIRST.indexOf(relative(f.project.config.root, f.moduleId));
      return i < 0 ? SLOW_FIRST.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest's default is one worker fewer than the CPUs: on the 2-core CI machine, one file at a time, which
    // leaves a core idle while a test waits for the CLI it spawned. Two files at once use both.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: SlowFirst },
    globalSetup: ['test/global-setup.ts'],
    // The default reporter, plus the names (and so the reasons) of skipped tests at the end of the run.
    reporters: ['./test/skip-reporter.ts'],
  },
});
