/** explain's memo of decisions is bounded by size, so memory does not grow with distinct requests. */
import { describe, expect, it } from 'vitest';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecisionCache } from '../../src/analysis/explain.js';
import type { Decision } from '../../src/model/decision.js';
import { REPO, runCli } from '../helpers/cli.js';

const DUMP = join(REPO, 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json');

function decision(n: number): Decision {
  return { decision: 'DENY', policy: null, responseCodeDetails: 'x'.repeat(n), filters: [] };
}

describe('explain decision memo', () => {
  it('evicts the oldest decisions once their estimated size passes the budget', () => {
    const c = new DecisionCache(100_000);
    for (let i = 0; i < 1000; i++) c.set(`k${i}`, decision(500));
    expect(c.estimatedBytes).toBeLessThanOrEqual(100_000);
    expect(c.get('k999')).toBeDefined();
    expect(c.get('k0')).toBeUndefined();
    expect(c.size).toBeLessThan(1000);
  });

  it('150k distinct requests replay within a 256 MB heap (every request misses the memo)', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-explain-')), 'details.log');
    const out = createWriteStream(log);
    for (let i = 0; i < 150_000; i++) {
      const line = `[2026-11-22T14:00:20.519Z] "GET /details/${i}?x=${i} HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "python-requests/2.31.0" "r-${i}" "details:9080" "-" inbound|9080|| - 10.244.2.72:9080 10.244.1.71:${1024 + (i % 60000)} outbound_.9080_._.details.default.svc.cluster.local default\n`;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const r = await runCli(['explain', DUMP, log], { env: { NODE_OPTIONS: '--max-old-space-size=256' } });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/150,000 records/);
  }, 240_000);
});
