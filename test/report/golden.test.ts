/**
 * Golden files for `meshsleuth report` over test/report/fixtures/incident (JSON, table, SARIF).
 * The report is reproducible: SOURCE_DATE_EPOCH fixes the generation time.
 * Update after an intended change:  UPDATE_GOLDEN=1 npx vitest run test/report/golden.test.ts
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, runCli } from '../helpers/cli.js';

const FIXTURE = 'test/report/fixtures/incident';
const GOLDEN = join(REPO, 'test/report/golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const ENV = { SOURCE_DATE_EPOCH: '1772359200' };

function check(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (UPDATE || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('report golden files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-golden-'));

  it('JSON (-o report.json) is stable', async () => {
    const out = join(dir, 'r.json');
    const r = await runCli(['report', FIXTURE, '--out', out], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    const again = await runCli(['report', FIXTURE, '-o', 'json'], { env: ENV });
    expect(again.stdout).toBe(text);
    check('incident.report.json', text);
  });

  it('table (default) is stable', async () => {
    const r = await runCli(['report', FIXTURE], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    check('incident.table.txt', r.stdout);
  });

  it('SARIF (-o report.sarif) is stable', async () => {
    const out = join(dir, 'r.sarif');
    const r = await runCli(['report', FIXTURE, '--out', out], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    check('incident.sarif', readFileSync(out, 'utf8'));
  });
});
