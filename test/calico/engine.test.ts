import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inputsFromYaml } from '../netpol/helpers.js';
import { analyzeReach } from '../../src/analysis/reach.js';
import { CalicoEngine } from '../../src/calico/engine.js';
import type { Peer } from '../../src/netpol/engine.js';

const FIX = fileURLToPath(new URL('../fixtures/netpol/yaobank/', import.meta.url));
const yao = [readFileSync(`${FIX}cluster.yaml`, 'utf8'), readFileSync(`${FIX}policy.yaml`, 'utf8')];
const calico = (r: ReturnType<typeof analyzeReach>) => r.layers.find((l) => l.layer === 'calico')!;

describe('YAO Bank tutorial outcomes (Calico GlobalNetworkPolicies with application layer policy)', () => {
  const inputs = inputsFromYaml(...yao);
  const reach = (from: string, to: string, port: number, extra: Partial<Parameters<typeof analyzeReach>[1]> = {}) => analyzeReach(inputs, { from, to, port, protocol: 'TCP', ...extra });
  it('summary → database is allowed by GlobalNetworkPolicy database ingress[0]', () => {
    const r = reach('default/summary', 'default/database', 2379);
    expect(r.verdict).toBe('allow');
    expect(calico(r).decidedBy).toMatchObject({ kind: 'GlobalNetworkPolicy', name: 'database', rule: 0, direction: 'ingress' });
  });
  it('customer → database is denied by the default tier (its account is not summary)', () => {
    const r = reach('default/customer', 'default/database', 2379);
    expect(r.verdict).toBe('deny');
    expect(r.deniedBy).toBe('calico');
    expect(calico(r).decidedBy).toMatchObject({ kind: 'Tier', name: 'default' });
    expect(calico(r).closestMiss?.summary).toContain('service account customer — needs a pod of a service account with name in {summary}');
  });
  it('the attack pod presenting the stolen summary identity is refused: its IP is not a summary pod’s', () => {
    const r = reach('default/attack', 'default/database', 2379, { identity: 'spiffe://cluster.local/ns/default/sa/summary' });
    expect(r.verdict).toBe('deny');
    const c = calico(r);
    expect(c.explanation).toContain('no response');
    const leaves = c.closestMiss!.failing.map((f) => f.detail).join('\n');
    expect(leaves).toContain('10.48.1.22 belongs to default/attack-7d8f9b6c5-xz4wp, service account default');
  });
  it('with the stolen key, the certificate check passes and the IP-set check fails (both are required)', () => {
    const c = calico(reach('default/attack', 'default/database', 2379, { identity: 'spiffe://cluster.local/ns/default/sa/summary' }));
    const t = JSON.stringify(c.trace);
    expect(t).toContain('peer certificate identity spiffe://cluster.local/ns/default/sa/summary — matches');
    expect(t).toContain('service account default — needs a pod of a service account with name in {summary}');
  });
  it('customer only accepts GET (HTTP match evaluated by Dikastes: 403 on other methods)', () => {
    const get = reach('default/summary', 'default/customer', 80, { method: 'GET' });
    expect(get.verdict).toBe('allow');
    const post = reach('default/summary', 'default/customer', 80, { method: 'POST' });
    expect(post.verdict).toBe('deny');
    expect(calico(post).explanation).toContain('Dikastes rejects it');
    expect(calico(post).closestMiss?.summary).toContain(':method POST — needs one of GET');
  });
  it('without --method an HTTP-only rule is undecidable, never guessed', () => {
    const r = reach('default/summary', 'default/customer', 80);
    expect(calico(r).verdict).toBe('undecidable');
    expect(calico(r).explanation).toContain('--method');
  });
});

