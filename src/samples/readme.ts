/**
 * Refreshes the command output pasted in the bundles' README.md files:
 *   node dist/src/samples/readme.js [samples-dir] [--cli <main.js>]
 * A README marks a command with `<!-- meshsleuth: <args> -->` on its own line, followed by a fenced block; the
 * block is replaced by `$ meshsleuth <args>` and what the built CLI prints (stdout, then stderr), run from the
 * repository root. Everything else in the README is left as written.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const MARK = /^<!-- meshsleuth: (.*) -->$/;

export function splitArgs(s: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/** What one command printed; `ok` is false when it crashed (exit ≥ 2 other than a usage/input error, or a stack trace). */
export interface RunResult {
  text: string;
  ok: boolean;
}

/** Output that must never be pasted into a README. */
export const CRASH = /(^|\n)\s+at .+\(?(node:|file:)|SyntaxError|TypeError|ReferenceError|\[exit (?![01]\])\d+\]/;

export function refreshReadme(text: string, run: (args: string[]) => RunResult, failed: string[] = []): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    out.push(line);
    const m = MARK.exec(line.trim());
    if (!m) continue;
    const fence = lines[i + 1];
    if (!fence?.startsWith('```')) continue;
    let j = i + 2;
    while (j < lines.length && !lines[j]!.startsWith('```')) j++;
    const r = run(splitArgs(m[1]!));
    if (!r.ok) {
      failed.push(`meshsleuth ${m[1]}: ${r.text.split('\n').slice(0, 3).join(' | ')}`);
      continue; // keep the block as it was
    }
    out.push(fence, `$ meshsleuth ${m[1]}`, ...r.text.replace(/\n$/, '').split('\n'), '```');
    i = j;
  }
  return out.join('\n');
}

function main(): void {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const argv = process.argv.slice(2);
  const cliAt = argv.indexOf('--cli');
  const cli = cliAt >= 0 ? resolve(argv[cliAt + 1]!) : join(repo, 'dist', 'src', 'cli', 'main.js');
  const positional = cliAt >= 0 ? argv.filter((_, i) => i !== cliAt && i !== cliAt + 1) : argv;
  const dir = resolve(positional[0] ?? join(repo, 'samples'));
  const run = (args: string[]): RunResult => {
    const r = spawnSync(process.execPath, [cli, ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, COLUMNS: '200' } });
    const text = (r.stdout ?? '') + (r.stderr ? r.stderr : '') + (r.status ? `[exit ${r.status}]\n` : '');
    return { text, ok: (r.status === 0 || r.status === 1) && !CRASH.test(text) };
  };
  const failed: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const readme = join(dir, name, 'README.md');
    if (!statSync(join(dir, name)).isDirectory() || !existsSync(readme)) continue;
    const before = readFileSync(readme, 'utf8');
    const after = refreshReadme(before, run, failed);
    if (after !== before) writeFileSync(readme, after);
    process.stderr.write(`${after === before ? 'unchanged' : 'updated  '} ${readme}\n`);
  }
  for (const f of failed) process.stderr.write(`not refreshed (command failed): ${f}\n`);
  if (failed.length) process.exitCode = 1;
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] && resolve(process.argv[1]) === self) main();
