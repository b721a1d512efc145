import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConnSet } from '../../src/netpol/connset.js';
import { NetpolEngine, type Peer } from '../../src/netpol/engine.js';
import { allowedConnections } from '../../src/netpol/connectivity.js';
import { parseCidr, parseIpValue, rangeContains } from '../../src/netpol/ipnet.js';
import type { Cluster, ClusterPod } from '../../src/model/cluster.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../../src/netpol/types.js';

const proto = fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const);
const port = fc.integer({ min: 1, max: 200 });
const portItem: fc.Arbitrary<NetworkPolicyPort> = fc.oneof(
  fc.record({ protocol: proto, port }).map((p) => p),
  fc.tuple(proto, port, fc.integer({ min: 0, max: 20 })).map(([pr, a, d]) => ({ protocol: pr, port: a, endPort: a + d })),
  proto.map((pr) => ({ protocol: pr })),
  fc.constant({ port: 'web' }),
);
const labelVal = fc.constantFrom('a', 'b');
const peer: fc.Arbitrary<NetworkPolicyPeer> = fc.oneof(
  labelVal.map((v) => ({ podSelector: { matchLabels: { app: v } } })),
  labelVal.map((v) => ({ namespaceSelector: { matchLabels: { team: v } } })),
  fc.tuple(labelVal, labelVal).map(([n, v]) => ({ namespaceSelector: { matchLabels: { team: n } }, podSelector: { matchLabels: { app: v } } })),
  fc.constantFrom({ ipBlock: { cidr: '10.0.0.0/16', except: ['10.0.1.0/24'] } }, { ipBlock: { cidr: '0.0.0.0/0' } }),
);
const rule = fc.record({ ports: fc.option(fc.array(portItem, { maxLength: 3 }), { nil: undefined }), from: fc.option(fc.array(peer, { maxLength: 2 }), { nil: undefined }) });
const policy = (i: number): fc.Arbitrary<NetworkPolicy> =>
  fc.record({ sel: fc.option(labelVal, { nil: undefined }), ingress: fc.option(fc.array(rule, { maxLength: 3 }), { nil: undefined }), egress: fc.option(fc.array(rule.map((r) => ({ ports: r.ports, to: r.from })), { maxLength: 2 }), { nil: undefined }), types: fc.constantFrom(undefined, ['Ingress' as const], ['Ingress' as const, 'Egress' as const], ['Egress' as const]) }).map((x) => ({
    namespace: 'ns-a',
    name: `p${i}`,
    spec: { podSelector: x.sel ? { matchLabels: { app: x.sel } } : {}, ...(x.types ? { policyTypes: x.types } : {}), ...(x.ingress ? { ingress: x.ingress } : {}), ...(x.egress ? { egress: x.egress } : {}) },
  }));
const policies = fc.integer({ min: 0, max: 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => policy(i))));

const mkPod = (ns: string, name: string, app: string, ip: string): ClusterPod => ({ namespace: ns, name, labels: { app }, ips: [ip], serviceAccount: 'default', hostNetwork: false, ports: [{ name: 'web', containerPort: 80, protocol: 'TCP' }], workload: { kind: 'Pod', name }, sidecar: false, ambient: false });
const cluster: Cluster = {
  pods: [mkPod('ns-a', 'x', 'a', '10.0.0.5'), mkPod('ns-a', 'y', 'b', '10.0.1.5'), mkPod('ns-b', 'z', 'a', '10.2.0.5')],
  namespaces: new Map([
    ['ns-a', { name: 'ns-a', labels: { team: 'a', 'kubernetes.io/metadata.name': 'ns-a' } }],
    ['ns-b', { name: 'ns-b', labels: { team: 'b', 'kubernetes.io/metadata.name': 'ns-b' } }],
  ]),
  serviceAccounts: [],
  nodes: [],
};
const P = (i: number): Peer => ({ kind: 'pod', pod: cluster.pods[i]! });
const pair = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })).filter(([a, b]) => a !== b);

