/** `--threads auto`: when workers are used for several inputs (src/cli/parallel.ts workerCount). */
import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { AUTO_MIN_BYTES, AUTO_MIN_CAPTURE_BYTES, workerCount } from '../../src/cli/parallel.js';

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
