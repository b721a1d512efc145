/**
 * Rules every command obeys, applied once by the CLI shell (main.ts) to every command module, so a
 * command added later follows them without doing anything:
 *
 * - **A repeated option: the last one wins** (DESIGN.md), unless the option is declared repeatable
 *   (`array: true`, or `coerce: asList`): `-o json -o table` is `-o table`, `--port 1 --port 2` is
 *   `--port 2`. yargs itself would hand the command an array, which a command comparing `output === 'json'`
 *   silently treats as neither (printing nothing) or crashes on.
 * - **A value option needs its value**: `-o` at the end of the line, or followed by another option, is a
 *   usage error (exit 2) rather than an empty string the command may read as "not given".
 * - **A number option gets a number**: `--limit ten` is a usage error, not NaN handed to the command.
 * - **An unknown option gets a "did you mean"**: the command's options are remembered here for the message.
 */
import type { Argv, CommandModule, Options } from 'yargs';
import { isRepeatable, UsageError } from './common.js';
import { closest } from './suggest.js';

type AnyArgs = Record<string, unknown>;

/**
 * Collapses arrays yargs built from a repeated single-value option to their last element. Runs after the
 * command's own coercions (so `asList` results, which are marked repeatable, are kept) and before
 * validation (so `choices` see the value the command will use).
 */
export function lastOptionWins(argv: AnyArgs, declaredArrays: ReadonlySet<string>): AnyArgs {
  for (const key of Object.keys(argv)) {
    if (key === '_' || key === '$0') continue;
    const v = argv[key];
    if (!Array.isArray(v) || declaredArrays.has(key) || isRepeatable(v)) continue;
    if (v.length > 0) argv[key] = v[v.length - 1];
  }
  return argv;
}

/** What yargs' (untyped) `getOptions()` returns, as far as the shell reads it. */
interface ParserHints {
  array?: string[];
  string?: string[];
  number?: string[];
  alias?: Record<string, string[]>;
}

function hints(y: Argv<AnyArgs>): ParserHints {
  return (y as unknown as { getOptions(): ParserHints }).getOptions();
}

/** Number options whose value did not parse (yargs leaves NaN): a usage error naming the option. */
export function rejectNaN(argv: AnyArgs, numberKeys: readonly string[]): void {
  for (const key of numberKeys) {
    const v = argv[key];
    const vs = Array.isArray(v) ? v : [v];
    if (vs.some((x) => typeof x === 'number' && Number.isNaN(x))) throw new UsageError(`${key.length === 1 ? '-' : '--'}${key}: expected a number`);
  }
}

/** The declared array options and positionals of the parser, with their aliases. */
function arrayKeys(y: Argv<AnyArgs>): Set<string> {
  const o = hints(y);
  const keys = new Set(o.array ?? []);
  for (const k of [...keys]) for (const a of o.alias?.[k] ?? []) keys.add(a);
  for (const [k, aliases] of Object.entries(o.alias ?? {})) if (aliases.some((a) => keys.has(a))) keys.add(k);
  return keys;
}

/** String and number options of the parser (value options), minus the array ones. */
function valueOptionKeys(y: Argv<AnyArgs>): string[] {
  const o = hints(y);
  const arrays = new Set(o.array ?? []);
  return [...new Set([...(o.string ?? []), ...(o.number ?? [])])].filter((k) => !arrays.has(k));
}

/** Variadic positionals of a command string (`report <evidence..>`, `flows [captures...]`): arrays by declaration. */
export function variadicPositionals(command: string | readonly string[] | undefined): string[] {
  const cmds = command === undefined ? [] : typeof command === 'string' ? [command] : command;
  return cmds.flatMap((c) => [...c.matchAll(/[<[]([^\]>]+?)\.\.\.?[\]>]/g)].flatMap((m) => m[1]!.split('|').map((n) => n.trim())));
}

/** The options (and aliases) of the command being parsed, for "did you mean" on an unknown one. */
let knownOptions: string[] = [];

/**
 * yargs' "Unknown argument(s): secrity" with a suggestion per unknown option from the command's own options:
 * `Unknown argument: --secrity (did you mean --security?)`.
 */
export function withSuggestions(msg: string, argv: readonly string[]): string {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return msg;
  const flag = (n: string): string => (n.length === 1 ? `-${n}` : `--${n}`);
  const given = (n: string): boolean => argv.some((a) => a === flag(n) || a.startsWith(`${flag(n)}=`) || (n.length === 1 && /^-[^-]/.test(a) && a.includes(n)));
  const unknown = m[1]!.split(', ').map((u) => u.replace(/^-+/, ''));
  const options = unknown.filter(given);
  const extra = unknown.filter((u) => !given(u));
  const parts = options.map((name) => {
    const hit = closest(name, knownOptions.filter((k) => k.length > 1 || name.length === 1));
    return `${flag(name)}${hit ? ` (did you mean ${flag(hit)}?)` : ''}`;
  });
  const out: string[] = [];
  if (parts.length) out.push(`unknown option${parts.length > 1 ? 's' : ''}: ${parts.join(', ')}`);
  if (extra.length) out.push(`unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.join(', ')}`);
  return out.join('; ');
}

/** The command with the shell's rules added after its own builder. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- yargs command modules have heterogeneous argument types
export function withShellRules(c: CommandModule<any, any>, after?: (y: Argv<AnyArgs>) => Argv<AnyArgs>): CommandModule<any, any> {
  const own = c.builder;
  return {
    ...c,
    builder: (y0: Argv<AnyArgs>) => {
      let y: Argv<AnyArgs> = y0;
      if (typeof own === 'function') y = ((own as (a: Argv<AnyArgs>) => Argv<AnyArgs> | void)(y0) ?? y0) as Argv<AnyArgs>;
      else if (own) y = y0.options(own as Record<string, Options>) as Argv<AnyArgs>;
      if (after) y = after(y);
      // `-o wide` wherever there is a table: every column, uncut (cli/run.ts); a command without columns of
      // its own for wide reads it as `table`
      const outChoices = (hints(y) as { choices?: Record<string, unknown[]> }).choices?.output;
      const addWide = outChoices !== undefined && outChoices.includes('table') && !outChoices.includes('wide');
      if (addWide) y = y.choices('output', ['wide']);
      const values = valueOptionKeys(y);
      if (values.length) y = y.requiresArg(values);
      const parser = y;
      knownOptions = Object.keys((hints(y) as { key?: Record<string, unknown> }).key ?? {}).filter((k) => !k.includes('-') || !/[A-Z]/.test(k));
      const variadic = variadicPositionals(c.command);
      return y
        .middleware((argv) => {
          lastOptionWins(argv as AnyArgs, new Set([...arrayKeys(parser), ...variadic]));
          rejectNaN(argv as AnyArgs, hints(parser).number ?? []);
        }, true)
        .middleware((argv) => {
          if (addWide && argv.output === 'wide') argv.output = argv.o = 'table';
        });
    },
  };
}
