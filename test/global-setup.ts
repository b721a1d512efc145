/**
 * Builds dist/ once before the suite so CLI tests run the real binary.
 * Under CI a type error fails the run; locally tsc still emits, so work in progress elsewhere in the
 * tree does not block running one area's tests (the errors are printed).
 * The build is skipped when dist/ is already newer than every source and the build configuration (as
 * after `npm ci`, whose `prepare` step has just built it): tsc rewrites every output file on each build,
 * so the oldest output is as old as the last build.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Modification time in ms, or undefined when the file is absent. */
function mtime(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The .ts files (not .d.ts) under `dir`, relative to `root`. */
function sources(root: string, dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(join(root, dir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const rel = join(dir, e.name);
    if (e.isDirectory()) return sources(root, rel);
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [rel] : [];
  });
}

/** True when every source (tsconfig.json's include: src/, bench/) has its .js in dist/, all written after the newest input. */
export function distUpToDate(root: string): boolean {
  const inputs = [...sources(root, 'src'), ...sources(root, 'bench')];
  let newestInput = Math.max(...['tsconfig.json', 'scripts/postbuild.mjs'].map((f) => mtime(join(root, f)) ?? Infinity));
  let oldestOutput = Infinity;
  for (const rel of inputs) {
    newestInput = Math.max(newestInput, mtime(join(root, rel)) ?? Infinity);
    oldestOutput = Math.min(oldestOutput, mtime(join(root, 'dist', rel.replace(/\.ts$/, '.js'))) ?? -Infinity);
  }
  const spec = mtime(join(root, 'dist/src/cli/cli-spec.json')) ?? -Infinity; // written by postbuild, after tsc
  return inputs.length > 0 && newestInput <= oldestOutput && spec >= oldestOutput;
}

export default function setup(): void {
  const root = fileURLToPath(new URL('../', import.meta.url));
  if (distUpToDate(root)) return;
  try {
    execFileSync(process.execPath, [root + 'node_modules/typescript/bin/tsc', '-p', root + 'tsconfig.json'], { stdio: 'inherit' });
  } catch (err) {
    if (process.env.CI) throw new Error('TypeScript build failed (see errors above)');
    process.stderr.write('global-setup: tsc reported errors; continuing with what it emitted (CI would fail)\n');
  }
  // chmod the bin and write the completion spec (src/cli/spec.ts), as `npm run build` does
  execFileSync(process.execPath, [root + 'scripts/postbuild.mjs'], { stdio: 'inherit' });
}
