/**
 * Agreement with a real sidecar: the Istio 1.4-alpha productpage dump of istioctl's describe testdata
 * (../shared/fixtures/istio/istioctl/cmd/testdata/describe/productpage-v1-c7765c886-v99jb.json), whose Bookinfo
 * DestinationRules define subsets without TLS and whose mesh has auto mTLS on. Its auto-mTLS clusters must be
 * what compile renders for 1.4 with the same services, field for field (socket matches `mtls`/`plaintext`,
 * file-mounted certificates, ALPN `istio`, SNI, SANs) and the DestinationRule metadata path.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { parseK8sObjects } from '../../../src/readers/k8s.js';
import { compileOutbound, type OutboundService } from '../../../src/istio/compile/outbound.js';
import { describeShared, SHARED } from '../../helpers/cli.js';

type J = Record<string, unknown>;
const DUMP = `${SHARED}fixtures/istio/istioctl/cmd/testdata/describe/productpage-v1-c7765c886-v99jb.json`;

const svc = (name: string, versions: string[]): OutboundService => ({
  name,
  namespace: 'default',
  ports: [{ port: 9080, name: 'http', protocol: 'http' }],
  endpoints: versions.map((v, i) => ({ ip: `10.1.${name.length}.${i + 2}`, port: 9080, tlsMode: 'istio', labels: { app: name, version: v }, spiffeId: `spiffe://cluster.local/ns/default/sa/bookinfo-${name}` })),
});
const dr = (name: string, subsets: string[]): string =>
  `apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\nmetadata: {name: ${name}, namespace: default}\nspec:\n  host: ${name}\n  subsets:\n${subsets.map((s) => `  - name: ${s}\n    labels: {version: ${s}}\n`).join('')}---\n`;

describeShared('outbound clusters of a real Istio 1.4 sidecar', () => {
  it('every auto-mTLS cluster of the dump equals the compiled one (sockets and metadata)', () => {
    const dump = JSON.parse(readFileSync(DUMP, 'utf8')) as { configs: J[] };
    const real = (dump.configs[1]!.dynamic_active_clusters as { cluster: J }[]).map((c) => c.cluster).filter((c) => String(c.name).startsWith('outbound|') && c.transport_socket_matches);
    expect(real.length).toBe(7);
    const objects = parseK8sObjects(dr('details', ['v1', 'v2']) + dr('productpage', ['v1']) + dr('reviews', ['v1', 'v2', 'v3']), 'bookinfo-drs.yaml').objects;
    const out = compileOutbound(objects, [], { namespace: 'default', labels: { app: 'productpage', version: 'v1' } }, [svc('details', ['v1', 'v2']), svc('productpage', ['v1']), svc('reviews', ['v1', 'v2', 'v3'])], { istioVersion: '1.4', enableAutoMtls: true });
    for (const r of real) {
      const mine = out.clusters.find((c) => c.name === r.name) as J | undefined;
      expect(mine, String(r.name)).toBeDefined();
      expect(mine!.transport_socket_matches, String(r.name)).toEqual(r.transport_socket_matches);
      expect((mine!.metadata as { filter_metadata: { istio: J } }).filter_metadata.istio.config).toBe((r.metadata as { filter_metadata: { istio: J } }).filter_metadata.istio.config);
    }
  });
});
