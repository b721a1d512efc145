/** RecordSpill when the disk fails it: never silent, one line naming the temporary file and what failed. */
import { describe, expect, it, vi } from 'vitest';
import { existsSync } from 'node:fs';
import type { AccessRecord } from '../../src/model/records.js';

/** Writes fail with ENOSPC while `full` is set (as on a full /tmp; a real full disk cannot be made without root). */
const disk = vi.hoisted(() => ({ full: false, writes: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
    disk.writes++;
    if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    return (fs.writeSync as (...a: unknown[]) => number)(...args);
  }) as typeof fs.writeSync;
  return { ...fs, default: { ...fs, writeSync }, writeSync };
});

const { RecordSpill, SpillError } = await import('../../src/analysis/record-spill.js');

function rec(i: number): AccessRecord {
  return { ref: { file: 'gen.log', line: i + 1 }, timeMs: 1000 - (i % 17), kind: 'tcp', attrs: {}, unknown: [], fields: { i } };
}

describe('record spill on a full disk', () => {
  it('a run that cannot be written throws from add, and seal and batches reject, with one line naming the file', async () => {
    disk.full = false;
    disk.writes = 0;
    const spill = new RecordSpill({ maxRecords: 100, runBatch: 10 });
    try {
      for (let i = 0; i < 250; i++) spill.add(rec(i));
      expect(spill.runCount).toBe(2);
      expect(disk.writes).toBeGreaterThan(0); // the mock is in the path
      disk.full = true;
      for (let i = 250; i < 299; i++) spill.add(rec(i));
      let thrown: unknown = null;
      try {
        spill.add(rec(299));
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(SpillError);
      const msg = (thrown as Error).message;
      expect(msg).toMatch(/^record spill: could not write \d+ bytes at offset 0 of \/.+\/meshsleuth-spill-[^/]+\/run-2\.bin: ENOSPC: no space left on device, write$/);
      expect(msg).not.toContain('\n');
      disk.full = false;
      expect(() => spill.add(rec(300))).toThrow(msg);
      await expect(spill.seal()).rejects.toThrow(msg);
      await expect(spill.batches().next()).rejects.toThrow(msg);
      const dir = spill.directory!;
      expect(existsSync(dir)).toBe(true);
      spill.close();
      expect(existsSync(dir)).toBe(false);
    } finally {
      disk.full = false;
      spill.close();
    }
  });

  it('a merge at seal that cannot be written rejects seal with one line naming the merged run', async () => {
    disk.full = false;
    const spill = new RecordSpill({ maxRecords: 20, runBatch: 5, fanIn: 2 });
    try {
      for (let i = 0; i < 100; i++) spill.add(rec(i));
      disk.full = true;
      const err = await spill.seal().then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(SpillError);
      expect(err!.message).toMatch(/^record spill: could not write \d+ bytes at offset 0 of \/.+\/run-5\.bin: ENOSPC: no space left on device, write$/);
    } finally {
      disk.full = false;
      spill.close();
    }
  });
});
