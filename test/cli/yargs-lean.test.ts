/**
 * src/cli/yargs-lean.ts: yargs built from its own factory without the help renderer (cliui, string-width)
 * parses exactly as `import yargs from 'yargs'` does, is the one a command line without help gets, and
 * a command line that asks for help gets the plain yargs (its help renders).
 */
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { asksForHelp, loadYargs } from '../../src/cli/yargs-lean.js';
import { runCli } from '../helpers/cli.js';

/** A command shaped like ours: strict, a positional list, typed options, aliases, a choice. */
function define(y: Argv): Argv {
  return y
    .scriptName('meshsleuth')
    .strict()
    .option('quiet', { alias: 'q', type: 'boolean', global: true })
    .command(
      'flows [captures...]',
      'flows',
      (c) =>
        c
          .positional('captures', { type: 'string', array: true })
          .option('output', { alias: 'o', choices: ['table', 'json', 'ndjson'], default: 'table' })
          .option('threads', { type: 'string' })
          .option('max', { type: 'number' }),
      () => undefined,
    )
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .exitProcess(false);
}

async function parseBoth(argv: string[]): Promise<[unknown, unknown]> {
  const lean = await loadYargs(argv);
  expect(lean.lean).toBe(true);
  const outcome = async (y: Argv): Promise<unknown> => {
    try {
      const r = (await y.parseAsync()) as Record<string, unknown>;
      delete r.$0;
      return r;
    } catch (e) {
      return `error: ${(e as Error).message}`;
    }
  };
  return [await outcome(define(lean.yargs(argv))), await outcome(define(yargs(argv)))];
}

describe('yargs without its help renderer', () => {
  it('parses options, positionals, aliases, numbers and choices as plain yargs does', async () => {
    const [lean, plain] = await parseBoth(['flows', 'a.pcap', 'b.pcap', '-o', 'ndjson', '--threads', '1', '--max', '7', '-q']);
    expect(lean).toEqual(plain);
    expect(lean).toMatchObject({ captures: ['a.pcap', 'b.pcap'], output: 'ndjson', threads: '1', max: 7, quiet: true });
  });

  it('rejects an unknown option and a bad choice with the same message as plain yargs', async () => {
    for (const argv of [
      ['flows', 'a.pcap', '--bogus'],
      ['flows', 'a.pcap', '-o', 'xml'],
    ]) {
      const [lean, plain] = await parseBoth(argv);
      expect(String(lean)).toMatch(/^error: /);
      expect(lean).toEqual(plain);
    }
  });

  it('throws, naming itself, if yargs ever asks for the renderer it left out', async () => {
    const { yargs: lean } = await loadYargs(['flows']);
    const y = define(lean(['flows']));
    expect(() => y.getHelp()).toThrow(/yargs-lean: yargs asked for cliui/);
  });

  it('a command line that asks for help gets plain yargs', async () => {
    for (const argv of [['flows', '--help'], ['flows', '-h'], ['flows', '-qh'], ['flows', '--help=true']]) {
      expect(asksForHelp(argv)).toBe(true);
      expect((await loadYargs(argv)).lean).toBe(false);
    }
    for (const argv of [['flows', 'help.pcap'], ['flows', '--threads', '1'], ['flows', '-q'], ['flows', '--hosts']]) expect(asksForHelp(argv)).toBe(false);
  });

  it('the CLI still renders a command help and a usage error', async () => {
    const help = await runCli(['flows', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^meshsleuth flows \[captures\.\.\.\]/);
    expect(help.stdout).toMatch(/--threads/);
    const bad = await runCli(['flows', 'x.pcap', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown option: --bogus/);
  });
});
