/** Chain of custody: the report never overwrites its evidence, and SARIF names every evidence file exactly. */
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { pathToUri } from '../../src/report/sarif.js';
import { REPO, runCli } from '../helpers/cli.js';

const LOG = join(REPO, 'samples/details-path/logs/details-v1-5f4d584748-vn4cx.default.istio-proxy.log');
const DUMP = join(REPO, 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json');
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('report output and its evidence', () => {
  function evidenceDir(): { dir: string; log: string; dump: string } {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-custody-'));
    mkdirSync(join(dir, 'ev'));
    const log = join(dir, 'ev', 'details.log');
    const dump = join(dir, 'ev', 'dump.json');
    copyFileSync(LOG, log);
    copyFileSync(DUMP, dump);
    return { dir, log, dump };
  }

  it('--output naming an input file, a link to one, or a file inside an input directory is refused with exit 2 and the evidence is untouched', async () => {
    const { dir, log, dump } = evidenceDir();
    const before = [sha(log), sha(dump)];
    symlinkSync(dump, join(dir, 'link.json'));
    for (const [args, out] of [
      [[log, dump], dump],
      [[log, dump], join(dir, 'link.json')],
      [[join(dir, 'ev')], join(dir, 'ev', 'dump.json')],
    ] as const) {
      const r = await runCli(['report', ...args, '--out', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/refusing to overwrite it/);
    }
    expect([sha(log), sha(dump)]).toEqual(before);
    const ok = await runCli(['report', join(dir, 'ev'), '--out', join(dir, 'report.json')]);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('SARIF artifact URIs percent-encode a backslash, which is a file-name character on POSIX', () => {
    expect(pathToUri('logs/a\\b.log')).toBe('logs/a%5Cb.log');
    expect(pathToUri('logs/a b#1.log')).toBe('logs/a%20b%231.log');
  });
});
