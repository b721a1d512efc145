/**
 * Tables that fit the terminal (issue 18 item 2), in a real pseudo-terminal: util-linux `script` runs the CLI
 * on a pty whose size is set with `stty cols N`, so `process.stdout.isTTY` is true and `columns` comes from the
 * kernel's window size (TIOCGWINSZ) exactly as in a terminal emulator. (Node ignores $COLUMNS for
 * stdout.columns, and faking isTTY in-process would not test what a user sees.)
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';

const ENTRY = join(REPO, 'dist/src/cli/main.js');
const hasScript = spawnSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore' }).status === 0;
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * stdout of `file args`, whatever the exit code (asynchronous: a test worker blocked for a minute by synchronous
 * runs misses vitest's RPC deadline on a loaded machine, "Timeout calling onTaskUpdate").
 */
function stdoutOf(file: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.on('error', reject);
    child.on('close', () => resolve(Buffer.concat(out).toString('utf8')));
  });
}

/** stdout of the CLI on a pty `cols` wide (stderr dropped), colour codes kept. */
async function onTty(cols: number, args: string[], env: Record<string, string> = {}): Promise<string> {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = await stdoutOf('script', ['-qec', `stty cols ${cols} rows 50; "${process.execPath}" "${ENTRY}" ${quoted} 2>/dev/null`, '/dev/null'], env);
  return out.replace(/\r/g, '');
}

const pipedOutputs = new Map<string, Promise<string>>();
/** stdout of the CLI into a pipe (run once per command line: the same bytes every time). */
function piped(args: string[]): Promise<string> {
  const key = args.join('\0');
  let out = pipedOutputs.get(key);
  if (out === undefined) pipedOutputs.set(key, (out = stdoutOf(process.execPath, [ENTRY, ...args])));
  return out;
}

const widest = (text: string): number => Math.max(...text.replace(ANSI, '').split('\n').map((l) => l.length));

const COMMANDS: string[][] = [
  ['report', 'samples/bank-breach'],
  ['explain', 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json', 'samples/details-path/logs'],
  ['flows', 'samples/bookinfo-authz/captures'],
  ['policies', 'samples/bookinfo-authz/config_dumps'],
  ['check', 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json', '--port', '9080', '--path', '/details/0', '--from', 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage'],
  ['reach', 'samples/bookinfo-authz'],
];

describe.skipIf(!hasScript)('tables on a terminal, on a pseudo-TTY (needs util-linux script)', () => {
  for (const cols of [80, 120]) {
    it(`every line of the README commands fits ${cols} columns`, async () => {
      for (const args of COMMANDS) {
        const full = await piped(args);
        const out = await onTty(cols, args);
        expect(out.length, args.join(' ')).toBeGreaterThan(0);
        process.stdout.write(`${cols} cols: ${args[0]} widest ${widest(full)} piped → ${widest(out)} on the terminal\n`);
        expect(widest(out), args.join(' ')).toBeLessThanOrEqual(cols);
      }
    }, 300_000); // a ceiling for a loaded machine (12 CLI runs; ~10 s on a quiet one), not a timing
  }

  it('a narrow table names the columns it left out; -o wide prints them all, uncut', async () => {
    const args = ['flows', 'samples/bookinfo-authz/captures/details-v1-5f4d584748-2w7mh.default.pcap'];
    const narrow = (await onTty(80, args)).replace(ANSI, '').replace(/\n {2,}/g, ' '); // the note is prose: wrapped
    expect(narrow).toMatch(/^CLIENT +SERVER +SECURITY/m);
    expect(narrow).toMatch(/\(\d more columns: [A-Z /,]+; -o wide shows every column, uncut\)/);
    const wide = (await onTty(80, [...args, '-o', 'wide'])).replace(ANSI, '');
    expect(wide).toMatch(/FRAMES/);
    expect(wide).toMatch(/outbound_\.9080_\._\.details\.default\.svc\.cluster\.local/);
    // -o wide on a command without wide columns of its own is the full table
    const explain = ['explain', 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json', 'samples/details-path/logs'];
    expect((await onTty(80, [...explain, '-o', 'wide'])).replace(ANSI, '')).toContain((await piped(explain)).split('\n')[0]!);
  });

  it('colours severities and verdicts on a terminal; none with NO_COLOR or when piped', async () => {
    const args = ['flows', 'samples/bookinfo-authz/captures/details-v1-5f4d584748-2w7mh.default.pcap'];
    expect(await onTty(120, args)).toMatch(/\x1b\[32mmtls\*\x1b\[0m/);
    expect(await onTty(120, args, { NO_COLOR: '1' })).not.toMatch(ANSI);
    expect(await piped(args)).not.toMatch(ANSI);
  });

  it('piped output is the full table, whatever the terminal the command was started from', async () => {
    const args = ['policies', 'samples/bookinfo-authz/config_dumps'];
    const out = await stdoutOf('script', ['-qec', `stty cols 80; "${process.execPath}" "${ENTRY}" ${args.join(' ')} 2>/dev/null | cat`, '/dev/null']);
    expect(out.replace(/\r/g, '')).toBe(await piped(args));
  });
});
