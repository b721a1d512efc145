import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SHARED, hasShared, describeShared } from '../helpers/cli.js';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { decideRequest, composeDecision } from '../../src/envoy/decide.js';
import { parseRbacFilter } from '../../src/rbac/index.js';
import type { RequestAttrs } from '../../src/model/attrs.js';

const sleep = 'spiffe://cluster.local/ns/default/sa/sleep';
const mtls = (san = sleep) => ({ uriSans: [san], dnsSans: [], subject: '', peerCertificateValidated: true });
const jwt = { istio_authn: { 'request.auth.claims': { iss: ['https://accounts.google.com'] } } };

describe('composeDecision', () => {
  const allowGet = parseRbacFilter({ rules: { policies: { get: { permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }], principals: [{ any: true }] } } } }, { kind: 'http' });
  const denyAdmin = parseRbacFilter({ rules: { action: 'DENY', policies: { 'no admin': { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } } } }, { kind: 'http' });
  const netDeny = parseRbacFilter({ '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC', stat_prefix: 'tcp.', rules: { action: 'DENY', policies: { 'bad-port': { permissions: [{ destination_port: 6379 }], principals: [{ any: true }] } } } }, { kind: 'network' });
  const steps = [{ type: 'rbac' as const, filter: netDeny }, { type: 'rbac' as const, filter: denyAdmin }, { type: 'rbac' as const, filter: allowGet }];
  const req = (method: string, path: string, port = 80): RequestAttrs => ({ destination: { address: '10.0.0.1', port }, http: { method, path, headers: {} } });
  it('first deny wins, and says what Envoy logs', () => {
    expect(composeDecision(steps, req('GET', '/admin/x'))).toMatchObject({ decision: 'DENY', policy: 'no admin', responseCodeDetails: 'rbac_access_denied_matched_policy[no_admin]' });
    expect(composeDecision(steps, req('POST', '/'))).toMatchObject({ decision: 'DENY', policy: null, responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
    expect(composeDecision(steps, req('GET', '/'))).toMatchObject({ decision: 'ALLOW', policy: 'get', responseCodeDetails: null });
  });
  it('network RBAC runs before the HTTP filters and reports CONNECTION_TERMINATION_DETAILS', () => {
    const d = composeDecision(steps, req('GET', '/', 6379));
    expect(d).toMatchObject({ decision: 'DENY', policy: 'bad-port', responseCodeDetails: null, connectionTerminationDetails: 'rbac_access_denied_matched_policy[bad-port]' });
    expect(d.filters).toHaveLength(1);
  });
  it('ALLOW-with-no-match carries the closest miss', () => {
    const d = composeDecision(steps, req('POST', '/'));
    expect(d.closestMiss?.[0]).toMatchObject({ policy: 'get', failedConditions: 1 });
  });
});

