import { describe, expect, it } from 'vitest';
import { engineFromYaml } from './helpers.js';
import { allowedConnections } from '../../src/netpol/connectivity.js';

const pod = (ns: string, name: string, labels: Record<string, string>, ip: string, extra = '') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)}}
spec:
  nodeName: node-${name}
  containers: [{name: app, ports: [{containerPort: 80, name: http}, {containerPort: 53, protocol: UDP, name: dns}, {containerPort: 8080, name: admin}]}]
${extra}
status: {podIP: ${ip}, hostIP: 192.168.0.${ip.split('.')[3]}}
`;
const ns = (name: string, labels: Record<string, string> = {}) => `apiVersion: v1
kind: Namespace
metadata: {name: ${name}, labels: ${JSON.stringify(labels)}}
`;
const np = (nsName: string, name: string, spec: string) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ${name}, namespace: ${nsName}}
spec:
${spec.replace(/^/gm, '  ')}
`;

// np-guard/netpol-analyzer pkg/netpol/eval/eval_test.go TestBasic, rebuilt as our own fixture:
// an egress policy with TCP 80 to `podSelector: {}` or an ipBlock written with host bits set, and UDP 53 to anyone.
describe('np-guard TestBasic (egress TCP 80 to pods or 192.168.242.213/24, UDP 53 anywhere)', () => {
  const policy = np('default', 'vary-egress', `podSelector: {matchLabels: {app: web}}
policyTypes: [Egress]
egress:
- ports: [{port: 80, protocol: TCP}]
  to:
  - podSelector: {}
  - ipBlock: {cidr: 192.168.242.213/24}
- ports: [{port: 53, protocol: UDP}]`);
  const { engine, pod: p, ip, diagnostics } = engineFromYaml(ns('default', { a: 'b' }), pod('default', 'b', { app: 'web', role: 'monitoring' }, '192.168.49.2'), pod('default', 'c', { app: 'apiserver' }, '192.168.49.2'), policy);
  const rows: [string, string, 'TCP' | 'UDP', number, boolean, string][] = [
    ['default/b', '192.168.242.0', 'TCP', 80, true, 'TCP 80,UDP 53'],
    ['default/b', '192.169.0.0', 'TCP', 80, false, 'UDP 53'],
    ['default/b', 'default/c', 'TCP', 80, true, 'TCP 80,UDP 53'],
    ['default/b', 'default/c', 'TCP', 81, false, 'TCP 80,UDP 53'],
  ];
  for (const [src, dst, proto, port, res, all] of rows) {
    it(`${src} → ${dst} ${proto} ${port}: ${res ? 'allowed' : 'denied'}, all connections ${all}`, () => {
      const s = p(src);
      const d = dst.includes('/') ? p(dst) : ip(dst);
      expect(engine.decide({ src: s, dst: d, protocol: proto, port }).verdict).toBe(res ? 'allow' : 'deny');
      expect(allowedConnections(engine, s, d).toString()).toBe(all);
    });
  }
  it('warns that the cidr has host bits set and reads it as the network', () => {
    expect(diagnostics.some((d) => /192\.168\.242\.213\/24 has host bits set: read as 192\.168\.242\.0\/24/.test(d.message))).toBe(true);
  });
});

describe('policyTypes defaulting and absent vs empty rules', () => {
  const base = [ns('default'), pod('default', 'a', { app: 'a' }, '10.0.0.1'), pod('default', 'b', { app: 'b' }, '10.0.0.2')];
  const verdict = (policy: string, from = 'default/a', to = 'default/b', port = 80) => {
    const { engine, pod: p } = engineFromYaml(...base, policy);
    return engine.decide({ src: p(from), dst: p(to), protocol: 'TCP', port });
  };
  it('a policy without policyTypes isolates for Ingress even with no ingress key', () => {
    expect(verdict(np('default', 'deny-b', 'podSelector: {matchLabels: {app: b}}')).verdict).toBe('deny');
  });
  it('`egress: []` without policyTypes does not isolate for Egress (Ingress only)', () => {
    expect(verdict(np('default', 'x', 'podSelector: {matchLabels: {app: a}}\negress: []')).verdict).toBe('allow');
  });
  it('a non-empty egress list defaults policyTypes to [Ingress, Egress]', () => {
    const d = verdict(np('default', 'x', 'podSelector: {matchLabels: {app: a}}\negress: [{ports: [{port: 443}]}]'));
    expect(d.verdict).toBe('deny');
    expect(d.decidedBy).toMatchObject({ kind: 'NetworkPolicy', name: 'x', direction: 'egress' });
  });
  it('`ingress: [{}]` allows everything; `ingress: []` allows nothing', () => {
    expect(verdict(np('default', 'x', 'podSelector: {}\ningress: [{}]')).verdict).toBe('allow');
    expect(verdict(np('default', 'x', 'podSelector: {}\ningress: []')).verdict).toBe('deny');
  });
  it('`from: []` and `ports: []` match everything', () => {
    expect(verdict(np('default', 'x', 'podSelector: {}\ningress: [{from: [], ports: []}]')).verdict).toBe('allow');
  });
  it('explicit policyTypes [Egress] with no egress rules denies all egress and leaves ingress open', () => {
    const p = np('default', 'x', 'podSelector: {matchLabels: {app: a}}\npolicyTypes: [Egress]');
    expect(verdict(p).verdict).toBe('deny');
    expect(verdict(p, 'default/b', 'default/a').verdict).toBe('allow');
  });
});

