/**
 * Skipped tests print their reason: the run's output lists every skipped test and suite by name (names
 * carry the reason), and every skip in test/ has a reason in its name.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './helpers/cli.js';

describe('skipped tests print their reason in the test run output', () => {
  it('lists each skipped test and suite (a skipped suite once) before vitest\'s unchanged summary', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/fixtures/skip-reporter/vitest.config.fixture.ts'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toContain('Skipped (4):');
    for (const name of [
      'a suite that runs > an always-skipped test (needs a reason in its name)',
      'a suite that runs > a conditionally skipped test (needs /nonexistent/tool)',
      'a suite that runs > a todo test (not written yet)',
      'a skipped suite (needs ../nowhere)',
    ]) expect(out).toContain(name);
    expect(out).not.toContain('is not listed on its own');
    // vitest's summary comes after the list, as vitest writes it.
    expect(out.indexOf('Skipped (4):')).toBeLessThan(out.indexOf('Test Files'));
    expect(out).toMatch(/\n\s+Tests\s+1 passed \| 3 skipped \| 1 todo \(5\)\n/);
  });
});

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? testFiles(p) : /\.test\.ts$/.test(n) ? [p] : [];
  });
}

describe('every skip in test/ has its reason in its name', () => {
  it('each it/test/describe .skip or .skipIf names what it needs ("(needs …)" or "skipped: …")', () => {
    const missing: string[] = [];
    for (const file of testFiles(join(REPO, 'test'))) {
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/\b(?:it|test|describe)\.(?:skip|skipIf\([^\n]*?\))\(\s*(['"`])((?:\\.|(?!\1).)*)\1/g)) {
        if (!/\(needs [^)]+\)|skipped: /.test(m[2]!)) missing.push(`${file.slice(REPO.length)}: ${m[2]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
