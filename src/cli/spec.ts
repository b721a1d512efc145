/**
 * The options of every command as data, for shell completion: which options exist, which take a value and
 * the values of enumerated ones (`choices`, or an `asListOf` coercion). Built by loading every command module
 * into yargs (slow: it imports the whole tool), so it is built once after compiling (`npm run build` and the
 * test setup write `cli-spec.json` next to this file) and read by completion without loading yargs. A spec
 * older than the compiled CLI is rebuilt in memory instead (slow but right).
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commands } from './commands/index.js';

export interface OptionSpec {
  /** `--output`, `-o`, ... */
  names: string[];
  /** A value follows the option (string/number options). */
  takesValue: boolean;
  /** The values it accepts, when enumerated. */
  values?: string[];
  /** Values may be listed with commas (`--fail-on a,b`). */
  list?: boolean;
}

export interface CommandSpec {
  name: string;
  options: OptionSpec[];
}

export interface CliSpec {
  /** The compiled CLI files this spec was built from (name and size), to notice a stale spec. */
  stamp: string;
  commands: CommandSpec[];
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const SPEC_FILE = join(HERE, 'cli-spec.json');

/** Options every command takes (cli/run.ts). */
export const GLOBAL_OPTIONS: OptionSpec[] = [
  { names: ['--help', '-h'], takesValue: false },
  { names: ['--quiet', '-q'], takesValue: false },
  { names: ['--verbose', '-v'], takesValue: false },
  { names: ['--version'], takesValue: false },
];

/** Names and sizes of the compiled CLI modules (this directory and commands/), cheap to compute. */
export function cliStamp(): string {
  const parts: string[] = [];
  for (const dir of [HERE, join(HERE, 'commands')]) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) {
      if (!n.endsWith('.js') && !n.endsWith('.ts')) continue;
      if (n.endsWith('.d.ts')) continue;
      // sizes, not mtimes: `npm pack` and `npm install` reset every mtime, and a spec must survive them
      parts.push(`${n}:${statSync(join(dir, n)).size}`);
    }
  }
  return parts.join(',');
}

interface ParserOptions {
  key?: Record<string, unknown>;
  alias?: Record<string, string[]>;
  boolean?: string[];
  choices?: Record<string, unknown[]>;
  coerce?: Record<string, unknown>;
  hiddenOptions?: string[];
}

/** Loads every command into yargs and reads back its options (slow: imports every command module). */
export async function buildSpec(): Promise<CliSpec> {
  const yargs = (await import('yargs')).default;
  const { withShellRules } = await import('./shell.js');
  const out: CommandSpec[] = [];
  for (const c of commands) {
    const mod = await c.load();
    const y0 = yargs([]);
    // yargs keeps coercions as middleware, so the enumerated values of `asListOf`/`suggestValues` options are
    // recorded as the builder declares them.
    const hinted = new Map<string, { values: readonly string[]; list?: boolean }>();
    const declare = y0.option.bind(y0);
    const record = ((key: string, opt?: { coerce?: { values?: readonly string[]; list?: boolean } }) => {
      const c = opt?.coerce;
      if (c?.values) hinted.set(key, { values: c.values, list: c.list });
      return declare(key, opt as never);
    }) as typeof y0.option;
    y0.option = record;
    y0.options = record;
    const positionals = new Set([...c.command.matchAll(/[<[]([^\]>.]+)/g)].map((m) => m[1]!));
    const builder = withShellRules({ ...mod, command: c.command }).builder as (y: typeof y0) => typeof y0;
    const y = builder(y0) ?? y0;
    const o = (y as unknown as { getOptions(): ParserOptions }).getOptions();
    const aliasOf = new Set(Object.values(o.alias ?? {}).flat());
    const options: OptionSpec[] = [];
    for (const key of Object.keys(o.key ?? {})) {
      if (aliasOf.has(key) || positionals.has(key) || key === 'help' || key === 'version' || (o.hiddenOptions ?? []).includes(key)) continue;
      const names = [key, ...(o.alias?.[key] ?? [])].filter((n) => !/[A-Z]/.test(n)).map((n) => (n.length === 1 ? `-${n}` : `--${n}`));
      const coerce = hinted.get(key);
      const values = (o.choices?.[key] as string[] | undefined) ?? (coerce?.values ? [...coerce.values] : undefined);
      options.push({ names, takesValue: !(o.boolean ?? []).includes(key), ...(values ? { values: values.map(String) } : {}), ...(coerce?.list ? { list: true } : {}) });
    }
    out.push({ name: c.name, options: [...options, ...GLOBAL_OPTIONS] });
  }
  return { stamp: cliStamp(), commands: out };
}

/** The spec written after a build; null when absent or older than the compiled CLI. */
export function readSpec(): CliSpec | null {
  try {
    const spec = JSON.parse(readFileSync(SPEC_FILE, 'utf8')) as CliSpec;
    return spec.stamp === cliStamp() ? spec : null;
  } catch {
    return null;
  }
}

/** Writes `cli-spec.json` (after `tsc`: scripts/postbuild.mjs and the test setup). */
export async function writeSpec(): Promise<void> {
  writeFileSync(SPEC_FILE, JSON.stringify(await buildSpec()) + '\n');
}