describe('NetworkPolicy laws (property)', () => {
  it('a connection is allowed iff it is in egress(src) ∩ ingress(dst), and decide() agrees with the connection set', () => {
    fc.assert(
      fc.property(policies, pair, proto, port, (pols, [s, d], pr, pt) => {
        const e = new NetpolEngine(pols, cluster);
        const conn = { src: P(s), dst: P(d), protocol: pr, port: pt };
        const set = allowedConnections(e, P(s), P(d));
        const v = e.decide(conn).verdict;
        // ipBlocks here cover pod IPs: when the plugins' readings differ the engine says so instead of guessing.
        if (v === 'implementation-defined') return true;
        return (v === 'allow') === set.contains(pr, pt);
      }),
      { numRuns: 300 },
    );
  });
  it('union: adding a policy to a pod already isolated in that direction never removes a connection', () => {
    fc.assert(
      fc.property(policies, policy(9), pair, (pols, extra, [s, d]) => {
        const e1 = new NetpolEngine(pols, cluster);
        const before = allowedConnections(e1, P(s), P(d));
        const dst = cluster.pods[d]!;
        const src = cluster.pods[s]!;
        const ingIso = e1.isolating(dst, 'Ingress').length > 0;
        const egIso = e1.isolating(src, 'Egress').length > 0;
        const e2 = new NetpolEngine([...pols, extra], cluster);
        const addsIng = e2.isolating(dst, 'Ingress').length > e1.isolating(dst, 'Ingress').length;
        const addsEg = e2.isolating(src, 'Egress').length > e1.isolating(src, 'Egress').length;
        if ((addsIng && !ingIso) || (addsEg && !egIso)) return true; // a newly isolated direction may shrink
        const after = allowedConnections(e2, P(s), P(d));
        return before.subtract(after).isEmpty();
      }),
      { numRuns: 300 },
    );
  });
  it('isolation is monotone: a pod selected by no policy in a direction allows everything in it', () => {
    fc.assert(
      fc.property(policies, pair, (pols, [s, d]) => {
        const e = new NetpolEngine(pols, cluster);
        const dst = cluster.pods[d]!;
        const src = cluster.pods[s]!;
        if (e.isolating(dst, 'Ingress').length || e.isolating(src, 'Egress').length) return true;
        return allowedConnections(e, P(s), P(d)).isAll();
      }),
    );
  });
});

describe('ipBlock except subtraction (property)', () => {
  const octet = fc.integer({ min: 0, max: 255 });
  it('an address matches {cidr, except} iff it is in cidr and in no except', () => {
    fc.assert(
      fc.property(octet, octet, fc.integer({ min: 17, max: 24 }), fc.integer({ min: 25, max: 30 }), octet, (a, b, len, elen, c) => {
        const cidr = parseCidr(`10.${a}.0.0/16`)!;
        const except = parseCidr(`10.${a}.${b}.0/${len}`)!;
        const inner = parseCidr(`10.${a}.${b}.${c}/${elen}`)!;
        const ip = parseIpValue(`10.${a}.${b}.${c}`)!;
        const ipb: NetworkPolicyPeer = { ipBlock: { cidr: cidr.canonical, except: [except.canonical] } };
        const e = new NetpolEngine([{ namespace: 'ns-a', name: 'p', spec: { podSelector: { matchLabels: { app: 'a' } }, ingress: [{ from: [ipb] }] } }], cluster);
        const v = e.decide({ src: { kind: 'ip', ip: `10.${a}.${b}.${c}` }, dst: P(0), protocol: 'TCP', port: 80 }).verdict;
        void inner;
        return (v === 'allow') === (rangeContains(cidr, ip) && !rangeContains(except, ip));
      }),
    );
  });
});

describe('connection-set algebra (property)', () => {
  const cs = fc.array(fc.tuple(proto, port, fc.integer({ min: 0, max: 50 })), { maxLength: 4 }).map((xs) => xs.reduce((c, [p, a, d]) => c.union(ConnSet.ports(p, a, a + d)), ConnSet.NONE));
  it('union and intersection are commutative; A ∩ (A ∪ B) = A; (A ∪ B) − B ⊆ A', () => {
    fc.assert(
      fc.property(cs, cs, (a, b) => {
        expect(a.union(b).toString()).toBe(b.union(a).toString());
        expect(a.intersect(b).toString()).toBe(b.intersect(a).toString());
        expect(a.intersect(a.union(b)).toString()).toBe(a.toString());
        expect(a.union(b).subtract(b).subtract(a).isEmpty()).toBe(true);
      }),
    );
  });
});
