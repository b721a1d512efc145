/** `explain -o json` prints its records without holding them: memory does not grow with the records. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO } from '../helpers/cli.js';

const ENTRY = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const DUMP = join(REPO, 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json');
const LINES = 60_000;

describe('explain -o json memory', () => {
  it(`${LINES.toLocaleString('en-US')} records (about 1.5 KB of JSON each) print within a 128 MB heap, summary first`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-explain-json-'));
    try {
      const log = join(dir, 'details.log');
      const out = createWriteStream(log);
      for (let i = 0; i < LINES; i++) {
        const line = `[2026-11-22T14:00:20.519Z] "GET /details/${i} HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "python-requests/2.31.0" "r-${i}" "details:9080" "-" inbound|9080|| - 10.244.2.72:9080 10.244.1.71:${1024 + (i % 60000)} outbound_.9080_._.details.default.svc.cluster.local default\n`;
        if (!out.write(line)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      const outFile = join(dir, 'out.json');
      const fd = openSync(outFile, 'w');
      const child = spawn(process.execPath, ['--max-old-space-size=128', ENTRY, 'explain', DUMP, log, '-o', 'json', '--threads', '1'], { cwd: REPO, stdio: ['ignore', fd, 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const [code] = (await once(child, 'close')) as [number];
      closeSync(fd);
      expect(code, stderr.slice(-2000)).toBe(0);
      const doc = JSON.parse(readFileSync(outFile, 'utf8')) as { summary: { records: number }; groups: unknown[]; records: { ref: string }[] };
      expect(Object.keys(doc)).toEqual(['summary', 'groups', 'records']);
      expect(doc.summary.records).toBe(LINES);
      expect(doc.records).toHaveLength(LINES);
      expect(doc.records[LINES - 1]!.ref).toBe(`${log}:${LINES}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
