/**
 * Running one command: yargs and the named command's module only (main.ts answers `--version`, `--help` and
 * completion without coming here). Global options every command takes: `-q/--quiet`, `-v/--verbose`,
 * `-h/--help`, `--version`.
 */
import { withShellRules, withSuggestions } from './shell.js';
import { VERSION } from '../version.js';
import { EXIT_USAGE, fatal, setProseWidth, setShowSecrets, setVerbosity } from './common.js';
import type { CommandEntry } from './commands/index.js';
import { EXIT_CODES } from './fast.js';
import { setProgressQuiet } from './progress.js';
import { setTableStyle, type TableStyle } from '../report/table.js';
import { loadYargs, skipHelpCache } from './yargs-lean.js';

/**
 * Tables on a terminal fit its width (narrow by default, `-o wide` for every column uncut) and colour
 * severities and verdicts unless NO_COLOR is set; piped output is the plain full table.
 */
export function terminalTableStyle(wide: boolean, out: { isTTY?: boolean; columns?: number } = process.stdout, env: NodeJS.ProcessEnv = process.env): TableStyle {
  const tty = out.isTTY === true;
  return { width: tty && !wide && out.columns ? out.columns : null, color: tty && !env.NO_COLOR };
}

/**
 * yargs drops a bare `-` (standard input) from positional arguments. The shell carries it through the
 * parser as this token and a middleware turns it back into `-` before any command sees its arguments.
 */
const STDIN_TOKEN = '\u0000stdin';

function restoreStdin(value: unknown): unknown {
  if (value === STDIN_TOKEN) return '-';
  return Array.isArray(value) ? value.map(restoreStdin) : value;
}

/** The yargs parser for one command, with the global options and the shell's rules. */
export async function parserFor(entry: CommandEntry, argv: string[]) {
  const [mod, { yargs }] = await Promise.all([entry.load(), loadYargs(argv)]);
  return yargs(argv.map((a) => (a === '-' ? STDIN_TOKEN : a)))
    .scriptName('meshsleuth')
    .usage('$0 <command> [options]')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .option('quiet', { alias: 'q', type: 'boolean', global: true, describe: 'only the error that ends the command on stderr (no warnings, notes or progress)' })
    .option('verbose', { alias: 'v', type: 'boolean', global: true, describe: 'also print what was read and how long it took on stderr' })
    .middleware((args) => {
      for (const k of Object.keys(args)) args[k] = restoreStdin(args[k]);
    }, true)
    .middleware((args) => {
      setShowSecrets(args['show-secrets'] === true);
      setVerbosity(args.quiet === true ? 'quiet' : args.verbose === true ? 'verbose' : 'normal');
      setProgressQuiet(args.quiet === true);
      const style = terminalTableStyle(args.output === 'wide');
      setTableStyle(style);
      // prose wraps only in people's formats (never JSON/NDJSON/YAML, nor collect's NDJSON stream)
      // (report's -o has no default: without -o and --out it prints its table)
      const people = args.output === 'table' || args.output === 'text' || (entry.name === 'report' && args.output === undefined && args.out === undefined);
      setProseWidth(people ? style.width : null);
    })
    .command(withShellRules({ ...mod, command: entry.command, describe: entry.describe }, (y) => y.epilogue(EXIT_CODES)))
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      fatal(`${withSuggestions(msg, argv)}\nRun 'meshsleuth help ${entry.name}' for its options.`);
      process.exit(EXIT_USAGE);
    })
    .help()
    .alias('help', 'h');
}

export async function run(entry: CommandEntry, argv: string[]): Promise<void> {
  const y = await parserFor(entry, argv);
  skipHelpCache(y);
  await y.parseAsync();
}
