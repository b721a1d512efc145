/**
 * Real dumps (../shared/fixtures/istio, istioctl's and Istio's own testdata) that carry outbound clusters:
 * every cluster gets a TLS mode, the mode agrees with what the dump's own transport sockets say (read here
 * from the raw JSON, independently of the reader), and `route` to every outbound service listener and
 * virtual host reaches the cluster the dump names with that cluster's SNI.
 */
import { expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { describeShared, SHARED } from '../helpers/cli.js';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { listClusterTls, routeTo } from '../../src/analysis/route.js';

const FILES = [
  'fixtures/istio/istioctl/cmd/testdata/authz/productpage_config_dump.json',
  'fixtures/istio/istioctl/cmd/testdata/describe/ratings-v1-f745cf57b-vfwcv.json',
  'fixtures/istio/istioctl/cmd/testdata/describe/productpage-v1-c7765c886-v99jb.json',
  'fixtures/istio/istioctl/cmd/testdata/describe/productpage-v1-7bbd79f8fd-k6j79.json',
  'fixtures/istio/istioctl/pkg/proxyconfig/testdata/config_dump.json',
  'fixtures/istio/istioctl/pkg/writer/compare/testdata/configdump.json',
  'fixtures/istio/pkg/test/framework/components/echo/common/testdata/config_dump.json',
];

type J = Record<string, unknown>;
const obj = (v: unknown): J => (v && typeof v === 'object' && !Array.isArray(v) ? (v as J) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function sections(doc: J): J[] {
  const c = doc.configs;
  return (Array.isArray(c) ? c : Object.values(obj(c))).map(obj);
}

function rawClusters(doc: J): J[] {
  const out: J[] = [];
  for (const s of sections(doc)) {
    if (!String(s['@type']).endsWith('ClustersConfigDump')) continue;
    for (const k of ['static_clusters', 'dynamic_active_clusters']) for (const e of arr(s[k])) out.push(obj(obj(e).cluster));
  }
  return out;
}

/** What the raw cluster says it sends, by the shape of its sockets alone. */
function rawExpectation(c: J): { family: 'tls' | 'auto' | 'plain' | 'passthrough' | 'blackhole'; sni: string | null } {
  const ctx = (ts: unknown): J | null => {
    const t = obj(ts);
    const tc = obj(t.typed_config);
    return String(tc['@type'] ?? '').endsWith('UpstreamTlsContext') ? tc : null;
  };
  const matches = arr(c.transport_socket_matches).map(obj);
  const istioMatch = matches.find((m) => obj(m.match).tlsMode === 'istio' && ctx(m.transport_socket));
  if (istioMatch) return { family: 'auto', sni: String(ctx(istioMatch.transport_socket)!.sni ?? '') || null };
  const tls = ctx(c.transport_socket) ?? (c.tls_context ? obj(c.tls_context) : null);
  if (tls) return { family: 'tls', sni: typeof tls.sni === 'string' ? tls.sni : null };
  if (c.name === 'BlackHoleCluster') return { family: 'blackhole', sni: null };
  if (c.type === 'ORIGINAL_DST') return { family: 'passthrough', sni: null };
  return { family: 'plain', sni: null };
}

const FAMILY: Record<string, string> = { 'istio-mutual': 'tls', mutual: 'tls', simple: 'tls', 'auto-mtls': 'auto', plaintext: 'plain', passthrough: 'passthrough', blackhole: 'blackhole' };

describeShared('route and cluster TLS modes on real Istio dumps', () => {
  const totals = { clusters: 0, routes: 0 };
  for (const rel of FILES) {
    const doc = JSON.parse(readFileSync(SHARED + rel, 'utf8')) as J;
    const dump = parseConfigDump(doc, rel);
    const raw = new Map(rawClusters(doc).map((c) => [String(c.name), c]));

    it(`${rel}: every cluster gets a TLS mode that agrees with its own transport sockets`, () => {
      const l = listClusterTls(dump);
      expect(l.clusters.length).toBe(raw.size);
      for (const c of l.clusters) {
        const exp = rawExpectation(raw.get(c.cluster)!);
        expect({ cluster: c.cluster, family: FAMILY[c.mode] ?? c.mode }).toEqual({ cluster: c.cluster, family: exp.family });
        if (exp.sni !== null) expect(c.tls?.sni).toBe(exp.sni);
      }
      totals.clusters += l.clusters.length;
    });

    it(`${rel}: route to each outbound service listener and virtual host reaches the dump's cluster with its SNI`, () => {
      let checked = 0;
      const nodeIps = new Set(dump.node?.ips ?? []);
      for (const l of dump.listeners) {
        if (!l.address || l.trafficDirection === 'INBOUND' || l.useOriginalDst || nodeIps.has(l.address.address) || l.address.port === 15006) continue;
        const wildcard = l.address.address === '0.0.0.0' || l.address.address === '::';
        for (const chain of l.filterChains) {
          if (chain.match.prefixRanges.length || chain.match.destinationPort !== null || chain.match.serverNames.length || chain.match.applicationProtocols.length) continue;
          for (const f of chain.filters) {
            const targets: { host: string; port: number; cluster: string }[] = [];
            if (f.tcpProxy?.cluster && !wildcard) targets.push({ host: l.address.address, port: l.address.port, cluster: f.tcpProxy.cluster });
            const rc = f.hcm?.routeConfig;
            if (rc && wildcard) {
              for (const vh of rc.virtualHosts) {
                const d = vh.domains.find((x) => !x.includes('*') && !x.includes(':'));
                const r = vh.routes[0];
                if (!d || !r?.cluster || r.action !== 'route' || Object.keys(r.match).some((k) => k !== 'prefix') || r.match.prefix !== '/') continue;
                targets.push({ host: d, port: l.address.port, cluster: r.cluster });
              }
            }
            for (const t of targets) {
              const res = routeTo(dump, { host: t.host, port: t.port, http: rc !== undefined && rc !== null });
              expect({ to: `${t.host}:${t.port}`, cluster: res.cluster?.name }).toEqual({ to: `${t.host}:${t.port}`, cluster: t.cluster });
              const rawC = raw.get(t.cluster);
              if (rawC) {
                const exp = rawExpectation(rawC);
                expect(FAMILY[res.tls!.mode] ?? res.tls!.mode).toBe(exp.family);
                if (exp.sni !== null) expect(res.tls?.sni).toBe(exp.sni);
              }
              checked++;
            }
          }
        }
      }
      totals.routes += checked;
      // Dumps with only sidecar-internal listeners (HBONE, proxyconfig) have no service listeners to route to.
      if (dump.listeners.some((l) => l.trafficDirection === 'OUTBOUND' && !l.useOriginalDst && l.filterChains.some((c) => c.filters.some((f) => f.tcpProxy?.cluster?.startsWith('outbound|') || f.hcm?.routeConfig)))) expect(checked).toBeGreaterThan(0);
    });
  }
  it('totals', () => {
    process.stdout.write(`route fixtures: ${totals.clusters} clusters classified, ${totals.routes} routes checked\n`);
    expect(totals.clusters).toBeGreaterThan(250);
  });
});
