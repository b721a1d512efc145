/**
 * Every real Istio dump in ../shared/fixtures/istio loads, and each expectation documented in
 * fixtures/INDEX.md holds (one test per expectation).
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { SHARED, hasShared, describeShared } from '../../helpers/cli.js';
import { loadConfigDumps } from '../../../src/readers/configdump/index.js';
import type { ConfigDump, FilterChain } from '../../../src/envoy/model.js';
import { analyzePolicies, authzCheckSummary, type ProxyPolicies } from '../../../src/analysis/policies.js';
import { selectFilterChain } from '../../../src/envoy/select.js';
import { inboundMtlsModes } from '../../../src/istio/mtls.js';
import { renderTable } from '../../../src/report/table.js';

const I = `${SHARED}fixtures/istio/`;
const AUTHZ = `${I}istioctl/pkg/authz/testdata/configdump.yaml`;
const WAYPOINT = `${I}istioctl/pkg/proxyconfig/testdata/config_dump.json`;
const PRODUCTPAGE = `${I}istioctl/cmd/testdata/authz/productpage_config_dump.json`;
const RATINGS = `${I}istioctl/cmd/testdata/describe/ratings-v1-f745cf57b-vfwcv.json`;
const PP13 = `${I}istioctl/cmd/testdata/describe/productpage-v1-7bbd79f8fd-k6j79.json`;
const PP14 = `${I}istioctl/cmd/testdata/describe/productpage-v1-c7765c886-v99jb.json`;
const ECHO = `${I}pkg/test/framework/components/echo/common/testdata/config_dump.json`;
const COMPARE = `${I}istioctl/pkg/writer/compare/testdata/configdump.json`;
const COMPARE_DIFF = `${I}istioctl/pkg/writer/compare/testdata/configdump_diff.json`;
const W = `${I}istioctl/pkg/writer/envoy/configdump/testdata/`;

async function one(path: string): Promise<ConfigDump> {
  const { dumps } = await loadConfigDumps([path]);
  expect(dumps).toHaveLength(1);
  return dumps[0]!;
}

const allChains = (d: ConfigDump): FilterChain[] => d.listeners.flatMap((l) => [...l.filterChains, ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])]);

describeShared('real Istio config dumps (needs ../shared)', () => {
  it('loads every dump under fixtures/istio without throwing', async () => {
    const files = [AUTHZ, WAYPOINT, PRODUCTPAGE, RATINGS, PP13, PP14, ECHO, COMPARE, COMPARE_DIFF,
      `${W}configdump.json`, `${W}bootstrapdump.json`, `${W}secret/istio/config_dump.json`, `${W}secret/spire/config_dump.json`,
      `${W}endpoint/configdump.json`, `${W}ecds/configdump.json`, `${W}routes/empty-gateway/configdump.json`,
      `${W}routes/istio-gateway-http-route-prefix/configdump.json`, `${W}routes/k8s-gateway-http-route-path-prefix/configdump.json`];
    const { dumps } = await loadConfigDumps(files);
    expect(dumps).toHaveLength(files.length);
    for (const d of dumps) expect(() => analyzePolicies(d)).not.toThrow();
  });

  describe('§1 configdump.yaml (current format, RBAC, PERMISSIVE)', () => {
    let d: ConfigDump;
    let p: ProxyPolicies;
    beforeAll(async () => {
      d = await one(AUTHZ);
      p = analyzePolicies(d);
    });

    it('holds only a ListenersConfigDump: 29 listeners and 49 filter chains (with default chains), no node', () => {
      expect(d.sections).toEqual(['listeners']);
      expect(d.listeners).toHaveLength(29);
      expect(allChains(d)).toHaveLength(49);
      expect(d.node).toBeNull();
    });

    it('has 10 HTTP RBAC, 3 network RBAC and 5 HTTP ext_authz filters', () => {
      expect(p.counts.httpRbac).toBe(10);
      expect(p.counts.networkRbac).toBe(3);
      expect(p.counts.httpExtAuthz).toBe(5);
      expect(p.counts.networkExtAuthz).toBe(0);
    });

    it('virtualInbound has 8 chains; the blackhole chain has no RBAC', () => {
      const vi = p.listeners.find((l) => l.name === 'virtualInbound')!;
      expect(vi.chains).toHaveLength(8);
      expect(vi.chains.filter((c) => c.name === 'virtualInbound-blackhole').every((c) => c.filters.length === 0)).toBe(true);
    });

    it('catch-all HTTP and port-80 chains run [rbac ALLOW, rbac shadow-only CUSTOM marker, ext_authz] in that order', () => {
      const vi = p.listeners.find((l) => l.name === 'virtualInbound')!;
      const http = vi.chains.filter((c) => c.name === 'virtualInbound-catchall-http' || c.name === '0.0.0.0_80');
      expect(http).toHaveLength(4);
      for (const c of http) {
        expect(c.filters.map((f) => `${f.type}:${f.type === 'rbac' ? f.role : f.kind}`)).toEqual(['rbac:enforce', 'rbac:custom-marker', 'ext_authz:http']);
      }
      expect(http.filter((c) => c.name === '0.0.0.0_80').map((c) => c.port)).toEqual([80, 80]);
    });

    it('the three TCP virtualInbound chains carry a network RBAC with rules {} (deny all TCP) and stat_prefix tcp.', () => {
      const vi = d.listeners.find((l) => l.name === 'virtualInbound')!;
      const tcp = vi.filterChains.filter((c) => c.name === 'virtualInbound');
      expect(tcp).toHaveLength(3);
      const summary = analyzePolicies(d).listeners.find((l) => l.name === 'virtualInbound')!.chains.filter((c) => c.name === 'virtualInbound');
      for (const c of summary) {
        const f = c.filters[0]!;
        expect(f.type === 'rbac' && f.kind === 'network' && f.role === 'deny-all' && f.statPrefix === 'tcp.').toBe(true);
      }
      // one of them is the TLS pass-through chain: tls match without a transport socket
      expect(tcp.filter((c) => c.match.transportProtocol === 'tls' && c.transportSocket === null)).toHaveLength(1);
    });

    it('main_internal (internal listener, no address) carries the same HTTP trio without metadata_exchange', () => {
      const mi = d.listeners.find((l) => l.name === 'main_internal')!;
      expect(mi.address).toBeNull();
      expect(mi.internal).toBe(true);
      const lp = p.listeners.find((l) => l.name === 'main_internal')!;
      expect(lp.chains[0]!.filters.map((f) => f.type)).toEqual(['rbac', 'rbac', 'ext_authz']);
      const names = mi.filterChains[0]!.filters.flatMap((f) => f.hcm?.httpFilters.map((h) => h.name) ?? []);
      expect(names).not.toContain('istio.metadata_exchange');
    });

    it('outbound listeners carry no RBAC', () => {
      for (const l of p.listeners.filter((x) => x.direction === 'OUTBOUND')) for (const c of l.chains) expect(c.filters).toEqual([]);
    });

    it('first HTTP RBAC: enforcing ALLOW ns[default]-policy[httpbin]-rule[0] (no action key → ALLOW), dry-run prefix istio_dry_run_allow_', () => {
      const f = p.listeners.find((l) => l.name === 'virtualInbound')!.chains.find((c) => c.name === '0.0.0.0_80')!.filters[0]!;
      expect(f.type).toBe('rbac');
      if (f.type !== 'rbac') return;
      expect(f.rules?.action).toBe('ALLOW');
      expect(f.policies.map((x) => [x.id, x.namespace, x.policy, x.rule, x.istioAction, x.enforced])).toEqual([
        ['ns[default]-policy[httpbin]-rule[0]', 'default', 'httpbin', 0, 'ALLOW', true],
      ]);
      expect(f.policies[0]!.permissions).toBe(2);
      expect(f.policies[0]!.principals).toBe(2);
      expect(f.shadowRulesStatPrefix).toBe('istio_dry_run_allow_');
      // the peer identity goes through filter_state io.istio.peer_principal
      const raw = JSON.stringify(d.listeners.find((l) => l.name === 'virtualInbound')!.filterChains[6]!.filters.find((x) => x.hcm)!.hcm!.httpFilters.find((h) => h.name === 'envoy.filters.http.rbac')!.config);
      expect(raw).toContain('io.istio.peer_principal');
    });

    it('second HTTP RBAC: only shadow DENY istio-ext-authz-ns[default]-policy[ext-authz]-rule[0] with prefix istio_ext_authz_', () => {
      const f = p.listeners.find((l) => l.name === 'virtualInbound')!.chains.find((c) => c.name === '0.0.0.0_80')!.filters[1]!;
      if (f.type !== 'rbac') throw new Error('expected rbac');
      expect(f.rules).toBeNull();
      expect(f.shadowRules?.action).toBe('DENY');
      expect(f.shadowRulesStatPrefix).toBe('istio_ext_authz_');
      expect(f.policies.map((x) => [x.id, x.istioAction, x.enforced, x.policy, x.namespace])).toEqual([
        ['istio-ext-authz-ns[default]-policy[ext-authz]-rule[0]', 'CUSTOM', false, 'ext-authz', 'default'],
      ]);
    });

    it('ext_authz is enabled by RBAC metadata istio_ext_authz_shadow_effective_policy_id prefix istio-ext-authz, gRPC cluster outbound|9191||sample-ext-authz-grpc', () => {
      const f = p.listeners.find((l) => l.name === 'virtualInbound')!.chains.find((c) => c.name === '0.0.0.0_80')!.filters[2]!;
      if (f.type !== 'ext_authz') throw new Error('expected ext_authz');
      expect(f.enabledBy).toEqual({ filter: 'envoy.filters.http.rbac', key: 'istio_ext_authz_shadow_effective_policy_id', match: 'prefix "istio-ext-authz"' });
      expect(f.target).toBe('grpc outbound|9191||sample-ext-authz-grpc');
    });

    it('4 chains terminate TLS with require_client_certificate, SDS default and validation ROOTCA (incl. connect_terminate whose socket is named just "tls")', () => {
      const mtls = allChains(d).filter((c) => c.transportSocket?.tls?.requireClientCertificate);
      expect(mtls).toHaveLength(4);
      for (const c of mtls) {
        expect(c.transportSocket!.tls!.sdsCerts).toEqual(['default']);
        expect(c.transportSocket!.tls!.validationSds).toEqual(['ROOTCA']);
      }
      const ct = d.listeners.find((l) => l.name === 'connect_terminate')!;
      const ctc = [...ct.filterChains, ...(ct.defaultFilterChain ? [ct.defaultFilterChain] : [])][0]!;
      expect(ctc.transportSocket!.name).toBe('tls');
      expect(ctc.transportSocket!.tls!.alpn).toEqual(['h2']);
      expect(ct.address).toEqual({ address: '0.0.0.0', port: 15008 });
      const tcpTls = d.listeners.find((l) => l.name === 'virtualInbound')!.filterChains.find((c) => c.match.applicationProtocols.includes('istio-peer-exchange'))!;
      expect(tcpTls.transportSocket!.tls!.alpn).toEqual(['istio-peer-exchange', 'h2', 'http/1.1']);
    });

    it('inbound mode is PERMISSIVE for port 80 and the catch-all; HBONE 15008 is mTLS-only', () => {
      const modes = inboundMtlsModes(d);
      expect(modes.find((m) => m.port === '*')!.mode).toBe('PERMISSIVE');
      expect(modes.find((m) => m.port === 80)!.mode).toBe('PERMISSIVE');
      expect(modes.find((m) => m.port === 80)!.override).toBe(false);
      const hb = modes.find((m) => m.hbone)!;
      expect([hb.port, hb.mode]).toEqual([15008, 'STRICT']);
    });

    it('agrees with the istioctl x authz check golden (authz_test.go)', () => {
      const out = renderTable({ headers: ['ACTION', 'AuthorizationPolicy', 'RULES'], rows: authzCheckSummary(d).map((r) => [r.action, r.policy, r.rules]) });
      expect(out).toBe(
        ['ACTION   AuthorizationPolicy         RULES', 'ALLOW    _anonymous_match_nothing_   1', 'ALLOW    httpbin.default             1', 'CUSTOM   ext-authz.default           1', ''].join('\n'),
      );
    });
  });

  describe('§2 legacy dumps (Istio 1.0–1.4, Envoy v2)', () => {
    it('productpage 1.1.1: node, 39 dynamic listeners, 17 listed by the old authz check (0.0.0.0_*, virtual, 10.52.2.21_*)', async () => {
      const d = await one(PRODUCTPAGE);
      expect([d.node?.pod, d.node?.namespace, d.node?.ip, d.node?.istioVersion]).toEqual(['productpage-v1-5cb458d74f-56sx7', 'default', '10.52.2.21', '1.1.1']);
      const dyn = d.listeners.filter((l) => l.state === 'active');
      expect(dyn).toHaveLength(39);
      expect(dyn.filter((l) => l.address && (l.address.address === '0.0.0.0' || l.address.address === '10.52.2.21'))).toHaveLength(17);
    });

    it('productpage 1.1.1: 10.52.2.21_9080 is STRICT via tls_context with /etc/certs/cert-chain.pem and RBAC service-viewer (config struct)', async () => {
      const d = await one(PRODUCTPAGE);
      const l = d.listeners.find((x) => x.name === '10.52.2.21_9080')!;
      expect(l.filterChains).toHaveLength(1);
      const c = l.filterChains[0]!;
      expect(c.transportSocket?.tls?.legacy).toBe(true);
      expect(c.transportSocket?.tls?.certFiles).toEqual(['/etc/certs/cert-chain.pem']);
      // a key *file name* is a path, not a secret: kept as is
      expect(JSON.stringify(c.transportSocket?.config)).toContain('"private_key":{"filename":"/etc/certs/key.pem"}');
      expect(inboundMtlsModes(d).find((m) => m.listener === '10.52.2.21_9080')!.mode).toBe('STRICT');
      const hcm = c.filters.find((f) => f.hcm)!.hcm!;
      expect(hcm.httpFilters.map((h) => h.name).slice(0, 4)).toEqual(['jwt-auth', 'istio_authn', 'envoy.filters.http.rbac', 'mixer']);
      const rbac = hcm.httpFilters.find((h) => h.name === 'envoy.filters.http.rbac')!;
      expect(rbac.configSource).toBe('config');
      const p = analyzePolicies(d);
      const f = p.listeners.find((x) => x.name === '10.52.2.21_9080')!.chains[0]!.filters[0]!;
      expect(f.type === 'rbac' && f.policies.map((x) => x.id)).toEqual(['service-viewer']);
    });

    it('productpage 1.1.1 agrees with productpage.golden row by row (certificate, mTLS, authz)', async () => {
      const d = await one(PRODUCTPAGE);
      const golden = readFileSync(`${I}istioctl/cmd/testdata/authz/productpage.golden`, 'utf8').trim().split('\n');
      expect(golden[0]).toBe('Checked 17/39 listeners with node IP 10.52.2.21.');
      const p = analyzePolicies(d);
      for (const line of golden.slice(2)) {
        const cols = line.split(/\s{2,}/);
        const [name, cert, mtls, authz] = cols as [string, string, string, string];
        const l = d.listeners.find((x) => x.displayName === name && x.state === 'active')!;
        expect(l, name).toBeDefined();
        const c = l.filterChains[0]!;
        expect(c.transportSocket?.tls?.certFiles[0] ?? 'none', name).toBe(cert);
        expect(c.transportSocket?.tls?.requireClientCertificate ? 'yes' : 'no', name).toBe(mtls.split(' ')[0]);
        const pols = p.listeners.find((x) => x.name === name)!.chains[0]!.filters.flatMap((f) => (f.type === 'rbac' ? f.policies.map((x) => x.id) : []));
        expect(pols.length ? `yes (${pols.length}: ${pols.join(', ')})` : 'no (none)', name).toBe(authz);
        if (mtls.startsWith('yes')) expect(inboundMtlsModes(d).find((m) => m.listener === name)!.mode).toBe('STRICT');
      }
    });

    it('ratings 1.2: 172.30.144.156_9080 is PERMISSIVE (istio ALPN tls_context chain + plaintext chain), both with RBAC ratings-reader (v2 @type)', async () => {
      const d = await one(RATINGS);
      expect(d.node?.namespace).toBe('bookinfo');
      const l = d.listeners.find((x) => x.name === '172.30.144.156_9080')!;
      expect(l.filterChains).toHaveLength(2);
      expect(l.filterChains[0]!.match.applicationProtocols).toEqual(['istio']);
      expect(l.filterChains[0]!.transportSocket?.tls?.requireClientCertificate).toBe(true);
      expect(l.filterChains[1]!.transportSocket).toBeNull();
      expect(inboundMtlsModes(d).find((m) => m.listener === '172.30.144.156_9080')!.mode).toBe('PERMISSIVE');
      const chains = analyzePolicies(d).listeners.find((x) => x.name === '172.30.144.156_9080')!.chains;
      for (const c of chains) {
        const f = c.filters[0]!;
        expect(f.type === 'rbac' && f.typeUrl).toBe('type.googleapis.com/envoy.config.filter.http.rbac.v2.RBAC');
        expect(f.type === 'rbac' && f.policies.map((x) => x.id)).toEqual(['ratings-reader']);
      }
    });

    it('productpage 1.3: virtualInbound has 7 chains, 9080 is PERMISSIVE, no RBAC anywhere', async () => {
      const d = await one(PP13);
      const vi = d.listeners.find((l) => l.name === 'virtualInbound')!;
      expect(vi.filterChains).toHaveLength(7);
      expect(inboundMtlsModes(d).find((m) => m.listener === 'virtualInbound' && m.port === 9080)!.mode).toBe('PERMISSIVE');
      const p = analyzePolicies(d);
      expect(p.counts.httpRbac + p.counts.networkRbac).toBe(0);
      expect(p.authorizationPolicies).toEqual([]);
    });

    it('productpage 1.4: 7 listeners, virtualInbound with 5 chains, 9080 (IPv4 and IPv6 link-local) STRICT, 7 clusters with tlsMode istio socket matches, no RBAC', async () => {
      const d = await one(PP14);
      expect(d.listeners).toHaveLength(7);
      const vi = d.listeners.find((l) => l.name === 'virtualInbound')!;
      expect(vi.filterChains).toHaveLength(5);
      const c9080 = vi.filterChains.filter((c) => c.match.destinationPort === 9080);
      expect(c9080.map((c) => c.match.prefixRanges[0]!.addressPrefix)).toEqual(['172.30.144.174', 'fe80::10e7:52ff:fecd:198b']);
      expect(inboundMtlsModes(d).find((m) => m.listener === 'virtualInbound' && m.port === 9080)!.mode).toBe('STRICT');
      const tsm = d.clusters.filter((c) => c.transportSocketMatches.some((m) => (m.match as Record<string, unknown>).tlsMode === 'istio'));
      expect(tsm).toHaveLength(7);
      expect(analyzePolicies(d).counts.httpRbac).toBe(0);
    });

    it('echo 1.0-dev: 8 HTTP RBAC (ports 80, 8080, 70, 7070) and 4 network RBAC (90, 9090), all deny-all, PERMISSIVE on those 6 ports', async () => {
      const d = await one(ECHO);
      const p = analyzePolicies(d);
      expect(p.counts.httpRbac).toBe(8);
      expect(p.counts.networkRbac).toBe(4);
      const byPort = new Map<number, string[]>();
      for (const l of p.listeners) for (const c of l.chains) for (const f of c.filters) if (f.type === 'rbac') byPort.set(c.port!, [...(byPort.get(c.port!) ?? []), `${f.kind}:${f.role}`]);
      expect([...byPort.keys()].sort((a, b) => a - b)).toEqual([70, 80, 90, 7070, 8080, 9090]);
      for (const [port, roles] of byPort) {
        expect(roles, String(port)).toEqual(port === 90 || port === 9090 ? ['network:deny-all', 'network:deny-all'] : ['http:deny-all', 'http:deny-all']);
        expect(inboundMtlsModes(d).find((m) => m.port === port)!.mode).toBe('PERMISSIVE');
      }
    });
  });

  describe('§3 current-format dumps without RBAC', () => {
    it('waypoint: 0 RBAC filters although envoy.filters.http.rbac appears 12 times as tracing custom tags', async () => {
      const text = readFileSync(WAYPOINT, 'utf8');
      expect(text.split('envoy.filters.http.rbac').length - 1).toBe(12);
      const p = analyzePolicies(await one(WAYPOINT));
      expect(p.counts).toMatchObject({ httpRbac: 0, networkRbac: 0, httpExtAuthz: 0, networkExtAuthz: 0 });
    });

    it('waypoint: all 7 sections, Istio 1.21.0-1226, 3 clusters, 5 listener chains (main_internal 4 + static 15021), 1 route, 2 endpoints', async () => {
      const d = await one(WAYPOINT);
      expect(d.sections.sort()).toEqual(['bootstrap', 'clusters', 'endpoints', 'listeners', 'routes', 'scoped_routes', 'secrets']);
      expect(d.node?.istioVersion).toBe('1.21.0-1226');
      expect(d.node?.istioProxySha).toBe('ee85c5f28702f00621aed895915fca565796b9e4');
      expect(d.clusters).toHaveLength(3);
      expect(allChains(d)).toHaveLength(5);
      expect(d.listeners.find((l) => l.name === 'main_internal')!.filterChains.map((c) => c.name)).toEqual([
        'inbound-vip|8000||httpbin.default.svc.cluster.local-http',
        'inbound-vip|8100||httpbin.default.svc.cluster.local-http',
        'direct-tcp',
        'direct-http',
      ]);
      const st = d.listeners.find((l) => l.state === 'static')!;
      expect([st.name, st.displayName, st.address?.port]).toEqual(['', '0.0.0.0_15021', 15021]);
      expect(d.routeConfigs.size).toBe(1);
      expect(d.endpoints).toHaveLength(2);
      // main_internal selects chains with an xDS matcher tree, which is evaluated (not reported as not understood)
      expect(d.notUnderstood.some((n) => n.name === 'filter_chain_matcher')).toBe(false);
    });

    it('waypoint main_internal: filter_chain_matcher picks the chain by VIP (IPMatcher) → port, and the workload IP by ALPN', async () => {
      const d = await one(WAYPOINT);
      const pick = (address: string, port: number, alpn?: string[]) => {
        const s = selectFilterChain(d, { source: { address: '10.0.0.5', port: 40000 }, destination: { address, port }, ...(alpn ? { alpn } : {}) }, { listener: 'main_internal' });
        return `${s.reason} ${s.chain?.name ?? '-'}`;
      };
      expect(pick('10.104.171.68', 8000)).toBe('matched inbound-vip|8000||httpbin.default.svc.cluster.local-http');
      expect(pick('10.104.171.68', 8100)).toBe('matched inbound-vip|8100||httpbin.default.svc.cluster.local-http');
      expect(pick('192.168.195.248', 8080, ['http/1.1'])).toBe('matched direct-http');
      expect(pick('192.168.195.248', 8080)).toBe('matched direct-tcp');
      // a VIP port the waypoint does not serve, and an unknown destination: no chain (main_internal has no default chain)
      expect(pick('10.104.171.68', 9999)).toBe('filter_chain_not_found -');
      expect(pick('10.1.1.1', 8000)).toBe('filter_chain_not_found -');
    });

    it('waypoint secrets: default (expired 2023-05-16, serial 6fbee254…) and ROOTCA (CA until 2033-05-02); private key never kept', async () => {
      const d = await one(WAYPOINT);
      expect(d.secrets.map((s) => [s.name, s.kind, s.certificates[0]?.isCa, s.certificates[0]?.serialNumber, s.certificates[0]?.notAfter, s.certificates[0]?.notBefore])).toEqual([
        ['default', 'tls_certificate', false, '6fbee254c22900615cb1f74e3d2f1713', '2023-05-16T01:32:52Z', '2023-05-15T01:30:52Z'],
        ['ROOTCA', 'validation_context', true, '0193a543fe2b0d9cd4847675394dfc54', '2033-05-02T03:41:33Z', '2023-05-05T03:41:33Z'],
      ]);
      expect(d.secrets[0]!.certificates[0]!.uriSans).toEqual(['spiffe://cluster.local/ns/ambient/sa/namespace-istio-waypoint']);
      expect(JSON.stringify(d.secrets)).not.toMatch(/private_key|W3JlZGFjdGVkXQ==/);
    });

    it('compare/configdump.json and _diff: 3 listeners each (connect_terminate 15008 mTLS h2 default/ROOTCA), 1 cluster, 1 route; _diff renames 9080 to 9999', async () => {
      for (const f of [COMPARE, COMPARE_DIFF]) {
        const d = await one(f);
        expect(d.listeners.map((l) => l.name).sort()).toEqual(['connect_originate', 'connect_terminate', 'main_internal']);
        expect(d.clusters).toHaveLength(1);
        expect(d.routeConfigs.size).toBe(1);
        const ct = allChains({ ...d, listeners: d.listeners.filter((l) => l.name === 'connect_terminate') })[0]!;
        expect(ct.transportSocket?.tls).toMatchObject({ requireClientCertificate: true, alpn: ['h2'], sdsCerts: ['default'], validationSds: ['ROOTCA'] });
        expect(analyzePolicies(d).counts.httpRbac).toBe(0);
      }
      expect(readFileSync(COMPARE, 'utf8')).toContain('9080');
      expect(readFileSync(COMPARE_DIFF, 'utf8')).toContain('9999');
    });
  });

  describe('§4 istioctl writer inputs', () => {
    it('bootstrap-only dumps: Istio 1.10.0, proxy SHA 436f365a…, Envoy 1.18.3/Clean/RELEASE/BoringSSL (versionsummary.txt)', async () => {
      for (const f of [`${W}configdump.json`, `${W}bootstrapdump.json`]) {
        const d = await one(f);
        expect(d.node?.istioVersion).toBe('1.10.0');
        expect(d.node?.istioProxySha).toBe('436f365a8007cd8a13a9f1321e7cce94bcc8883e');
        expect(d.node?.envoyVersion).toBe('1.18.3/Clean/RELEASE/BoringSSL');
      }
      const summary = readFileSync(`${W}versionsummary.txt`, 'utf8');
      expect(summary).toContain('1.18.3/Clean/RELEASE/BoringSSL');
    });

    it('secret/istio: default cert chain (not valid after 2023-05-16), ROOTCA CA, a warming configmap://some/thing; matches the golden serials', async () => {
      const d = await one(`${W}secret/istio/config_dump.json`);
      const golden = readFileSync(`${W}secret/istio/output`, 'utf8');
      expect(d.secrets.map((s) => [s.name, s.state])).toEqual([
        ['default', 'active'],
        ['ROOTCA', 'active'],
        ['configmap://some/thing', 'warming'],
      ]);
      for (const s of d.secrets.filter((x) => x.certificates.length)) {
        expect(golden).toContain(s.certificates[0]!.serialNumber);
        expect(golden).toContain(s.certificates[0]!.notAfter);
      }
      expect(d.secrets[1]!.certificates[0]!.isCa).toBe(true);
    });

    it('secret/spire: ROOTCA uses the SPIFFE validator with trust domains east.local and west.local (golden serials)', async () => {
      const d = await one(`${W}secret/spire/config_dump.json`);
      const golden = readFileSync(`${W}secret/spire/output`, 'utf8');
      const root = d.secrets.find((s) => s.name === 'ROOTCA')!;
      expect(root.trustDomains.map((t) => t.name)).toEqual(['east.local', 'west.local']);
      for (const t of root.trustDomains) expect(golden).toContain(t.certificates[0]!.serialNumber);
      expect(golden).toContain(d.secrets.find((s) => s.name === 'default')!.certificates[0]!.serialNumber);
    });

    it('endpoint dump: endpoints carry tlsMode metadata; the port filter 8080 leaves 2 endpoints', async () => {
      const d = await one(`${W}endpoint/configdump.json`);
      expect(d.endpoints.filter((e) => e.port === 8080)).toHaveLength(2);
      const golden = readFileSync(`${W}endpoint/portfilter_output.txt`, 'utf8');
      for (const e of d.endpoints.filter((x) => x.port === 8080)) expect(golden).toContain(`${e.address}:8080`);
    });

    it('routes: gateway route http.8080 has vhost httpbin.example.com:80 with prefix /get and VirtualService httpbin.default', async () => {
      const d = await one(`${W}routes/istio-gateway-http-route-prefix/configdump.json`);
      const rc = d.routeConfigs.get('http.8080')!;
      const vh = rc.virtualHosts.find((v) => v.name === 'httpbin.example.com:80')!;
      expect(vh.routes[0]!.match.prefix).toBe('/get');
      expect(JSON.stringify(vh.routes[0]!.metadata)).toContain('/namespaces/default/virtual-service/httpbin');
    });

    it('ecds: the EcdsConfigDump sections are indexed by filter name', async () => {
      const d = await one(`${W}ecds/configdump.json`);
      expect(d.ecdsFilters.size).toBe(6);
      expect(d.ecdsFilters.has('default.httpbin-rate-limiting')).toBe(true);
      expect(d.sections).toEqual(['ecds']);
    });
  });
});
