/** `--threads auto`: when workers are used for several inputs (src/cli/parallel.ts workerCount). */
import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { AUTO_MIN_BYTES, AUTO_MIN_CAPTURE_BYTES, REPORT_CAPTURE_WORKER_MIN_BYTES, TaskStream, pipelineCapture, pipelineMinBytes, reportCaptureWorkers, workerCount, type TaskMessage } from '../../src/cli/parallel.js';

const MB = 1024 * 1024;
const cores = availableParallelism();

describe('workerCount under auto', () => {
  it('keeps small inputs, and a single task, in-thread', () => {
    expect(workerCount('auto', 4, AUTO_MIN_BYTES - 1)).toBe(0);
    expect(workerCount('auto', 1, 1000 * MB)).toBe(0);
  });

  it('keeps several capture files of ~50 MB in-thread (workers measured slower there), and uses every core for files averaging 128 MB or more', () => {
    expect(workerCount('auto', 4, 4 * 50 * MB, AUTO_MIN_CAPTURE_BYTES)).toBe(0);
    expect(workerCount('auto', 4, 4 * 200 * MB, AUTO_MIN_CAPTURE_BYTES)).toBe(cores >= 2 ? Math.min(cores, 4) : 0);
    // log byte ranges keep the total-size rule
    expect(workerCount('auto', 4, 4 * 50 * MB)).toBe(cores >= 2 ? Math.min(cores, 4) : 0);
  });

  it('an explicit --threads N uses up to N workers whatever the size; 1 is in-thread', () => {
    expect(workerCount(2, 4, 1, AUTO_MIN_CAPTURE_BYTES)).toBe(2);
    expect(workerCount(1, 4, 1000 * MB, AUTO_MIN_CAPTURE_BYTES)).toBe(0);
  });
});

describe('reportCaptureWorkers (report reads its captures in workers while this thread reads the logs)', () => {
  it('under auto, one capture of 32 MB or more gets a worker (on two cores or more); smaller ones and --threads 1 stay in-thread', () => {
    expect(reportCaptureWorkers('auto', 1, 1000 * MB)).toBe(cores >= 2 ? 1 : 0);
    expect(reportCaptureWorkers('auto', 1, REPORT_CAPTURE_WORKER_MIN_BYTES - 1)).toBe(0);
    expect(reportCaptureWorkers(1, 1, 1000 * MB)).toBe(0);
    expect(reportCaptureWorkers(2, 1, 1)).toBe(1);
    expect(reportCaptureWorkers('auto', 4, 4 * 50 * MB)).toBe(workerCount('auto', 4, 4 * 50 * MB));
  });
});

describe('flows: one capture in the two-thread pipeline (pipelineCapture)', () => {
  it('under auto, from 512 MiB on two cores (measured slower below) and from 32 MiB with more cores', () => {
    expect(pipelineMinBytes(2)).toBe(512 * MB);
    expect(pipelineMinBytes(4)).toBe(32 * MB);
    expect(pipelineCapture('auto', pipelineMinBytes() - 1)).toBe(false);
    expect(pipelineCapture('auto', pipelineMinBytes())).toBe(cores >= 2);
    expect(pipelineCapture('auto', null)).toBe(false);
  });

  it('an explicit --threads 2 pipelines any size, --threads 1 none', () => {
    expect(pipelineCapture(2, 1)).toBe(true);
    expect(pipelineCapture(1, 1000 * MB)).toBe(false);
  });
});

describe('TaskStream: messages sent without credit (progress)', () => {
  it('a run of them not yet consumed keeps only the latest; only credited messages return credit', async () => {
    const posted: unknown[] = [];
    const s = new TaskStream(3);
    s.worker = { postMessage: (m: unknown) => posted.push(m) } as unknown as Worker;
    const progress = (n: number): TaskMessage => ({ t: 'progress', n }) as TaskMessage;
    s.push(progress(1), true);
    s.push(progress(2), true);
    s.push({ t: 'flows' });
    s.push(progress(3), true);
    s.push({ t: 'diag' }, true);
    s.push(progress(4), true);
    for (let i = 0; i < 7; i++) s.push({ t: 'x' });
    s.push(progress(5), true);
    s.push({ t: 'done' });
    const got: unknown[] = [];
    for await (const m of s) got.push(m);
    expect(got).toEqual([progress(2), { t: 'flows' }, progress(3), { t: 'diag' }, progress(4), ...Array.from({ length: 7 }, () => ({ t: 'x' })), progress(5)]);
    // 8 credited messages consumed: one credit of 8, none for the free ones
    expect(posted).toEqual([{ type: 'credit', id: 3, n: 8 }]);
  });
});
