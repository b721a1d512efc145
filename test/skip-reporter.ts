/**
 * Vitest's default reporter, plus one thing it hides: the name of every skipped test and suite, listed
 * at the end of the run. Every skip in test/ carries its reason in its name ("… (needs ../shared)",
 * "… (needs /usr/bin/tshark)"), so the list says what did not run and why. Printed before vitest's own
 * summary, whose last lines (Test Files / Tests / …) stay exactly as vitest writes them (CI reads them).
 */
import { DefaultReporter } from 'vitest/reporters';
import type { RunnerTask, RunnerTestFile } from 'vitest';

type Task = RunnerTask;

function isSkipped(t: Task): boolean {
  return t.mode === 'skip' || t.mode === 'todo' || t.result?.state === 'skip' || t.result?.state === 'todo';
}

/** Skipped tasks, outermost only: a skipped suite is listed once, not with each test inside it. */
export function skippedTasks(files: readonly Task[]): Task[] {
  const out: Task[] = [];
  const visit = (t: Task): void => {
    if (t.type !== 'suite' || t.file !== (t as unknown as RunnerTestFile)) {
      if (isSkipped(t)) {
        out.push(t);
        return;
      }
    }
    if ('tasks' in t) for (const c of t.tasks) visit(c);
  };
  for (const f of files) visit(f);
  return out;
}

export default class SkipReasonReporter extends DefaultReporter {
  override reportTestSummary(files: RunnerTestFile[], errors: unknown[]): void {
    const skipped = skippedTasks(files);
    const filtered = this.ctx.config.testNamePattern !== undefined;
    if (skipped.length > 0) {
      this.log('');
      if (filtered) this.log(`Skipped: ${skipped.length} (filtered out by the test name pattern)`);
      else {
        this.log(`Skipped (${skipped.length}):`);
        for (const t of skipped) this.log(`  ↓ ${this.getFullName(t, ' > ')}`);
      }
    }
    super.reportTestSummary(files, errors);
  }
}
