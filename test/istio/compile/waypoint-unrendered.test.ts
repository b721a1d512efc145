/**
 * compile --ambient for waypoints: routing a waypoint would apply (HTTPRoute/GRPCRoute parentRefs to a Service it
 * serves or to the waypoint Gateway, VirtualService hosts naming such a service) is not compiled, and each such
 * object is named in a warning instead of being dropped in silence; routes for services without a waypoint are not.
 * CUSTOM policies that target a waypoint's service get the MeshConfig provider's ext_authz (the request it marks is
 * undecidable: the provider answers), or istiod's deny config when the provider is not defined.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { compileWaypoints } from '../../../src/istio/compile/waypoint.js';
import { parseK8sObjects } from '../../../src/readers/k8s.js';
import { waypointConfigDump } from '../../../src/istio/compile/waypoint.js';
import { parseConfigDump } from '../../../src/readers/configdump/index.js';
import { decideRequest } from '../../../src/envoy/decide.js';
import type { ExtensionProvider } from '../../../src/istio/compile/extauthz.js';

const INVENTORY = readFileSync('samples/ambient-bookinfo/inventory.json', 'utf8');
const POLICIES = readFileSync('samples/ambient-bookinfo/policies.yaml', 'utf8');

const ROUTES = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews-split, namespace: bookinfo}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules: [{backendRefs: [{name: reviews-v1, port: 9080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: on-the-waypoint, namespace: bookinfo}
spec:
  parentRefs: [{name: waypoint}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: details-route, namespace: bookinfo}
spec:
  hosts: [details]
  http: [{route: [{destination: {host: details, subset: v1}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: elsewhere, namespace: bookinfo}
spec:
  hosts: [example.com]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: other-namespace-service, namespace: default}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews}]
`;

const CUSTOM = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings-ext-authz, namespace: bookinfo}
spec:
  targetRefs: [{kind: Service, group: "", name: ratings}]
  action: CUSTOM
  provider: {name: my-ext-authz}
  rules: [{to: [{operation: {paths: ["/admin/*"]}}]}]
`;

function compile(extra: string, extensionProviders?: ExtensionProvider[]) {
  const objects = [...parseK8sObjects(INVENTORY, 'inventory.json').objects, ...parseK8sObjects(POLICIES, 'policies.yaml').objects, ...parseK8sObjects(extra, 'routes.yaml').objects];
  return compileWaypoints(objects, { rootNamespace: 'istio-system', waypoint: 'bookinfo/waypoint', ...(extensionProviders ? { extensionProviders } : {}) });
}

describe('waypoint routing is never dropped in silence', () => {
  it('names each route or VirtualService that applies at the waypoint, with its file and line', () => {
    const r = compile(ROUTES);
    const warnings = r.diagnostics.filter((d) => /routing at a waypoint is not compiled/.test(d.message));
    expect(warnings.map((d) => d.message.split(':')[0])).toEqual([
      'HTTPRoute bookinfo/reviews-split routes reviews.bookinfo.svc.cluster.local (waypoint bookinfo/waypoint)',
      'HTTPRoute bookinfo/on-the-waypoint routes every service of waypoint bookinfo/waypoint',
      'VirtualService bookinfo/details-route routes details.bookinfo.svc.cluster.local (waypoint bookinfo/waypoint)',
    ]);
    expect(warnings.every((d) => d.severity === 'warning' && d.location.file === 'routes.yaml' && typeof d.location.line === 'number')).toBe(true);
  });

  it('no route, no warning (the sample compiles clean of routing warnings)', () => {
    expect(compile('').diagnostics.filter((d) => /routing at a waypoint/.test(d.message))).toEqual([]);
  });

  it('CUSTOM at the waypoint: with the provider, a request it marks is undecidable (ext_authz answers) and another is allowed; without it, istiod\'s deny config', () => {
    const withProvider = compile(CUSTOM, [{ name: 'my-ext-authz', envoyExtAuthzHttp: { service: 'ext-authz.bookinfo.svc.cluster.local', port: 8000 } }]);
    expect(withProvider.diagnostics.filter((d) => /CUSTOM/.test(d.message))).toEqual([]);
    const dump = parseConfigDump(waypointConfigDump(withProvider.waypoints[0]!, { ip: '10.244.2.30' }), 'wp.json');
    const req = (path: string) => decideRequest(dump, {
      source: { address: '10.244.1.15', port: 39456 }, destination: { address: '10.96.20.30', port: 9080 },
      tls: { uriSans: ['spiffe://cluster.local/ns/default/sa/sleep'], dnsSans: [], subject: '', peerCertificateValidated: true },
      http: { method: 'GET', path, authority: 'ratings:9080', headers: {} },
    });
    const marked = req('/admin/x');
    expect(marked.decision).toBe('UNDECIDABLE');
    expect(marked.filters.map((f) => f.name)).toContain('envoy.filters.http.ext_authz');
    expect(req('/ratings/0').decision).toBe('ALLOW');
    const without = compile(CUSTOM);
    expect(without.diagnostics.map((d) => d.message)).toContain('failed to process CUSTOM action for provider my-ext-authz, will generate deny configs: extension provider not defined: no meshConfig extensionProviders given');
  });
});
