import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const LOG = 'samples/tcp-echo/logs/tcp-echo-7f8c7b8d5-xq2lr.foo.istio-proxy.log';
const WORKLOAD = ['--workload', 'foo/tcp-echo-7f8c7b8d5-xq2lr', '--inventory', 'samples/tcp-echo/inventory.json'];

describe('explain --policies: replay a saved log against manifests not yet applied', () => {
  it('lists the records whose decision the DENY-port-9000 policy would change (repeatable options do not swallow the log path)', async () => {
    const r = await runCli(['explain', '--policies', 'samples/tcp-echo/stages/04-deny-port-9000/policies.yaml', ...WORKLOAD, LOG, '-o', 'ndjson']);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { before: { decision: string }; after: { decision: string; policy: string | null }; request?: unknown; ref: string });
    expect(rows.length).toBeGreaterThan(0);
    // Every change to DENY is by the tcp-policy DENY rule (port 9000); every change to ALLOW is a non-9000 port.
    for (const row of rows) {
      if (row.after.decision === 'DENY') expect(row.after.policy).toBe('ns[foo]-policy[tcp-policy]-rule[0]');
    }
    expect(rows.some((x) => x.before.decision === 'DENY' && x.after.decision === 'ALLOW')).toBe(true);
    expect(rows.some((x) => x.before.decision === 'ALLOW' && x.after.decision === 'DENY')).toBe(true);
  });

  it('refuses --config and --policies together', async () => {
    const r = await runCli(['explain', '--config', 'x.json', '--policies', 'samples/tcp-echo/policies.yaml', ...WORKLOAD, LOG]);
    expect(r.code).toBe(2);
  });
});
