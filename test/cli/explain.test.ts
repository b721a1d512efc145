import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, SHARED, hasShared, describeShared } from '../helpers/cli.js';

const DUMP = SHARED + 'fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml';

const LINES = [
  '[2024-05-01T10:00:00.100Z] "GET /info HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "curl/8.0" "r-1" "httpbin:80" "-" inbound|80|| - 10.244.0.14:80 10.244.0.12:54616 - -',
  '[2024-05-01T10:00:01.100Z] "GET /info HTTP/1.1" 200 - via_upstream - "-" 0 135 3 1 "-" "curl/8.0" "r-2" "httpbin:80" "10.244.0.14:80" inbound|80|| 127.0.0.6:41854 10.244.0.14:80 10.244.0.12:54618 outbound_.80_._.httpbin.default.svc.cluster.local default',
  '[2024-05-01T10:00:02.100Z] "- - -" 0 - - rbac_access_denied_matched_policy[none] "-" 233 0 1 - "-" "-" "-" "-" "-" inbound|9000|| - 10.244.0.14:9000 10.244.0.12:45702 - -',
  '2024-05-01T10:00:02.500000Z\tinfo\tenvoy config\tNew listener added',
  'garbage that is not a log line',
  '[2024-05-01T10:00:03.100Z] "POST /data HTTP/1.1" 403 - rbac_access_denied_matched_policy[ns[foo]-policy[deny-post]-rule[0]] - "-" 0 19 0 - "-" "curl/8.0" "r-4" "httpbin:80" "-" inbound|80|| - 10.244.0.14:80 10.9.9.9:54620 - -',
];

function logFile(lines = LINES): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-explain-'));
  const f = join(dir, 'istio-proxy.log');
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

describeShared('meshsleuth explain (needs ../shared)', () => {
  it('prints a table grouped by decision and policy, the disagreements, and the summary line', async () => {
    const log = logFile();
    const r = await runCli(['explain', DUMP, log]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^DECISION\s+POLICY\s+VERDICT\s+COUNT\s+EXAMPLE\s+REASON/);
    expect(r.stdout).toMatch(/DENY\s+none\s+agrees\s+2\s+.*istio-proxy\.log:1/);
    expect(r.stdout).toMatch(/ALLOW \(logged\)\s+-\s+undecidable\s+1/);
    expect(r.stdout).toContain('Disagreements:');
    expect(r.stdout).toContain('4 records: 0 allowed, 3 denied (3 by no ALLOW match), 1 undecidable; 1 disagreement\n');
    // the line that fit no format is reported with file:line; the proxy's own line is only counted
    expect(r.stderr).toMatch(/istio-proxy\.log, line 5: does not fit any known access-log format/);
    expect(r.stderr).toMatch(/1 skipped \(did not fit\), 1 proxy log lines ignored/);
  });

  it('-o ndjson: one JSON object per record with what was logged, the decision, verdict and evidence', async () => {
    const r = await runCli(['explain', DUMP, logFile(), '-o', 'ndjson']);
    expect(r.code, r.stderr).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs).toHaveLength(4);
    expect(recs[0]).toMatchObject({
      kind: 'http', format: 'istio', verdict: 'agrees', security: 'plaintext',
      identityEvidence: ['requested-server-name: - (plaintext inferred)'],
      request: { source: '10.244.0.12:54616', destination: '10.244.0.14:80', method: 'GET', path: '/info' },
      logged: { outcome: 'denied', policy: 'none', responseCode: 403 },
      decision: { decision: 'DENY', policy: null, listener: 'virtualInbound' },
    });
    expect(recs[1]).toMatchObject({ verdict: 'undecidable', security: 'mtls', missing: expect.arrayContaining(['filterState']) });
    expect(recs[2]).toMatchObject({ kind: 'tcp', verdict: 'agrees', logged: { connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]' } });
    expect(recs[3].reason).toMatch(/config drift/);
    expect(r.stderr).toContain('4 records: 0 allowed, 3 denied');
  });

  it('-o json carries the summary, the groups and the records', async () => {
    const r = await runCli(['explain', DUMP, logFile(), '-o', 'json']);
    const j = JSON.parse(r.stdout);
    expect(j.summary).toMatchObject({ records: 4, denied: 3, undecidable: 1, disagreements: 1, deniedBy: { none: 3 } });
    expect(j.groups.length).toBeGreaterThan(0);
    expect(j.records).toHaveLength(4);
  });

  it('filters: --denied, --since/--until, --source, --policy', async () => {
    const log = logFile();
    const count = async (...args: string[]) => (await runCli(['explain', DUMP, log, '-o', 'ndjson', ...args])).stdout.trim().split('\n').filter(Boolean).length;
    expect(await count('--denied')).toBe(3);
    expect(await count('--since', '2024-05-01T10:00:01.500Z')).toBe(2);
    expect(await count('--until', '2024-05-01T10:00:01.500Z')).toBe(2);
    expect(await count('--source', '10.9.0.0/16')).toBe(1);
    expect(await count('--policy', 'deny-post')).toBe(1);
  });

  it('--fail-on disagreement exits 1 when a record disagrees', async () => {
    const r = await runCli(['explain', DUMP, logFile(), '--fail-on', 'disagreement']);
    expect(r.code).toBe(1);
    const ok = await runCli(['explain', DUMP, logFile(LINES.slice(0, 1)), '--fail-on', 'disagreement']);
    expect(ok.code).toBe(0);
  });

  it('--config <proposed>: lists the requests whose decision would change, before/after', async () => {
    const r = await runCli(['explain', '--config', DUMP, logFile()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/RECORD\s+REQUEST\s+BEFORE \(logged\)\s+AFTER \(proposed\)/);
    expect(r.stdout).toMatch(/POST \/data 10\.9\.9\.9:54620 → 10\.244\.0\.14:80\s+DENY ns\[foo\]-policy\[deny-post\]-rule\[0\]\s+DENY none/);
    expect(r.stdout).toMatch(/4 records replayed against .*configdump\.yaml: 1 decision would change \(0 allowed→denied, 0 denied→allowed, 1 denied by another policy\); 1 undecidable/);
  });

  it('bad input: unreadable log, no records, bad time, bad format → exit 2 with one line', async () => {
    const missing = await runCli(['explain', DUMP, '/nonexistent/x.log']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/x\.log: no such file/);
    const junk = await runCli(['explain', DUMP, logFile(['just', 'text'])]);
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/no access-log records found .*try --log-format/);
    const since = await runCli(['explain', DUMP, logFile(), '--since', 'yesterday']);
    expect(since.code).toBe(2);
    expect(since.stderr).toMatch(/--since: expected an RFC 3339 time/);
    const fmt = await runCli(['explain', DUMP, logFile(), '--log-format', '%A%%B%']);
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toMatch(/--log-format/);
    expect(fmt.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reads logs from stdin with -', async () => {
    const r = await runCli(['explain', DUMP, '-', '-o', 'ndjson'], { input: LINES[0] + '\n' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).ref).toBe('stdin:1');
  });
});