describeShared('decideRequest on the authz fixture dump (needs ../shared)', () => {
  const file = `${SHARED}fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml`;
  const dump = parseConfigDump(JSON.parse(readFileSync(file, 'utf8')), file);
  const base = (over: Partial<RequestAttrs>): RequestAttrs => ({ source: { address: '10.244.0.9', port: 40000 }, destination: { address: '10.244.0.5', port: 80 }, ...over });

  it('mTLS from sleep with the JWT claim: ALLOW by the httpbin policy, then the CUSTOM ext_authz gets it', () => {
    const d = decideRequest(dump, base({ tls: mtls(), metadata: jwt, http: { method: 'GET', path: '/info', headers: {} } }));
    expect(d.listener).toBe('virtualInbound');
    expect(d.filterChain).toBe('0.0.0.0_80');
    expect(d.filters[0]).toMatchObject({ name: 'envoy.filters.http.rbac', result: 'ALLOW', effectivePolicy: 'ns[default]-policy[httpbin]-rule[0]' });
    // The hand-inserted CUSTOM marker matches the same requests, so ext_authz would be consulted.
    expect(d.decision).toBe('UNDECIDABLE');
    expect(d.filters.find((f) => f.custom)?.custom).toMatchObject({ wouldBeSent: true, provider: 'outbound|9191||sample-ext-authz-grpc' });
  });
  it('plaintext to port 80 (PERMISSIVE): the raw_buffer chain, and RBAC denies with [none]', () => {
    const d = decideRequest(dump, base({ http: { method: 'GET', path: '/info', headers: {} } }));
    expect(d).toMatchObject({ decision: 'DENY', policy: null, responseCodeDetails: 'rbac_access_denied_matched_policy[none]', filterChain: '0.0.0.0_80' });
    expect(d.closestMiss?.[0]?.failing.map((f) => f.attribute)).toContain('principal (filter state io.istio.peer_principal)');
  });
  it('a wrong method is denied by the ALLOW filter before ext_authz is consulted', () => {
    const d = decideRequest(dump, base({ tls: mtls(), metadata: jwt, http: { method: 'DELETE', path: '/info', headers: {} } }));
    expect(d).toMatchObject({ decision: 'DENY', responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
  });
  it('a TCP connection to another port hits the network RBAC rules: {} and is denied', () => {
    const d = decideRequest(dump, base({ destination: { address: '10.244.0.5', port: 9000 }, alpn: [] }));
    expect(d).toMatchObject({ decision: 'DENY', connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]', responseCodeDetails: null });
  });
});

describeShared('STRICT: plaintext finds no filter chain (needs ../shared)', () => {
  it('the authz dump made STRICT (raw_buffer chains removed, as Istio renders STRICT): filter_chain_not_found', () => {
    const file = `${SHARED}fixtures/istio/istioctl/pkg/authz/testdata/configdump.yaml`;
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { configs: { dynamic_listeners?: { name: string; active_state: { listener: { filter_chains: { filter_chain_match?: { transport_protocol?: string } }[] } } }[] }[] };
    for (const c of raw.configs) {
      for (const l of c.dynamic_listeners ?? []) {
        if (l.name !== 'virtualInbound') continue;
        l.active_state.listener.filter_chains = l.active_state.listener.filter_chains.filter((fc) => fc.filter_chain_match?.transport_protocol !== 'raw_buffer');
      }
    }
    const dump = parseConfigDump(raw, file);
    const plain = decideRequest(dump, { destination: { address: '10.244.0.5', port: 80 }, http: { method: 'GET', path: '/info', headers: {} } });
    expect(plain).toMatchObject({ decision: 'DENY', policy: null, responseCodeDetails: 'filter_chain_not_found', filters: [] });
    expect(plain.reasons?.[0]).toContain('STRICT');
    const tls = decideRequest(dump, { destination: { address: '10.244.0.5', port: 80 }, tls: mtls(), metadata: jwt, http: { method: 'DELETE', path: '/info', headers: {} } });
    expect(tls.responseCodeDetails).toBe('rbac_access_denied_matched_policy[none]');
  });
  it('a chain that terminates TLS without a transport match: the handshake fails, not an RBAC result', () => {
    // The compare fixture's connect_terminate listener (15008) only has an mTLS chain.
    const file = `${SHARED}fixtures/istio/istioctl/pkg/writer/compare/testdata/configdump.json`;
    const dump = parseConfigDump(JSON.parse(readFileSync(file, 'utf8')), file);
    const l = dump.listeners.find((x) => x.name === 'connect_terminate');
    if (!l) return;
    const d = decideRequest(dump, { destination: { address: '10.0.0.1', port: 15008 } }, { listener: 'connect_terminate' });
    expect(d.filters).toEqual([]);
    expect(d.responseCodeDetails === 'filter_chain_not_found' || (d.reasons ?? []).join(' ').includes('handshake')).toBe(true);
  });
});

describeShared('legacy Istio 1.2 dump: v1alpha1 RBAC through istio_authn metadata (needs ../shared)', () => {
  const file = `${SHARED}fixtures/istio/istioctl/cmd/testdata/describe/ratings-v1-f745cf57b-vfwcv.json`;
  const dump = parseConfigDump(JSON.parse(readFileSync(file, 'utf8')), file);
  const reviews = { uriSans: ['spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews'], dnsSans: [], subject: '', peerCertificateValidated: true };
  it('the ratings-reader ServiceRole allows GET from bookinfo-reviews over mTLS, and explains the rest', () => {
    const ok = decideRequest(dump, { destination: { address: '172.30.144.156', port: 9080 }, tls: reviews, http: { method: 'GET', path: '/ratings/0', headers: {} } });
    expect(ok).toMatchObject({ decision: 'ALLOW', policy: 'ratings-reader' });
    const post = decideRequest(dump, { destination: { address: '172.30.144.156', port: 9080 }, tls: reviews, http: { method: 'POST', path: '/ratings/0', headers: {} } });
    expect(post.closestMiss?.[0]?.failing[0]).toMatchObject({ attribute: ':method', actual: 'POST' });
    const plain = decideRequest(dump, { destination: { address: '172.30.144.156', port: 9080 }, http: { method: 'GET', path: '/ratings/0', headers: {} } });
    expect(plain.decision).toBe('DENY');
  });
});

describe('per-route overrides in a hand-written dump', () => {
  const rbacAllowGet = { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', rules: { policies: { 'get-only': { permissions: [{ header: { name: ':method', string_match: { exact: 'GET' } } }], principals: [{ any: true }] } } } };
  const dumpJson = {
    configs: [{
      '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
      static_listeners: [{ listener: {
        '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener',
        name: 'ingress',
        address: { socket_address: { address: '0.0.0.0', port_value: 8080 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: 'in',
          route_config: { name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
            { match: { prefix: '/open' }, route: { cluster: 'c' }, typed_per_filter_config: { rbac: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute' } } },
            { match: { prefix: '/post' }, route: { cluster: 'c' }, typed_per_filter_config: { rbac: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute', rbac: { rules: { policies: { 'post-only': { permissions: [{ header: { name: ':method', string_match: { exact: 'POST' } } }], principals: [{ any: true }] } } } } } } },
            { match: { prefix: '/' }, route: { cluster: 'c' } },
          ] }] },
          http_filters: [{ name: 'rbac', typed_config: rbacAllowGet }, { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
        } }] }],
      } }],
    }],
  };
  const dump = parseConfigDump(dumpJson, 'hand.json');
  const req = (method: string, path: string): RequestAttrs => ({ source: { address: '1.2.3.4', port: 5555 }, destination: { address: '10.0.0.1', port: 8080 }, http: { method, path, authority: 'x', headers: {} } });
  it('no override: the listener-level rules apply', () => {
    expect(decideRequest(dump, req('POST', '/x'))).toMatchObject({ decision: 'DENY', responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
    expect(decideRequest(dump, req('GET', '/x')).decision).toBe('ALLOW');
  });
  it('an empty RBACPerRoute disables RBAC on its route (keyed by the filter\'s configured name)', () => {
    const d = decideRequest(dump, req('POST', '/open/a'));
    expect(d.decision).toBe('ALLOW');
    expect(d.filters[0]!.note).toContain('disables RBAC');
  });
  it('a per-route rbac replaces the rules', () => {
    expect(decideRequest(dump, req('POST', '/post')).decision).toBe('ALLOW');
    expect(decideRequest(dump, req('GET', '/post'))).toMatchObject({ decision: 'DENY', responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
  });
});

describeShared('legacy Istio 1.1 productpage dump: v2 `regex` string matchers (needs ../shared)', () => {
  const file = `${SHARED}fixtures/istio/istioctl/cmd/testdata/authz/productpage_config_dump.json`;
  const dump = parseConfigDump(JSON.parse(readFileSync(file, 'utf8')), file);
  it('service-viewer allows GET from the default namespace over mTLS, not from prod', () => {
    const mk = (ns: string): RequestAttrs => ({ destination: { address: '10.52.2.21', port: 9080 }, tls: { uriSans: [`spiffe://cluster.local/ns/${ns}/sa/x`], dnsSans: [], subject: '', peerCertificateValidated: true }, http: { method: 'GET', path: '/productpage', headers: {} } });
    expect(decideRequest(dump, mk('default'))).toMatchObject({ decision: 'ALLOW', policy: 'service-viewer' });
    expect(decideRequest(dump, mk('prod')).decision).toBe('DENY');
  });
});
