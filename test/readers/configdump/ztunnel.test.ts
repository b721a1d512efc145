/**
 * ztunnel config dumps (`istioctl ztunnel-config all -o json` = ztunnel's /config_dump), read with
 * the facts of Istio's goldens (istioctl/pkg/writer/ztunnel/configdump/testdata/dump.json): workloads
 * keyed `<network>/<ip>` with waypoint and protocol, services with VIPs and endpoints, policies with
 * triple-nested rules (an `allow-nothing` with `rules: []`, an `allow-waypoint` WorkloadSelector
 * allowing the waypoint service account), certificates with their states.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { isZtunnelConfigDump, parseZtunnelConfig } from '../../../src/readers/configdump/ztunnel.js';
import { detectContent } from '../../../src/readers/detect.js';
import { isConfigDump } from '../../../src/readers/configdump/index.js';

const FILE = 'test/fixtures/ztunnel/config_dump.json';
const raw = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>;

/** A dump with the shapes of Istio's golden (our own values). */
const golden = {
  workloads: {
    'network1/10.1.0.5': { workloadIps: ['10.1.0.5'], waypoint: { destination: '/10.2.0.9', port: 15008 }, protocol: 'HBONE', uid: 'Kubernetes//Pod/books/ratings-1', name: 'ratings-1', namespace: 'books', trustDomain: 'cluster.local', serviceAccount: 'books-ratings', network: 'network1', node: 'w2', nativeTunnel: true, status: 'Healthy', clusterId: 'Kubernetes' },
    '/10.1.0.6': { workloadIps: ['10.1.0.6'], protocol: 'TCP', uid: 'Kubernetes//Pod/default/sleep-1', name: 'sleep-1', namespace: 'default', trustDomain: 'cluster.local', serviceAccount: 'sleep', node: 'w2', status: 'Healthy', clusterId: 'Kubernetes' },
  },
  services: {
    '/10.2.0.9': { name: 'waypoint', namespace: 'books', hostname: 'waypoint.books.svc.cluster.local', vips: ['/10.2.0.9'], ports: { '15008': 15008, '15021': 15021 }, endpoints: {}, subjectAltNames: [] },
  },
  certificates: [
    { identity: 'spiffe://cluster.local/ns/istio-system/sa/ztunnel', state: 'Initializing', certChain: [] },
    { identity: 'spiffe://cluster.local/ns/istio-system/sa/gone', state: 'Unavailable: the identity is no longer needed', certChain: [] },
  ],
  policies: [
    { action: 'Allow', name: 'allow-nothing', namespace: 'default', rules: [], scope: 'Namespace' },
    { action: 'Allow', name: 'allow-waypoint', namespace: 'default', rules: [[[{ serviceAccounts: [{ namespace: 'default', serviceAccount: 'waypoint' }] }]]], scope: 'WorkloadSelector' },
  ],
};

describe('ztunnel config dump reader', () => {
  it('reads workloads, services, policies, certificates and connections', () => {
    const c = parseZtunnelConfig(raw, FILE);
    expect(c.workloads).toHaveLength(4);
    const cart = c.workloads.find((w) => w.key === 'network1/10.244.2.20')!;
    expect(cart).toMatchObject({ network: 'network1', protocol: 'HBONE', serviceAccount: 'cart', waypoint: { destination: '/10.96.50.5', port: 15008 }, authorizationPolicies: ['shop/cart-allow-frontend'] });
    expect(c.services[0]).toMatchObject({ hostname: 'cart.shop.svc.cluster.local', ports: { '80': 8080 } });
    expect(c.policies.map((p) => `${p.action}/${p.scope}/${p.dryRun}`)).toEqual(['Allow/WorkloadSelector/false', 'Deny/Namespace/false', 'Deny/Global/true', 'Allow/Namespace/false', 'Deny/Namespace/false']);
    expect(c.certificates[0]).toMatchObject({ identity: 'spiffe://cluster.local/ns/shop/sa/cart', state: 'Available', chain: [{ expirationTime: '2026-12-04T06:00:00Z' }] });
    expect(c.connections).toEqual([{ workloadUid: 'Kubernetes//Pod/shop/frontend-7c9f6d5b4-xyz12', direction: 'outbound', src: '10.244.2.21', originalDst: '10.96.40.7:80', actualDst: '10.244.2.40:15008', protocol: 'HBONE' }]);
  });
  it('reads the golden shapes (allow-nothing with rules: [], a WorkloadSelector policy with serviceAccounts)', () => {
    const c = parseZtunnelConfig(golden, 'golden.json');
    expect(c.policies[0]!.rules).toEqual([]);
    expect(c.policies[1]!.rules[0]![0]![0]!.serviceAccounts).toEqual([{ namespace: 'default', serviceAccount: 'waypoint' }]);
    expect(c.workloads.map((w) => w.network)).toEqual(['network1', '']);
    expect(c.certificates.map((x) => x.state)).toEqual(['Initializing', 'Unavailable: the identity is no longer needed']);
  });
  it('is detected by content as a ztunnel config, not an Envoy dump', () => {
    expect(isZtunnelConfigDump(raw)).toBe(true);
    expect(isConfigDump(raw)).toBe(false);
    expect(detectContent(Buffer.from(JSON.stringify(golden)), true)).toEqual({ kind: 'ztunnel-config', format: 'json' });
    expect(detectContent(Buffer.from(JSON.stringify(golden, null, 2)).subarray(0, 600), false).kind).toBe('ztunnel-config');
    expect(isZtunnelConfigDump({ configs: [] })).toBe(false);
  });
  it('names the file and JSON path of a shape error', () => {
    const bad = structuredClone(golden) as { workloads: Record<string, { workloadIps: unknown[] }> };
    bad.workloads['/10.1.0.6']!.workloadIps = ['not-an-ip'];
    expect(() => parseZtunnelConfig(bad, 'bad.json')).toThrow(/^bad\.json, at \$\.workloads\["\/10\.1\.0\.6"\]\.workloadIps\[0\]: expected an IP address/);
  });
});
