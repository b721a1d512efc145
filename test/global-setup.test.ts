/** The suite's setup skips the build only when dist/ is newer than every source and the build configuration. */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { distUpToDate } from './global-setup.js';

function tree(): { root: string; at: (rel: string, sec: number) => void } {
  const root = mkdtempSync(join(tmpdir(), 'meshsleuth-setup-')) + '/';
  const at = (rel: string, sec: number): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), '');
    utimesSync(join(root, rel), sec, sec);
  };
  at('tsconfig.json', 100);
  at('scripts/postbuild.mjs', 100);
  at('src/cli/main.ts', 100);
  at('src/a/b.ts', 100);
  at('src/types.d.ts', 500); // declarations emit nothing
  at('bench/run.ts', 100);
  at('dist/src/cli/main.js', 200);
  at('dist/src/a/b.js', 200);
  at('dist/bench/run.js', 200);
  at('dist/src/cli/cli-spec.json', 201);
  return { root, at };
}

describe('global setup: build dist/ unless it is up to date', () => {
  it('is up to date when every output is newer than every input', () => {
    const { root } = tree();
    expect(distUpToDate(root)).toBe(true);
    rmSync(root, { recursive: true });
  });

  it('is stale when a source, tsconfig.json or postbuild changed after the oldest output', () => {
    for (const changed of ['src/a/b.ts', 'bench/run.ts', 'tsconfig.json', 'scripts/postbuild.mjs']) {
      const { root, at } = tree();
      at(changed, 300);
      expect(distUpToDate(root), changed).toBe(false);
      rmSync(root, { recursive: true });
    }
  });

  it('is stale when a source has no output, when the option spec is missing or older, or when there is no source', () => {
    let t = tree();
    t.at('src/new.ts', 50);
    expect(distUpToDate(t.root)).toBe(false);
    t = tree();
    rmSync(join(t.root, 'dist/src/cli/cli-spec.json'));
    expect(distUpToDate(t.root)).toBe(false);
    t = tree();
    t.at('dist/src/cli/cli-spec.json', 150);
    expect(distUpToDate(t.root)).toBe(false);
    const empty = mkdtempSync(join(tmpdir(), 'meshsleuth-setup-')) + '/';
    expect(distUpToDate(empty)).toBe(false);
  });
});