describe('peers: AND within one peer, OR across peers, namespace scoping', () => {
  const docs = [
    ns('default'),
    ns('alice', { user: 'alice' }),
    ns('bob', { user: 'bob' }),
    pod('default', 'web', { app: 'web' }, '10.0.0.1'),
    pod('alice', 'client', { role: 'client' }, '10.0.1.1'),
    pod('alice', 'other', { role: 'other' }, '10.0.1.2'),
    pod('bob', 'client', { role: 'client' }, '10.0.2.1'),
    pod('default', 'client', { role: 'client' }, '10.0.0.9'),
  ];
  const and = np('default', 'accidental-and', 'podSelector: {matchLabels: {app: web}}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {user: alice}}\n    podSelector: {matchLabels: {role: client}}');
  const or = np('default', 'accidental-or', 'podSelector: {matchLabels: {app: web}}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {user: alice}}\n  - podSelector: {matchLabels: {role: client}}');
  const cases: [string, string, boolean, boolean][] = [
    // source, AND result, OR result
    ['alice/client', '', true, true],
    ['alice/other', '', false, true],
    ['bob/client', '', false, false],
    ['default/client', '', false, true],
  ];
  for (const [src, , andRes, orRes] of cases) {
    it(`${src} → default/web: AND ${andRes}, OR ${orRes}`, () => {
      for (const [p, want] of [[and, andRes], [or, orRes]] as const) {
        const { engine, pod: q } = engineFromYaml(...docs, p);
        expect(engine.decide({ src: q(src), dst: q('default/web'), protocol: 'TCP', port: 80 }).verdict).toBe(want ? 'allow' : 'deny');
      }
    });
  }
  it('namespaceSelector: {} selects every namespace; a podSelector alone only the policy namespace', () => {
    const all = np('default', 'all-ns', 'podSelector: {matchLabels: {app: web}}\ningress: [{from: [{namespaceSelector: {}}]}]');
    const own = np('default', 'own-ns', 'podSelector: {matchLabels: {app: web}}\ningress: [{from: [{podSelector: {}}]}]');
    const a = engineFromYaml(...docs, all);
    expect(a.engine.decide({ src: a.pod('bob/client'), dst: a.pod('default/web'), protocol: 'TCP', port: 80 }).verdict).toBe('allow');
    const o = engineFromYaml(...docs, own);
    const d = o.engine.decide({ src: o.pod('bob/client'), dst: o.pod('default/web'), protocol: 'TCP', port: 80 });
    expect(d.verdict).toBe('deny');
    expect(d.closestMiss?.summary).toContain('needs namespace default');
  });
  it('matchExpressions: NotIn matches an absent label, DoesNotExist only absent', () => {
    const p = np('default', 'expr', 'podSelector: {matchLabels: {app: web}}\ningress: [{from: [{namespaceSelector: {}, podSelector: {matchExpressions: [{key: role, operator: NotIn, values: [other]}, {key: tier, operator: DoesNotExist}]}}]}]');
    const e = engineFromYaml(...docs, p);
    expect(e.engine.decide({ src: e.pod('alice/client'), dst: e.pod('default/web'), protocol: 'TCP', port: 80 }).verdict).toBe('allow');
    expect(e.engine.decide({ src: e.pod('alice/other'), dst: e.pod('default/web'), protocol: 'TCP', port: 80 }).verdict).toBe('deny');
  });
});

describe('ports: protocol default TCP, named ports on the destination, endPort', () => {
  const docs = [ns('default'), pod('default', 'a', { app: 'a' }, '10.0.0.1'), pod('default', 'b', { app: 'b' }, '10.0.0.2')];
  const conns = (ports: string) => {
    const e = engineFromYaml(...docs, np('default', 'p', `podSelector: {matchLabels: {app: b}}\ningress: [{ports: ${ports}}]`));
    return { e, all: allowedConnections(e.engine, e.pod('default/a'), e.pod('default/b')).toString() };
  };
  it('a port without protocol is TCP', () => {
    const { e, all } = conns('[{port: 53}]');
    expect(all).toBe('TCP 53');
    expect(e.engine.decide({ src: e.pod('default/a'), dst: e.pod('default/b'), protocol: 'UDP', port: 53 }).verdict).toBe('deny');
  });
  it('a protocol without port is every port of that protocol', () => {
    expect(conns('[{protocol: UDP}]').all).toBe('UDP 1-65535');
  });
  it('named ports resolve on the destination pod with their protocol', () => {
    expect(conns('[{port: http}, {port: dns, protocol: UDP}, {port: dns}]').all).toBe('TCP 80,UDP 53');
  });
  it('endPort is an inclusive range; TCP+UDP+SCTP over 1-65535 is All Connections', () => {
    expect(conns('[{port: 8000, endPort: 8080}]').all).toBe('TCP 8000-8080');
    expect(conns('[{port: 1, endPort: 65535, protocol: UDP}, {port: 1, endPort: 65535}, {port: 1, endPort: 65535, protocol: SCTP}]').all).toBe('All Connections');
  });
  it('explains a port miss with the expected port', () => {
    const { e } = conns('[{port: 8000, endPort: 8079}]');
    const d = e.engine.decide({ src: e.pod('default/a'), dst: e.pod('default/b'), protocol: 'TCP', port: 8080 });
    expect(d.closestMiss?.summary).toContain('TCP/8080 — needs TCP/8000-8079');
  });
});

