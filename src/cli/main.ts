#!/usr/bin/env node
/**
 * The `meshsleuth` entry point. `--version`, `--help`, `help`, `version` and shell completion are answered
 * here from the command registry without loading yargs or any command module (they start as fast as Node);
 * a command loads yargs and its own module only (cli/run.ts).
 */
import { commands, findCommand } from './commands/index.js';
import { VERSION } from '../version.js';
import { complete, completionScript, loadSpec, topLevelHelp } from './fast.js';
import { closest } from './suggest.js';

const EXIT_USAGE = 2;

function usageError(message: string): void {
  process.stderr.write(`meshsleuth: ${message}\nRun 'meshsleuth --help' for usage.\n`);
  process.exitCode = EXIT_USAGE;
}

function unknownCommand(name: string): void {
  const hit = closest(name, [...commands.map((c) => c.name), 'help', 'version', 'completion']);
  usageError(`unknown command '${name}'${hit ? ` (did you mean '${hit}'?)` : ''}`);
}

export async function main(argv: string[]): Promise<void> {
  // `meshsleuth … | head`: a reader that closes the pipe ends the command quietly, for every verb.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const globals = new Set(['-q', '--quiet', '-v', '--verbose']);
  const words = argv.filter((a) => !globals.has(a));
  const first = words[0];
  if (first === undefined) {
    process.stderr.write(topLevelHelp(process.stderr.columns));
    return usageError('name a command');
  }
  if (words.length === 1 && (first === '--version' || first === 'version')) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (words.length === 1 && (first === '--help' || first === '-h' || first === 'help')) {
    process.stdout.write(topLevelHelp(process.stdout.columns));
    return;
  }
  if (first === 'completion') {
    const shell = words[1] ?? (process.env.SHELL?.endsWith('zsh') ? 'zsh' : 'bash');
    if (shell !== 'bash' && shell !== 'zsh') return usageError(`completion: expected bash or zsh, found '${shell}'`);
    process.stdout.write(completionScript(shell));
    return;
  }
  if (first === '__complete') {
    const out = complete(argv.slice(argv.indexOf('__complete') + 1), await loadSpec());
    process.stdout.write(out.length ? out.join('\n') + '\n' : '');
    return;
  }
  if (first === 'help') {
    const entry = findCommand(words[1]!);
    if (!entry) return unknownCommand(words[1]!);
    const { run } = await import('./run.js');
    return run(entry, [entry.name, '--help']);
  }
  const verb = words.find((w) => !w.startsWith('-'));
  if (verb === undefined) {
    if (words.includes('--help') || words.includes('-h')) {
      process.stdout.write(topLevelHelp(process.stdout.columns));
      return;
    }
    return usageError(`name a command before ${words.join(' ')}`);
  }
  const entry = findCommand(verb);
  if (!entry) return unknownCommand(verb);
  if (verb === 'flows') {
    // one large capture: its worker thread starts now, while this thread loads the command (capture-prestart.ts)
    const [pre, { workerUrl }] = await Promise.all([import('./capture-prestart.js'), import('./parallel.js')]);
    if (pre.looksPipelined(words.slice(words.indexOf(verb) + 1))) pre.prestartCaptureWorker(workerUrl('capture-worker.js'));
  }
  const { run } = await import('./run.js');
  await run(entry, argv);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`meshsleuth: ${err instanceof Error ? err.message : String(err)}\n`);
  if (process.env.MESHSLEUTH_DEBUG && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
  process.exitCode = EXIT_USAGE;
});
