/**
 * Ambient through the CLI shell: `check <ztunnel config>` decides a connection to a workload by
 * destination address with trace and closest miss; `explain <ztunnel config> <ztunnel log>` replays
 * each record (agrees / disagrees / undecidable); Envoy records against a ztunnel dump are undecidable.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const DUMP = 'test/fixtures/ztunnel/config_dump.json';
const LOG = 'test/fixtures/ztunnel/ztunnel.log';

describe('meshsleuth check with a ztunnel config dump', () => {
  it('names the ALLOW-miss reason and the closest miss', async () => {
    const r = await runCli(['check', DUMP, '--from', 'cluster.local/ns/shop/sa/other', '--source-ip', '10.244.2.22', '--dest-ip', '10.244.2.20', '--port', '8080']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^DENY connection closed due to policy rejection: allow policies exist, but none allowed/);
    expect(r.stdout).toMatch(/closest miss:[\s\S]*source\.principal: "spiffe:\/\/cluster\.local\/ns\/shop\/sa\/other" — needs any of \[exact "cluster\.local\/ns\/shop\/sa\/frontend"\]/);
  });
  it('prints the decision JSON with the deciding DENY policy', async () => {
    const r = await runCli(['check', DUMP, '-o', 'json', '--request', JSON.stringify({ source: { address: '10.244.1.9', port: 1 }, destination: { address: '10.244.2.20', port: 8080 }, tls: { uriSans: ['spiffe://cluster.local/ns/legacy/sa/default'], dnsSans: [], subject: '', peerCertificateValidated: true } })]);
    const d = JSON.parse(r.stdout) as { decision: string; policy: string; connectionTerminationDetails: string; filters: { name: string; result: string }[] };
    expect(d).toMatchObject({ decision: 'DENY', policy: 'shop/deny-legacy', connectionTerminationDetails: 'connection closed due to policy rejection: explicitly denied by: shop/deny-legacy' });
    expect(d.filters.map((f) => f.name)).toEqual(['ztunnel DENY policies', 'ztunnel ALLOW policies', 'ztunnel DENY policies (dry-run)', 'ztunnel ALLOW policies (dry-run)']);
  });
});

describe('meshsleuth explain with ztunnel logs', () => {
  it('replays each record against the dump', async () => {
    const r = await runCli(['explain', DUMP, LOG, '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { records: { ref: string; verdict: string; reason: string; logged: { outcome: string; policy: string | null } }[] };
    expect(j.records.map((x) => x.verdict)).toEqual(['agrees', 'agrees', 'agrees', 'disagrees', 'undecidable']);
    expect(j.records[1]!.logged).toMatchObject({ outcome: 'denied', policy: 'shop/deny-legacy' });
    expect(j.records[4]!.reason).toMatch(/NetworkPolicy/);
  });
  it('says an Envoy log needs an Envoy dump when given a ztunnel dump', async () => {
    const line = '[2024-05-04T09:59:05.100Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 5 2 1 "-" "curl" "id" "a:80" "10.0.0.2:80" inbound|80|| 127.0.0.6:1 10.0.0.2:80 10.0.0.1:2 - default\n';
    const r = await runCli(['explain', DUMP, '-', '-o', 'json'], { input: line });
    const j = JSON.parse(r.stdout) as { records: { verdict: string; reason: string }[] };
    expect(j.records[0]).toMatchObject({ verdict: 'undecidable' });
    expect(j.records[0]!.reason).toMatch(/ztunnel config dump/);
  });
});

describe('meshsleuth compile --ambient', () => {
  it('renders ztunnel policies with istiod\'s status and leaves targetRef policies to the waypoint', async () => {
    const r = await runCli(['compile', '--ambient', 'test/fixtures/ztunnel/policies.yaml', '-o', 'json', '--workload', 'pay/ledger-0', '--labels', 'app=ledger']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { policies: { name: string; rules: unknown[] }[]; notForZtunnel: { policy: string }[]; workload: { authorizationPolicies: string[] } };
    expect(j.policies.map((p) => [p.name, p.rules.length])).toEqual([['ledger-allow-get', 0], ['deny-legacy', 1]]);
    expect(j.notForZtunnel.map((n) => n.policy)).toEqual(['pay/waypoint-only-get']);
    expect(j.workload.authorizationPolicies).toEqual(['pay/ledger-allow-get']);
    expect(r.stderr).toMatch(/ledger-allow-get: ztunnel does not support HTTP attributes \(found: methods\)/);
  });
  it('--fail-on dropped trips on a status warning; --workload stays required without --ambient', async () => {
    expect((await runCli(['compile', '--ambient', 'test/fixtures/ztunnel/policies.yaml', '--fail-on', 'dropped'])).code).toBe(1);
    const r = await runCli(['compile', 'test/fixtures/ztunnel/policies.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--workload/);
  });
});
