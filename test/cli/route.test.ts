/** `meshsleuth route`: the JSON contract (issue 14), the cluster listing, usage errors. */
import { expect, it } from 'vitest';
import { describeShared, runCli, SHARED } from '../helpers/cli.js';

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