const pod = (ns: string, name: string, labels: Record<string, string>, ip: string, sa = 'default') => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)}}
spec: {serviceAccountName: ${sa}, containers: [{name: app, ports: [{containerPort: 8080, name: web}]}]}
status: {podIP: ${ip}}
`;
const base = [
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {env: prod}}',
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: dev, labels: {env: dev}}',
  'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api, namespace: prod, labels: {team: core}}',
  pod('prod', 'web', { app: 'web' }, '10.1.0.1'),
  pod('prod', 'api', { app: 'api' }, '10.1.0.2', 'api'),
  pod('dev', 'api', { app: 'api' }, '10.2.0.2', 'api'),
];
const engineFor = (...docs: string[]) => {
  const inputs = inputsFromYaml(...base, ...docs);
  const e = new CalicoEngine(inputs.calico!, inputs.cluster);
  const p = (ref: string): Peer => {
    const [ns, name] = ref.split('/');
    return { kind: 'pod', pod: inputs.cluster.pods.find((x) => x.namespace === ns && x.name === name)! };
  };
  return { e, p, diagnostics: inputs.diagnostics };
};
const conn = (src: Peer, dst: Peer, port = 8080) => ({ src, dst, protocol: 'TCP' as const, port, identity: null, alp: false });

describe('Calico tiers, order and actions', () => {
  it('tiers run in order; Pass leaves the tier; the next tier decides', () => {
    const { e, p } = engineFor(
      'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 100}',
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: security.pass-prod}\nspec: {tier: security, order: 1, selector: app == 'api', ingress: [{action: Pass, source: {namespaceSelector: env == 'prod'}}, {action: Deny}]}",
      "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: allow-web, namespace: prod}\nspec: {selector: app == 'api', ingress: [{action: Allow, source: {selector: app == 'web'}}]}",
    );
    const d = e.decide(conn(p('prod/web'), p('prod/api')));
    expect(d.verdict).toBe('allow');
    expect(d.decidedBy).toMatchObject({ kind: 'NetworkPolicy', name: 'allow-web', tier: 'default' });
    const fromDev = e.decide(conn(p('dev/api'), p('prod/api')));
    expect(fromDev.verdict).toBe('deny');
    expect(fromDev.decidedBy).toMatchObject({ name: 'security.pass-prod', rule: 1, tier: 'security' });
  });
  it('policies in a tier run by order (unset last, ties by name); Log continues; Deny is final', () => {
    const { e, p } = engineFor(
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: b-deny}\nspec: {order: 10, selector: app == 'api', ingress: [{action: Log}, {action: Deny, protocol: TCP, destination: {ports: [8080]}}]}",
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: a-allow}\nspec: {order: 10, selector: app == 'api', ingress: [{action: Allow, protocol: TCP, destination: {ports: ['8000:8079']}}]}",
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: z-unordered}\nspec: {selector: app == 'api', ingress: [{action: Allow}]}",
    );
    const d = e.decide(conn(p('prod/web'), p('prod/api')));
    expect(d.decidedBy).toMatchObject({ name: 'b-deny', rule: 1 });
    expect(e.decide(conn(p('prod/web'), p('prod/api'), 9000)).decidedBy).toMatchObject({ name: 'z-unordered' });
    expect(e.decide(conn(p('prod/web'), p('prod/api'), 8000)).decidedBy).toMatchObject({ name: 'a-allow' });
  });
  it('a tier with defaultAction Pass hands unmatched traffic to the next tier; no policy at all → profile kns allows', () => {
    const { e, p } = engineFor(
      'apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: platform}\nspec: {order: 50, defaultAction: Pass}',
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: platform.x}\nspec: {tier: platform, selector: app == 'api', ingress: [{action: Deny, source: {nets: [192.0.2.0/24]}}]}",
    );
    const d = e.decide(conn(p('prod/web'), p('prod/api')));
    expect(d.verdict).toBe('allow');
    expect(d.decidedBy).toMatchObject({ kind: 'Profile', name: 'kns.prod' });
  });
  it('types default: egress rules only → Egress only', () => {
    const { e, p } = engineFor("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: eg}\nspec: {selector: app == 'api', egress: [{action: Deny}]}");
    expect(e.decide(conn(p('prod/web'), p('prod/api'))).verdict).toBe('allow');
    expect(e.decide(conn(p('prod/api'), p('prod/web'))).verdict).toBe('deny');
  });
});

describe('Calico rule matching', () => {
  it('a namespaced policy scopes selectors and serviceAccounts to its namespace unless namespaceSelector is given', () => {
    const { e, p } = engineFor(
      "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: sa, namespace: prod}\nspec: {selector: app == 'web', ingress: [{action: Allow, source: {serviceAccounts: {names: [api]}}}]}",
    );
    expect(e.decide(conn(p('prod/api'), p('prod/web'))).verdict).toBe('allow');
    const d = e.decide(conn(p('dev/api'), p('prod/web')));
    expect(d.verdict).toBe('deny');
    expect(d.closestMiss?.summary).toContain("namespaced policy's selectors select its own namespace prod");
  });
  it('a GlobalNetworkPolicy serviceAccounts.names matches that name in any namespace', () => {
    const { e, p } = engineFor("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: sa}\nspec: {selector: app == 'web', ingress: [{action: Allow, source: {serviceAccounts: {names: [api]}}}]}");
    expect(e.decide(conn(p('dev/api'), p('prod/web'))).verdict).toBe('allow');
  });
  it('serviceAccounts names AND selector', () => {
    const { e, p } = engineFor("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: sa}\nspec: {selector: app == 'web', ingress: [{action: Allow, source: {serviceAccounts: {names: [api], selector: team == 'core'}}}]}");
    expect(e.decide(conn(p('prod/api'), p('prod/web'))).verdict).toBe('allow');
    expect(e.decide(conn(p('dev/api'), p('prod/web'))).verdict).toBe('deny'); // dev/api's account has no team label
  });
  it('notSelector and notNets; nets need an address', () => {
    const { e, p } = engineFor("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: n}\nspec: {selector: app == 'web', ingress: [{action: Allow, source: {notSelector: has(app) && app == 'api', notNets: [10.2.0.0/16]}}]}");
    expect(e.decide(conn(p('prod/api'), p('prod/web'))).verdict).toBe('deny');
    expect(e.decide({ ...conn(p('prod/api'), p('prod/web')), src: { kind: 'ip', ip: '192.0.2.9' } }).verdict).toBe('allow');
    expect(e.decide({ ...conn(p('prod/api'), p('prod/web')), src: { kind: 'ip', ip: '10.2.3.4' } }).verdict).toBe('deny');
  });
  it('named destination ports resolve on the destination pod', () => {
    const { e, p } = engineFor("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: n}\nspec: {selector: app == 'web', ingress: [{action: Allow, protocol: TCP, destination: {ports: [web]}}]}");
    expect(e.decide(conn(p('prod/api'), p('prod/web'), 8080)).verdict).toBe('allow');
    expect(e.decide(conn(p('prod/api'), p('prod/web'), 8081)).verdict).toBe('deny');
  });
  it('protocol by name or number', () => {
    const { e, p } = engineFor("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: n}\nspec: {selector: app == 'web', ingress: [{action: Allow, protocol: 6}]}");
    expect(e.decide(conn(p('prod/api'), p('prod/web'))).verdict).toBe('allow');
    expect(e.decide({ ...conn(p('prod/api'), p('prod/web')), protocol: 'UDP' }).verdict).toBe('deny');
  });
  it('Kubernetes NetworkPolicies join as knp.default.<name> at order 1000 in tier default', () => {
    const { e, p } = engineFor(
      'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: prod}\nspec: {podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]}',
      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: early-deny}\nspec: {order: 500, selector: app == 'web', ingress: [{action: Deny, source: {nets: [10.1.0.2/32]}}]}",
    );
    expect(e.decide(conn(p('prod/api'), p('prod/web'))).decidedBy).toMatchObject({ name: 'early-deny' });
    const fromDev = e.decide(conn(p('dev/api'), p('prod/web')));
    expect(fromDev.verdict).toBe('deny');
    expect(fromDev.explanation).toContain('knp.default.web');
  });
  it('reports a policy that names a missing tier', () => {
    const { diagnostics } = engineFor("apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: t.x}\nspec: {tier: t, selector: all()}");
    expect(diagnostics.some((d) => d.message.includes('names tier t'))).toBe(true);
  });
});
