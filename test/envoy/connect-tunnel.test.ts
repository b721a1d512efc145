/**
 * Requests through a waypoint: HBONE (CONNECT over mTLS to connect_terminate:15008) into the internal listener
 * main_internal, whose filter_chain_matcher picks the service chain by destination VIP → port, and whose RBAC
 * sees the caller only as filter state io.istio.peer_principal (the tunnel's peer certificate).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { SHARED, describeShared } from '../helpers/cli.js';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { decideRequest } from '../../src/envoy/decide.js';
import { parseK8sObjects } from '../../src/readers/k8s.js';
import { compileWaypoints, waypointConfigDump } from '../../src/istio/compile/waypoint.js';
import type { RequestAttrs } from '../../src/model/attrs.js';

const mtls = (san: string) => ({ uriSans: [san], dnsSans: [], subject: '', peerCertificateValidated: true });
const pp = 'spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage';

describeShared('a real waypoint dump (istioctl compare testdata, needs ../shared)', () => {
  const file = `${SHARED}fixtures/istio/istioctl/pkg/writer/compare/testdata/configdump.json`;
  const dump = parseConfigDump(JSON.parse(readFileSync(file, 'utf8')), file);
  const req = (over: Partial<RequestAttrs> = {}): RequestAttrs => ({
    source: { address: '10.244.1.7', port: 40000 },
    destination: { address: '10.96.1.201', port: 9080 },
    tls: mtls('spiffe://cluster.local/ns/default/sa/sleep'),
    http: { method: 'GET', path: '/details/0', headers: {} },
    ...over,
  });
  it('a request to a service VIP is decided on main_internal, its chain chosen by VIP → port', () => {
    const d = decideRequest(dump, req());
    expect(d.decision).toBe('ALLOW');
    expect(d.listener).toBe('main_internal');
    expect(d.filterChain).toBe('inbound-vip|9080||details.default.svc.cluster.local-http');
    const notes = (d.reasons ?? []).join('\n');
    expect(notes).toContain('HTTP CONNECT tunnel to connect_terminate (port 15008) with :authority 10.96.1.201:9080');
    expect(notes).toContain('io.istio.peer_principal = spiffe://cluster.local/ns/default/sa/sleep');
    expect(notes).toContain('original_dst restores the destination 10.96.1.201:9080 and the source 10.244.1.7:40000');
  });
  it('plaintext, or no client certificate, fails the HBONE handshake at connect_terminate', () => {
    const plain = decideRequest(dump, req({ tls: undefined }));
    expect(plain).toMatchObject({ decision: 'DENY', listener: 'connect_terminate', filters: [] });
    expect(plain.reasons!.join(' ')).toMatch(/client speaks plaintext/);
    const noCert = decideRequest(dump, req({ tls: { uriSans: [], dnsSans: [], subject: '', peerCertificateValidated: false } }));
    expect(noCert.reasons!.join(' ')).toMatch(/requires a client certificate/);
  });
  it('a VIP whose chain the (trimmed) dump lacks is filter_chain_not_found, as Envoy would close it', () => {
    const d = decideRequest(dump, req({ destination: { address: '10.98.193.58', port: 9080 } }));
    expect(d).toMatchObject({ decision: 'DENY', responseCodeDetails: 'filter_chain_not_found', listener: 'main_internal' });
  });
  it('an unknown address falls to the authority filter-state map (on_no_match): no service hostname, no chain', () => {
    const d = decideRequest(dump, req({ destination: { address: '10.1.2.3', port: 9080 } }));
    expect(d.responseCodeDetails).toBe('filter_chain_not_found');
  });
});

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: {name: bookinfo, labels: {istio.io/use-waypoint: waypoint}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec: {gatewayClassName: istio-waypoint}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec: {clusterIP: 10.96.20.20, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: bookinfo}
spec: {clusterIP: 10.96.20.30, ports: [{name: tcp-db, port: 3306}, {name: web, port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: bookinfo, labels: {istio.io/use-waypoint: none}}
spec: {clusterIP: 10.96.20.50, ports: [{name: http, port: 80}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-get, namespace: bookinfo}
spec:
  targetRefs: [{kind: Service, group: "", name: reviews}]
  rules: [{from: [{source: {principals: [cluster.local/ns/bookinfo/sa/bookinfo-productpage]}}], to: [{operation: {methods: [GET]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-foo-ns, namespace: bookinfo}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  action: DENY
  rules: [{from: [{source: {namespaces: [foo]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: selector-only, namespace: bookinfo}
spec:
  selector: {matchLabels: {app: reviews}}
  rules: [{}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: to-missing, namespace: bookinfo}
spec:
  targetRefs: [{kind: Service, name: nope}, {kind: Service, name: other}]
  rules: [{}]
`;

describe('compileWaypoints (listener_waypoint.go, policyattachment.go, authz builder with UseFilterState)', () => {
  const objects = parseK8sObjects(MANIFESTS, 'm.yaml').objects;
  const c = compileWaypoints(objects, { rootNamespace: 'istio-system' });
  const wp = c.waypoints[0]!;
  const svc = (n: string) => wp.services.find((s) => s.service.name === n)!;
  it('attaches Service targetRefs to that service only, Gateway targetRefs to every service, never selector policies', () => {
    expect(wp.services.map((s) => s.service.name)).toEqual(['reviews', 'ratings']);
    expect(svc('reviews').policies).toEqual(['bookinfo/reviews-get', 'bookinfo/no-foo-ns']);
    expect(svc('ratings').policies).toEqual(['bookinfo/no-foo-ns']);
  });
  it('peer identities are filter_state io.istio.peer_principal matchers with the spiffe:// prefix (generator_test facts)', () => {
    const json = JSON.stringify(svc('reviews').httpFilters);
    expect(json).toContain('{"filter_state":{"key":"io.istio.peer_principal","string_match":{"exact":"spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage"}}}');
    expect(json).toContain('{"filter_state":{"key":"io.istio.peer_principal","string_match":{"safe_regex":{"regex":".*/ns/foo/.*"}}}}');
    expect(json).not.toContain('authenticated');
    // TCP chains too (generator_test's -tcp cases): the Gateway-wide DENY on ratings' TCP and sniffed ports.
    const tcp = JSON.stringify(svc('ratings').tcpFilters);
    expect(tcp).toContain('{"filter_state":{"key":"io.istio.peer_principal","string_match":{"safe_regex":{"regex":".*/ns/foo/.*"}}}}');
  });
  it('istiod WaypointAccepted conditions, word for word', () => {
    expect(c.status.map((s) => [s.policy, s.ancestor, s.reason, s.message])).toEqual([
      ['bookinfo/reviews-get', 'Service.core:bookinfo/reviews', 'Accepted', 'bound to bookinfo/waypoint'],
      ['bookinfo/no-foo-ns', 'Gateway.gateway.networking.k8s.io:bookinfo/waypoint', 'Accepted', 'bound to bookinfo/waypoint'],
      ['bookinfo/to-missing', 'Service.core:bookinfo/nope', 'TargetNotFound', 'Service bookinfo/nope was not found'],
      ['bookinfo/to-missing', 'Service.core:bookinfo/other', 'AncestorNotBound', 'Service bookinfo/other is not bound to a waypoint'],
    ]);
  });
  it('the rendered dump decides through HBONE with the caller identity from the tunnel, not the inner connection', () => {
    const dump = parseConfigDump(waypointConfigDump(wp), 'wp.json');
    const base: RequestAttrs = { source: { address: '10.244.1.10', port: 5000 }, destination: { address: '10.96.20.20', port: 9080 }, http: { method: 'GET', path: '/reviews/0', headers: {} } };
    expect(decideRequest(dump, { ...base, tls: mtls(pp) })).toMatchObject({ decision: 'ALLOW', policy: 'ns[bookinfo]-policy[reviews-get]-rule[0]' });
    const sleep = decideRequest(dump, { ...base, tls: mtls('spiffe://cluster.local/ns/bookinfo/sa/sleep') });
    expect(sleep).toMatchObject({ decision: 'DENY', responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
    expect(JSON.stringify(sleep.closestMiss)).toContain('principal (filter state io.istio.peer_principal)');
    const foo = decideRequest(dump, { ...base, tls: mtls('spiffe://cluster.local/ns/foo/sa/x') });
    expect(foo).toMatchObject({ decision: 'DENY', policy: 'ns[bookinfo]-policy[no-foo-ns]-rule[0]' });
    // The peer SAN not in the evidence: the waypoint's identity check cannot be decided.
    const unknown = decideRequest(dump, { ...base, tls: mtls(pp) }, { unknown: ['tls.uriSans'] });
    expect(unknown.decision).toBe('UNDECIDABLE');
    // A port with sniffing (name "web"): HTTP goes to the http chain, raw TCP to the tcp chain.
    const web = decideRequest(dump, { ...base, tls: mtls(pp), destination: { address: '10.96.20.30', port: 8080 } });
    expect(web.filterChain).toBe('inbound-vip|8080|http|ratings.bookinfo.svc.cluster.local');
    const tcp = decideRequest(dump, { source: base.source, tls: mtls(pp), destination: { address: '10.96.20.30', port: 8080 } });
    expect(tcp.filterChain).toBe('inbound-vip|8080|tcp|ratings.bookinfo.svc.cluster.local');
  });
});
