/** `meshsleuth route`: the JSON contract (issue 14), the cluster listing, usage errors. */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { describeShared, REPO, runCli, SHARED } from '../helpers/cli.js';

const PP14 = SHARED + 'fixtures/istio/istioctl/cmd/testdata/describe/productpage-v1-c7765c886-v99jb.json';

describeShared('meshsleuth route on an Istio 1.4 productpage dump', () => {
  it('-o json gives listener, chain, route, cluster, endpoints, tls {mode, sni, alpn} and reason', async () => {
    const r = await runCli(['route', PP14, '--to', 'details:9080', '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    for (const k of ['listener', 'chain', 'route', 'cluster', 'endpoints', 'tls', 'reason']) expect(j).toHaveProperty(k);
    expect(j.listener).toMatchObject({ name: '0.0.0.0_9080' });
    expect(j.route).toMatchObject({ routeConfig: '9080', virtualHost: 'details.default.svc.cluster.local:9080' });
    expect(j.cluster).toMatchObject({ name: 'outbound|9080||details.default.svc.cluster.local', destinationRule: 'default/details' });
    expect(j.tls).toMatchObject({ mode: 'istio-mutual', sni: 'outbound_.9080_._.details.default.svc.cluster.local', alpn: ['istio'] });
    expect(j.reason).toBe('DestinationRule default/details sets tls.mode ISTIO_MUTUAL');
  });

  it('an address no Service declares goes through PassthroughCluster, and says so', async () => {
    const r = await runCli(['route', PP14, '--to', '10.1.2.3:3306', '-o', 'json']);
    const j = JSON.parse(r.stdout) as { cluster: { name: string }; tls: { mode: string }; reason: string; endpoints: { address: string; port: number }[] };
    expect(j.cluster.name).toBe('PassthroughCluster');
    expect(j.tls.mode).toBe('passthrough');
    expect(j.reason).toMatch(/^undeclared port/);
    expect(j.endpoints).toEqual([expect.objectContaining({ address: '10.1.2.3', port: 3306 })]);
  });

  it('without --to: every cluster with its TLS mode', async () => {
    const r = await runCli(['route', PP14]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/outbound\|9080\|v1\|details\.default\.svc\.cluster\.local\s+EDS\s+auto-mtls\s+outbound_\.9080_\.v1_\.details/);
    expect(r.stdout).toContain('18 cluster(s)');
  });

  it('a malformed --to is a usage error (exit 2)', async () => {
    const r = await runCli(['route', PP14, '--to', 'details']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--to: expected <host>:<port>');
  });
});

const SLEEP = 'samples/tcp-echo/config_dumps/sleep-9454cc476-6bnvh.foo.json';

describe.skipIf(!existsSync(REPO + SLEEP))('route and flows --config on the tcp-echo sample (needs samples/tcp-echo)', () => {
  it('port 9002 by pod IP: undeclared port, PassthroughCluster; the Service port: auto-mTLS with the SNI the capture shows', async () => {
    const a = JSON.parse((await runCli(['route', SLEEP, '--to', '10.244.2.31:9002', '-o', 'json'])).stdout) as { cluster: { name: string }; tls: { mode: string }; reason: string };
    expect(a).toMatchObject({ cluster: { name: 'PassthroughCluster' }, tls: { mode: 'passthrough' } });
    expect(a.reason).toMatch(/^undeclared port/);
    const b = JSON.parse((await runCli(['route', SLEEP, '--to', 'tcp-echo:9000', '-o', 'json'])).stdout) as { listener: { name: string }; cluster: { name: string }; tls: { mode: string; sni: string; alpn: string[] }; endpoints: { address: string; tlsMode: string; tls: { mode: string } }[] };
    expect(b.listener.name).toBe('10.96.90.12_9000');
    expect(b.cluster.name).toBe('outbound|9000||tcp-echo.foo.svc.cluster.local');
    expect(b.tls).toMatchObject({ mode: 'auto-mtls', sni: 'outbound_.9000_._.tcp-echo.foo.svc.cluster.local', alpn: ['istio-peer-exchange', 'istio'] });
    expect(b.endpoints).toEqual([expect.objectContaining({ address: '10.244.2.31', tlsMode: 'istio', tls: expect.objectContaining({ mode: 'istio-mutual' }) })]);
  });

  it('flows --config with both dumps: CLIENT SENT explains 9002 and agrees with the mTLS flows', async () => {
    const r = await runCli(['flows', 'samples/tcp-echo/captures/sleep-9454cc476-6bnvh.foo.pcap', '--config', 'samples/tcp-echo/config_dumps', '--no-include-sidecar-local', '-o', 'json', '--fail-on', 'config-mismatch']);
    expect(r.code, r.stderr).toBe(0);
    const flows = (JSON.parse(r.stdout) as { flows: { server: { port: number }; halves?: { explanation: string; mismatches: unknown[]; underStrict: string | null; fixFirst: string | null } }[] }).flows;
    const p9002 = flows.filter((f) => f.server.port === 9002);
    expect(p9002.length).toBe(5);
    for (const f of p9002) {
      expect(f.halves!.explanation).toMatch(/^client sidecar sent plaintext because undeclared port 9002.*PassthroughCluster; server port 9002 accepted it because PERMISSIVE/);
      expect(f.halves).toMatchObject({ underStrict: 'rejected: filter_chain_not_found', fixFirst: 'client', mismatches: [] });
    }
    for (const f of flows.filter((x) => x.server.port !== 9002)) expect(f.halves!.mismatches).toEqual([]);
  });
});
