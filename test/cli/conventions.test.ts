/** One set of CLI conventions across every command (issue 18 item 3). */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { commands } from '../../src/cli/commands/index.js';
import { closest } from '../../src/cli/suggest.js';
import { withSuggestions } from '../../src/cli/shell.js';

const DUMP = 'samples/bookinfo-authz/config_dumps/details-v1-5f4d584748-2w7mh.default.json';
const LOG = 'samples/bookinfo-authz/logs/details-v1-5f4d584748-2w7mh.default.istio-proxy.log';

describe('help and version', () => {
  it('`meshsleuth version` and `--version` print the package version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    for (const args of [['version'], ['--version']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${pkg.version}\n`);
    }
  });

  it('`meshsleuth help <cmd>` is `<cmd> --help`, for every registered command', async () => {
    for (const c of commands) {
      const r = await runCli(['help', c.name]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`meshsleuth ${c.command}`);
      expect(r.stdout).toContain('-q, --quiet');
      expect(r.stdout).toContain('-v, --verbose');
      expect(r.stdout.replace(/\s+/g, " ")).toMatch(/Exit codes: 0 success, 1 .*2 .*3 internal error \(MESHSLEUTH_DEBUG=1/);
    }
  });

  it('top-level help names every command, the global options, exit codes and MESHSLEUTH_DEBUG', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of commands) expect(r.stdout).toContain(`meshsleuth ${c.command}`);
    for (const s of ['meshsleuth help [command]', 'meshsleuth version', '-q, --quiet', '-v, --verbose', 'MESHSLEUTH_DEBUG=1']) expect(r.stdout).toContain(s);
  });
});

describe('did you mean', () => {
  it('suggests the closest command and option', () => {
    expect(closest('flws', ['flows', 'policies'])).toBe('flows');
    expect(closest('zzzz', ['flows', 'policies'])).toBeNull();
  });

  it('an unknown command and an unknown option exit 2 with a suggestion', async () => {
    const cmd = await runCli(['polices', DUMP]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("unknown command 'polices' (did you mean 'policies'?)");
    const opt = await runCli(['flows', 'samples/bookinfo-authz/captures', '--secrity', 'plaintext']);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain('unknown option: --secrity (did you mean --security?)');
    expect(opt.stderr.trim().split('\n')).toHaveLength(2);
  });

  it('an unexpected positional is not reported as an option', () => {
    expect(withSuggestions('Unknown argument: extra', ['collect', 'extra'])).toBe('unexpected argument: extra');
  });
});

describe('-q and -v on every command', () => {
  it('-q hides warnings but keeps the error that ends a command', async () => {
    const loud = await runCli(['explain', DUMP, LOG, 'README.md']);
    const quiet = await runCli(['explain', DUMP, LOG, 'README.md', '-q']);
    expect(loud.stderr).not.toBe('');
    expect(quiet.stdout).toBe(loud.stdout);
    expect(quiet.code).toBe(loud.code);
    expect(quiet.stderr.split('\n').length).toBeLessThan(loud.stderr.split('\n').length);
    const err = await runCli(['policies', 'no-such-file.json', '-q']);
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(/no-such-file.json: no such file or directory/);
  });

  it('-v reports what was read and how long it took', async () => {
    const r = await runCli(['flows', 'samples/bookinfo-authz/captures', '-v', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/samples\/bookinfo-authz\/captures: 4 file\(s\), 4 read as pcap or pcapng captures/);
    expect(r.stderr).toMatch(/exit 0 after \d+\.\d\d s, peak RSS \d+ MB/);
  });

  it('a repeated option: the last one wins', async () => {
    const r = await runCli(['policies', DUMP, '-o', 'table', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(() => JSON.parse(r.stdout) as unknown).not.toThrow();
  });
});

describe('compressed inputs and standard input wherever files are read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-gz-'));
  const gzDump = join(dir, 'dump.json.gz');
  const gzLog = join(dir, 'proxy.log.gz');
  writeFileSync(gzDump, gzipSync(readFileSync(DUMP)));
  writeFileSync(gzLog, gzipSync(readFileSync(LOG)));

  it('a gzip config dump reads as the dump (file, directory and stdin)', async () => {
    const plain = await runCli(['policies', DUMP, '-o', 'json']);
    for (const [args, input] of [[['policies', gzDump, '-o', 'json']], [['policies', dir, '-o', 'json']], [['policies', '-', '-o', 'json'], readFileSync(gzDump)]] as const) {
      const r = await runCli([...args], input ? { input } : {});
      expect(r.code, r.stderr).toBe(0);
      const strip = (s: string) => s.replace(/"(source|file)": "[^"]*"/g, '');
      expect(strip(r.stdout)).toBe(strip(plain.stdout));
    }
  });

  it('a gzip access log replays like the plain one, from a file and from stdin', async () => {
    const plain = await runCli(['explain', DUMP, LOG, '-o', 'json']);
    const gz = await runCli(['explain', gzDump, gzLog, '-o', 'json']);
    const stdin = await runCli(['explain', DUMP, '-', '-o', 'json'], { input: readFileSync(gzLog) });
    const verdicts = (s: string) => (JSON.parse(s) as { records: { decision?: { decision: string } | null; verdict?: string }[] }).records.map((r) => [r.decision?.decision, r.verdict]);
    expect(gz.code, gz.stderr).toBe(0);
    expect(stdin.code, stdin.stderr).toBe(0);
    expect(verdicts(gz.stdout)).toEqual(verdicts(plain.stdout));
    expect(verdicts(stdin.stdout)).toEqual(verdicts(plain.stdout));
  });

  it('a cut-short gzip file is one line naming the file and offset (exit 2)', async () => {
    const cut = join(dir, 'cut.json.gz');
    writeFileSync(cut, readFileSync(gzDump).subarray(0, 200));
    const r = await runCli(['policies', cut]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(new RegExp(`^meshsleuth: ${cut}, offset \\d+: expected gzip-compressed structured data, found a damaged or cut-short gzip stream`));
  });
});
