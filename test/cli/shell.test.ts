/**
 * Rules the CLI shell applies to every command (src/cli/shell.ts): a repeated option keeps its last value,
 * a value option needs its value, a number option gets a number. Checked on every command over the
 * samples, and on a command the shell has never seen (the mechanism is generic).
 */
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { runCli } from '../helpers/cli.js';
import { asList } from '../../src/cli/common.js';
import { lastOptionWins, withShellRules } from '../../src/cli/shell.js';

const S = 'samples/details-path';
const DUMP = `${S}/config_dumps/details-v1-5f4d584748-vn4cx.default.json`;
const LOG = `${S}/logs/details-v1-5f4d584748-vn4cx.default.istio-proxy.log`;
const PCAP = `${S}/captures/details-v1-5f4d584748-vn4cx.default.pcap`;

/** One invocation per command, and the -o values it takes (the first is the one overridden). */
const COMMANDS: { name: string; args: string[]; outputs: [string, string] }[] = [
  { name: 'policies', args: ['policies', DUMP], outputs: ['json', 'table'] },
  { name: 'check', args: ['check', DUMP, '--port', '9080', '--from', 'default/bookinfo-productpage', '--method', 'GET', '--path', '/details/0'], outputs: ['json', 'yaml'] },
  { name: 'explain', args: ['explain', DUMP, LOG], outputs: ['json', 'table'] },
  { name: 'flows', args: ['flows', PCAP], outputs: ['json', 'table'] },
  { name: 'report', args: ['report', PCAP, LOG, DUMP], outputs: ['json', 'html'] },
  { name: 'reach', args: ['reach', `${S}/inventory.json`, `${S}/policies.yaml`], outputs: ['json', 'table'] },
  { name: 'compile', args: ['compile', `${S}/policies.yaml`, '--workload', 'default/details-v1', '--labels', 'app=details'], outputs: ['json', 'table'] },
];

describe('a repeated option: the last one wins, in every command', () => {
  for (const c of COMMANDS) {
    it(`${c.name} -o ${c.outputs[0]} -o ${c.outputs[1]} prints what -o ${c.outputs[1]} prints`, async () => {
      const [twice, once] = await Promise.all([runCli([...c.args, '-o', c.outputs[0], '-o', c.outputs[1]]), runCli([...c.args, '-o', c.outputs[1]])]);
      expect(once.code, once.stderr).toBe(0);
      expect(twice.code, twice.stderr).toBe(0);
      expect(twice.stdout.length).toBeGreaterThan(0);
      // report's HTML and JSON carry the generation time; compare their shape, the rest byte for byte.
      if (c.name === 'report') expect(twice.stdout.slice(0, 15)).toBe(once.stdout.slice(0, 15));
      else expect(twice.stdout).toBe(once.stdout);
      expect(twice.stderr).not.toMatch(/internal error/);
    });
  }

  it('report -o json -o html writes HTML (it was an internal error)', async () => {
    const r = await runCli(['report', PCAP, '-o', 'json', '-o', 'html']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^<!DOCTYPE html>/i);
  });

  it('repeatable options still collect every value (flows --security mtls --security plaintext)', async () => {
    const r = await runCli(['flows', PCAP, '--security', 'mtls', '--security', 'plaintext', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const { flows } = JSON.parse(r.stdout) as { flows: { security: string }[] };
    expect(new Set(flows.map((f) => f.security))).toEqual(new Set(['mtls', 'plaintext']));
  });

  it('a later value that is not one of the choices is refused (exit 2), not ignored', async () => {
    const r = await runCli(['explain', DUMP, LOG, '-o', 'json', '-o', 'yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Given: "yaml"/);
  });
});

describe('a value option needs its value; a number option needs a number', () => {
  for (const c of COMMANDS) {
    it(`${c.name} ... -o (nothing after it) exits 2`, async () => {
      const r = await runCli([...c.args, '-o']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/Not enough arguments following: o/);
    });
  }
  it('explain --limit ten exits 2 naming the option', async () => {
    const r = await runCli(['explain', DUMP, LOG, '--limit', 'ten']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--limit: expected a number/);
  });
  it('check --port abc exits 2 naming the option', async () => {
    const r = await runCli(['check', DUMP, '--port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--port: expected a number/);
  });
});

describe('the shell rules apply to any command module, including ones added later', () => {
  const seen: Record<string, unknown>[] = [];
  const probe: CommandModule<object, Record<string, unknown>> = {
    command: 'probe [files..]',
    describe: 'a command the shell knows nothing about',
    builder: (y) =>
      y
        .option('output', { alias: 'o', type: 'string', choices: ['a', 'b'] })
        .option('n', { type: 'number' })
        .option('tag', { type: 'string', coerce: asList })
        .option('list', { type: 'string', array: true }) as never,
    handler: (a) => {
      seen.push(a);
    },
  };
  const parse = async (argv: string[]): Promise<Record<string, unknown>> => {
    seen.length = 0;
    await yargs(argv).command(withShellRules(probe)).strict().fail((msg, err) => {
      throw err ?? new Error(msg);
    }).parseAsync();
    return seen[0]!;
  };

  it('keeps the last of a repeated single-value option, every repeatable one whole', async () => {
    const a = await parse(['probe', 'x', 'y', '-o', 'a', '-o', 'b', '--n', '1', '--n', '2', '--tag', 't1', '--tag', 't2', '--list', 'l1', '--list', 'l2']);
    expect(a.output).toBe('b');
    expect(a.o).toBe('b');
    expect(a.n).toBe(2);
    expect(a.tag).toEqual(['t1', 't2']);
    expect(a.list).toEqual(['l1', 'l2']);
    expect(a.files).toEqual(['x', 'y']);
  });

  it('validates the value kept (choices see the last value)', async () => {
    await expect(parse(['probe', '-o', 'a', '-o', 'zzz'])).rejects.toThrow(/Invalid values/);
  });

  it('lastOptionWins leaves positionals, declared arrays and asList values alone', () => {
    const argv: Record<string, unknown> = { _: ['probe'], $0: 'x', o: ['a', 'b'], keep: ['k1', 'k2'], tag: asList(['t1', 't2']), one: 'v' };
    lastOptionWins(argv, new Set(['keep']));
    expect(argv).toEqual({ _: ['probe'], $0: 'x', o: 'b', keep: ['k1', 'k2'], tag: ['t1', 't2'], one: 'v' });
  });
});
