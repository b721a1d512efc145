#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { commands } from './commands/index.js';
import { withShellRules } from './shell.js';
import { VERSION } from '../version.js';
import { setShowSecrets } from './common.js';

/**
 * yargs drops a bare `-` (standard input) from positional arguments. The shell carries it through the
 * parser as this token and a middleware turns it back into `-` before any command sees its arguments.
 */
const STDIN_TOKEN = '\u0000stdin';

function restoreStdin(value: unknown): unknown {
  if (value === STDIN_TOKEN) return '-';
  return Array.isArray(value) ? value.map(restoreStdin) : value;
}

export async function main(argv0: string[]): Promise<void> {
  const argv = argv0.map((a) => (a === '-' ? STDIN_TOKEN : a));
  // `meshsleuth … | head`: a reader that closes the pipe ends the command quietly, for every verb.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  let y = yargs(argv)
    .scriptName('meshsleuth')
    .usage('$0 <command> [options]\n\nService-mesh security forensics for Istio/Envoy sidecars, offline, from saved evidence.')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .middleware((args) => {
      for (const k of Object.keys(args)) args[k] = restoreStdin(args[k]);
    }, true)
    .middleware((args) => setShowSecrets(args['show-secrets'] === true))
    .recommendCommands()
    .completion('completion', 'print a bash/zsh completion script')
    .wrap(Math.min(120, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      process.stderr.write(`meshsleuth: ${msg}\nRun 'meshsleuth --help' for usage.\n`);
      process.exit(2);
    });
  for (const c of commands) y = y.command(withShellRules(c));
  await y.help().alias('help', 'h').parseAsync();
}

main(hideBin(process.argv)).catch((err: unknown) => {
  process.stderr.write(`meshsleuth: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