describe('ipBlock and what the spec leaves to the plugin', () => {
  const docs = [ns('default'), pod('default', 'a', { app: 'a' }, '10.0.0.1'), pod('default', 'b', { app: 'b' }, '10.0.0.2')];
  it('except carves addresses out of cidr', () => {
    const e = engineFromYaml(...docs, np('default', 'p', 'podSelector: {matchLabels: {app: b}}\ningress: [{from: [{ipBlock: {cidr: 172.16.0.0/16, except: [172.16.1.0/24]}}]}]'));
    expect(e.engine.decide({ src: e.ip('172.16.2.9'), dst: e.pod('default/b'), protocol: 'TCP', port: 80 }).verdict).toBe('allow');
    const d = e.engine.decide({ src: e.ip('172.16.1.9'), dst: e.pod('default/b'), protocol: 'TCP', port: 80 });
    expect(d.verdict).toBe('deny');
    expect(d.closestMiss?.summary).toContain('except range 172.16.1.0/24');
  });
  it('an ipBlock covering a pod IP is implementation-defined when it decides', () => {
    const e = engineFromYaml(...docs, np('default', 'p', 'podSelector: {matchLabels: {app: b}}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/24}}]}]'));
    const d = e.engine.decide({ src: e.pod('default/a'), dst: e.pod('default/b'), protocol: 'TCP', port: 80 });
    expect(d.verdict).toBe('implementation-defined');
    expect(d.explanation).toMatch(/Calico.*allow.*Cilium.*deny/);
  });
  it('ingress from the pod’s own node is always allowed', () => {
    const e = engineFromYaml(...docs, np('default', 'p', 'podSelector: {}\ningress: []'));
    expect(e.engine.decide({ src: e.ip('192.168.0.2'), dst: e.pod('default/b'), protocol: 'TCP', port: 80 }).verdict).toBe('allow');
    expect(e.engine.decide({ src: e.ip('192.168.0.1'), dst: e.pod('default/b'), protocol: 'TCP', port: 80 }).verdict).toBe('deny');
  });
  it('a pod talking to itself is implementation-defined', () => {
    const e = engineFromYaml(...docs, np('default', 'p', 'podSelector: {}\ningress: []'));
    expect(e.engine.decide({ src: e.pod('default/b'), dst: e.pod('default/b'), protocol: 'TCP', port: 80 }).verdict).toBe('implementation-defined');
  });
  it('a hostNetwork source selected only by a pod selector is implementation-defined', () => {
    const host = pod('default', 'agent', { app: 'agent' }, '192.168.0.7', 'hostNetwork: true').replace('spec:\n', 'spec:\n  hostNetwork: true\n').replace('\nhostNetwork: true\n', '\n');
    const e = engineFromYaml(...docs, host, np('default', 'p', 'podSelector: {matchLabels: {app: b}}\ningress: [{from: [{podSelector: {matchLabels: {app: agent}}}]}]'));
    const d = e.engine.decide({ src: e.pod('default/agent'), dst: e.pod('default/b'), protocol: 'TCP', port: 80 });
    expect(d.verdict).toBe('implementation-defined');
    expect(d.explanation).toContain('hostNetwork');
  });
});

describe('validation: what the API server rejects is skipped and reported', () => {
  const docs = [ns('default'), pod('default', 'a', { app: 'a' }, '10.0.0.1')];
  const diag = (spec: string) => engineFromYaml(...docs, np('default', 'bad', spec)).diagnostics.map((d) => d.message).join('\n');
  it('endPort needs a numeric port', () => {
    expect(diag('podSelector: {}\ningress: [{ports: [{endPort: 90}]}]')).toMatch(/endPort: may not be specified when `port` is not specified/);
    expect(diag('podSelector: {}\ningress: [{ports: [{port: http, endPort: 90}]}]')).toMatch(/named port/);
    expect(diag('podSelector: {}\ningress: [{ports: [{port: 100, endPort: 90}]}]')).toMatch(/greater than or equal/);
  });
  it('except must be a strict subset of cidr', () => {
    expect(diag('podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.0.0.0/16]}}]}]')).toMatch(/strict subset/);
    expect(diag('podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]')).toMatch(/strict subset/);
  });
  it('a peer with ipBlock and a selector, or with nothing, is invalid', () => {
    expect(diag('podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/16}, podSelector: {}}]}]')).toMatch(/more than 1 peer type/);
    expect(diag('podSelector: {}\ningress: [{from: [{}]}]')).toMatch(/must specify a peer/);
  });
});
