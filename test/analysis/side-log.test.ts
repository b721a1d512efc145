/**
 * SideLog (side-log.ts): fixed-width rows written once, read back front to back as many times as asked,
 * from a file or from memory; a file that cannot be made is one line naming it.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SideLog } from '../../src/analysis/side-log.js';
import { SpillError } from '../../src/analysis/record-spill.js';

function roundTrip(path: string | null, rows: number): void {
  const log = new SideLog(3, path);
  for (let i = 0; i < rows; i++) {
    log.set(0, i);
    log.set(1, -i - 1);
    if (i % 7 === 0) log.set(2, 2 ** 31 - 1);
    log.next();
  }
  log.seal();
  expect(log.count).toBe(rows);
  for (let pass = 0; pass < 2; pass++) {
    const r = log.reader();
    for (let i = 0; i < rows; i++) {
      const row = r.next();
      expect([row[0], row[1], row[2]]).toEqual([i, -i - 1, i % 7 === 0 ? 2 ** 31 - 1 : 0]);
    }
    expect(r.left).toBe(0);
    expect(() => r.next()).toThrow(/past its/);
    r.close();
  }
}

describe('SideLog', () => {
  it('gives back every row in order, twice, from a file (12 bytes a row) and from memory, across chunks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'side-log-test-'));
    try {
      for (const rows of [0, 1, 4095, 4096, 4097, 10_000]) {
        const path = join(dir, `rows-${rows}.bin`);
        roundTrip(path, rows);
        expect(statSync(path).size).toBe(rows * 12);
        roundTrip(null, rows);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which file it could not make', () => {
    const path = join(tmpdir(), 'no-such-dir-side-log-test', 'x.bin');
    expect(() => new SideLog(2, path)).toThrow(SpillError);
    expect(() => new SideLog(2, path)).toThrow(`could not create ${path}`);
  });
});
