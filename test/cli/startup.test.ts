/**
 * Start-up time, relative to Node itself (issue 18 item 1): `--version`, `--help` and a completion request
 * must start within 1.5× of a bare `node -e 0` measured in the same test, on the same machine, interleaved
 * (so load from other processes hits both alike), as the median of several runs. No absolute timings.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';

const ENTRY = join(REPO, 'dist/src/cli/main.js');
const RUNS = 11;

function timed(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median times of `node -e 0` and of the CLI with `args`, runs interleaved. */
function measure(args: string[]): { node: number; cli: number; ratio: number } {
  timed(['-e', '0']);
  timed([ENTRY, ...args]); // warm the file cache
  const node: number[] = [];
  const cli: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    node.push(timed(['-e', '0']));
    cli.push(timed([ENTRY, ...args]));
  }
  const m = { node: median(node), cli: median(cli) };
  return { ...m, ratio: m.cli / m.node };
}

describe.skipIf(!existsSync(ENTRY))('start-up time against node -e 0 (needs dist/ built)', () => {
  for (const [name, args] of [
    ['--version', ['--version']],
    ['--help', ['--help']],
    ['a completion request (flows --fail-on values)', ['__complete', 'flows', '--fail-on', '']],
    ['the completion script', ['completion', 'bash']],
  ] as const) {
    it(`${name} starts within 1.5× of node -e 0 (median of ${RUNS} interleaved runs)`, () => {
      const m = measure([...args]);
      process.stdout.write(`startup ${name}: ${m.cli.toFixed(1)} ms vs node -e 0 ${m.node.toFixed(1)} ms = ${m.ratio.toFixed(2)}×\n`);
      expect(m.ratio).toBeLessThanOrEqual(1.5);
    }, 120_000);
  }

  it('--version, --help and completion load neither yargs nor any command module; a command loads only its own', () => {
    // a module-resolution hook that names every module the CLI resolves
    const hook = `export async function resolve(s, c, n) { const r = await n(s, c); process.stderr.write('RESOLVED ' + r.url + '\\n'); return r; }`;
    const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
    const loaded = (args: string[]): string[] => {
      const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, ENTRY, ...args], { cwd: REPO, encoding: 'utf8' });
      return r.stderr.split('\n').filter((l) => l.startsWith('RESOLVED ')).map((l) => l.slice(9));
    };
    for (const args of [['--version'], ['--help'], ['__complete', 'flows', '--security', 'pl'], ['completion', 'zsh']]) {
      const urls = loaded(args);
      expect(urls.length, args.join(' ')).toBeGreaterThan(0);
      expect(urls.filter((u) => /node_modules|\/commands\/(?!index\.js)/.test(u)), args.join(' ')).toEqual([]);
    }
    const flows = loaded(['flows', 'samples/bookinfo-authz/captures/details-v1-5f4d584748-2w7mh.default.pcap']);
    expect(flows.some((u) => u.endsWith('/commands/flows.js'))).toBe(true);
    expect(flows.filter((u) => /\/commands\/(?!index\.js|flows\.js)/.test(u))).toEqual([]);
    expect(flows.filter((u) => /node_modules\/@grpc\//.test(u))).toEqual([]);
    const r = spawnSync(process.execPath, [ENTRY, '__complete', 'flows', '--security', 'pl'], { cwd: REPO, encoding: 'utf8' });
    expect(r.stdout).toBe('plaintext\n');
  });
});
