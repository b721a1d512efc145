/**
 * Start-up (issue 18 item 1): `--version`, `--help` and completion load neither yargs nor any command module, and
 * a command loads only its own. The start-up time itself (within 1.5× of `node -e 0`) is a timing target: it is
 * measured by `npm run bench -- startup` (bench/startup.bench.ts), not here.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../helpers/cli.js';

const ENTRY = join(REPO, 'dist/src/cli/main.js');

describe.skipIf(!existsSync(ENTRY))('what start-up loads (needs dist/ built)', () => {
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
