/**
 * `report` keeps access records past a budget in sorted runs on disk (record-spill.ts) and reads them back
 * in passes (report-stream.ts): the CLI's report is the same whether the records stayed in memory or went
 * through runs of 5, and a temporary directory it cannot use is one line naming it, exit 2.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const strip = (text: string): unknown => {
  const m = JSON.parse(text) as { manifest: { generatedAt: string } };
  m.manifest.generatedAt = '';
  return m;
};

describe('report spill', () => {
  it('writes the same report when the records go through runs of 5 on disk, and leaves no temporary files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-spill-cli-'));
    const tmp = join(dir, 'tmp');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(tmp);
    try {
      const a = await runCli(['report', 'samples/bank-breach', '--out', join(dir, 'a.json')]);
      const b = await runCli(['report', 'samples/bank-breach', '--out', join(dir, 'b.json')], { env: { MESHSLEUTH_SPILL_RECORDS: '5', TMPDIR: tmp } });
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      expect(strip(readFileSync(join(dir, 'b.json'), 'utf8'))).toEqual(strip(readFileSync(join(dir, 'a.json'), 'utf8')));
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('says which temporary directory it could not use, exit 2', async () => {
    const r = await runCli(['report', 'samples/bank-breach', '-o', 'json'], { env: { MESHSLEUTH_SPILL_RECORDS: '5', TMPDIR: '/nonexistent-meshsleuth-tmp' } });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => l.includes('spill'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/could not make a temporary directory in \/nonexistent-meshsleuth-tmp.*TMPDIR/);
  }, 120_000);

  it('refuses a budget that is not a positive whole number', async () => {
    const r = await runCli(['report', 'samples/bank-breach', '-o', 'json'], { env: { MESHSLEUTH_SPILL_RECORDS: '0' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/MESHSLEUTH_SPILL_RECORDS=0: expected a positive whole number/);
  }, 60_000);
});
