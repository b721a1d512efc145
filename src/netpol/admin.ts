/**
 * AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1,
 * kubernetes-sigs/network-policy-api apis/v1alpha1), the tiers around NetworkPolicy:
 *
 *   per direction at the subject pod:
 *     1. AdminNetworkPolicies selecting the pod, by priority (lower first), rules in order: the first
 *        matching rule decides — Allow or Deny (final), Pass (skip the rest of the admin tier);
 *     2. NetworkPolicy, when the pod is isolated for that direction (allow-list, implicit deny);
 *     3. the BaselineAdminNetworkPolicy `default`, rules in order: Allow or Deny;
 *     4. otherwise allowed.
 *
 * Evaluated per connection (with a trace) and as connection sets (for the connectivity map).
 */
import type { TraceNode } from '../model/decision.js';
import type { Cluster, ClusterPod, L4Protocol } from '../model/cluster.js';
import { namespaceLabels } from '../model/cluster.js';
import type { Diagnostic } from '../model/errors.js';
import type { K8sObject } from '../readers/k8s.js';
import { ConnSet } from './connset.js';
import type { Peer } from './engine.js';
import { parseCidr, parseIpValue, rangeContains, rangeCovers, type IpRange } from './ipnet.js';
import { parseLabelSelector } from './parse.js';
import { formatLabelSelector, labelSelectorMatches } from './selector.js';
import type { LabelSelector } from './types.js';

export type AdminAction = 'Allow' | 'Deny' | 'Pass';

export type AdminPeer =
  | { namespaces: LabelSelector }
  | { pods: { namespaceSelector: LabelSelector; podSelector: LabelSelector } }
  | { nodes: LabelSelector }
  | { networks: string[] };

export type AdminPort = { portNumber: { protocol: L4Protocol; port: number } } | { portRange: { protocol: L4Protocol; start: number; end: number } } | { namedPort: string };

export interface AdminRule {
  name?: string;
  action: AdminAction;
  peers: AdminPeer[];
  ports?: AdminPort[];
}

export interface AdminPolicy {
  kind: 'AdminNetworkPolicy' | 'BaselineAdminNetworkPolicy';
  name: string;
  /** ANP only; lower is evaluated first. */
  priority: number;
  subject: { namespaces: LabelSelector } | { pods: { namespaceSelector: LabelSelector; podSelector: LabelSelector } };
  ingress: AdminRule[];
  egress: AdminRule[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

export function isAdminPolicyObject(o: K8sObject): boolean {
  return (o.kind === 'AdminNetworkPolicy' || o.kind === 'BaselineAdminNetworkPolicy') && o.apiVersion.startsWith('policy.networking.k8s.io/');
}

class Invalid extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

function podsSel(v: unknown, path: string) {
  if (!isObj(v)) throw new Invalid(path, 'expected {namespaceSelector, podSelector}');
  return { namespaceSelector: parseLabelSelector(v.namespaceSelector ?? {}, `${path}.namespaceSelector`), podSelector: parseLabelSelector(v.podSelector ?? {}, `${path}.podSelector`) };
}

function oneOf(v: unknown, path: string, allowed: string[]): string {
  if (!isObj(v)) throw new Invalid(path, 'expected an object');
  const set = allowed.filter((k) => v[k] !== undefined && v[k] !== null);
  if (set.length !== 1) throw new Invalid(path, `exactly one of ${allowed.join(', ')} must be set`);
  return set[0]!;
}

function parsePorts(v: unknown, path: string): AdminPort[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new Invalid(path, 'expected a list');
  return v.map((p, i): AdminPort => {
    const pp = `${path}[${i}]`;
    const k = oneOf(p, pp, ['portNumber', 'portRange', 'namedPort']);
    const x = (p as Obj)[k];
    if (k === 'namedPort') return { namedPort: String(x) };
    if (!isObj(x)) throw new Invalid(`${pp}.${k}`, 'expected an object');
    const protocol = (typeof x.protocol === 'string' ? x.protocol : 'TCP') as L4Protocol;
    if (k === 'portNumber') return { portNumber: { protocol, port: Number(x.port) } };
    const start = Number(x.start);
    const end = Number(x.end);
    if (!(start <= end)) throw new Invalid(`${pp}.portRange`, `start ${start} must not exceed end ${end}`);
    return { portRange: { protocol, start, end } };
  });
}

function parseRules(v: unknown, path: string, dir: 'ingress' | 'egress', baseline: boolean): AdminRule[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Invalid(path, 'expected a list of rules');
  return v.map((r, i): AdminRule => {
    const p = `${path}[${i}]`;
    if (!isObj(r)) throw new Invalid(p, 'expected a rule');
    const action = r.action;
    if (action !== 'Allow' && action !== 'Deny' && (baseline || action !== 'Pass')) throw new Invalid(`${p}.action`, `expected ${baseline ? 'Allow or Deny' : 'Allow, Deny or Pass'}, found ${JSON.stringify(action)}`);
    const key = dir === 'ingress' ? 'from' : 'to';
    const list = r[key];
    if (!Array.isArray(list) || list.length === 0) throw new Invalid(`${p}.${key}`, 'must list at least one peer');
    const peers = list.map((x, j): AdminPeer => {
      const pp = `${p}.${key}[${j}]`;
      const k = oneOf(x, pp, dir === 'ingress' ? ['namespaces', 'pods'] : ['namespaces', 'pods', 'nodes', 'networks']);
      const val = (x as Obj)[k];
      if (k === 'namespaces') return { namespaces: parseLabelSelector(val, `${pp}.namespaces`) };
      if (k === 'pods') return { pods: podsSel(val, `${pp}.pods`) };
      if (k === 'nodes') return { nodes: parseLabelSelector(val, `${pp}.nodes`) };
      if (!Array.isArray(val) || val.some((c) => typeof c !== 'string' || !parseCidr(c))) throw new Invalid(`${pp}.networks`, 'expected a list of CIDRs');
      return { networks: val as string[] };
    });
    const ports = parsePorts(r.ports, `${p}.ports`);
    return { ...(typeof r.name === 'string' ? { name: r.name } : {}), action, peers, ...(ports ? { ports } : {}) };
  });
}

export function parseAdminPolicy(o: K8sObject, diags: Diagnostic[]): AdminPolicy | null {
  const baseline = o.kind === 'BaselineAdminNetworkPolicy';
  try {
    const spec = o.raw.spec;
    if (!isObj(spec)) throw new Invalid('.spec', 'expected a spec');
    if (baseline && o.metadata.name !== 'default') throw new Invalid('.metadata.name', 'a BaselineAdminNetworkPolicy must be named "default"');
    const priority = baseline ? 0 : Number(spec.priority);
    if (!baseline && (!Number.isInteger(priority) || priority < 0 || priority > 1000)) throw new Invalid('.spec.priority', `expected an integer 0-1000, found ${JSON.stringify(spec.priority)}`);
    const sk = oneOf(spec.subject, '.spec.subject', ['namespaces', 'pods']);
    const sv = (spec.subject as Obj)[sk];
    const subject = sk === 'namespaces' ? { namespaces: parseLabelSelector(sv, '.spec.subject.namespaces') } : { pods: podsSel(sv, '.spec.subject.pods') };
    return { kind: o.kind as AdminPolicy['kind'], name: o.metadata.name, priority, subject, ingress: parseRules(spec.ingress, '.spec.ingress', 'ingress', baseline), egress: parseRules(spec.egress, '.spec.egress', 'egress', baseline) };
  } catch (e) {
    if (e instanceof Invalid) {
      diags.push({ severity: 'error', location: { file: o.source.file, line: o.source.lineAt?.(e.path) ?? o.source.line, path: `${o.source.path}${e.path}` }, message: `${o.kind} ${o.metadata.name} skipped: ${e.path.slice(1)}: ${e.message}` });
      return null;
    }
    throw e;
  }
}

const peerName = (p: Peer) => (p.kind === 'pod' ? `${p.pod.namespace}/${p.pod.name}` : p.ip);

export interface AdminDirection {
  /** `none`: no admin rule matched (the next tier decides). */
  result: 'allow' | 'deny' | 'pass' | 'none';
  policy?: AdminPolicy;
  rule?: number;
  node: TraceNode;
}

export class AdminEngine {
  readonly anps: AdminPolicy[];
  readonly banp: AdminPolicy | null;

  constructor(
    policies: AdminPolicy[],
    readonly cluster: Cluster,
    diags: Diagnostic[] = [],
  ) {
    this.anps = policies.filter((p) => p.kind === 'AdminNetworkPolicy').sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : 1));
    for (let i = 1; i < this.anps.length; i++) {
      if (this.anps[i]!.priority === this.anps[i - 1]!.priority) diags.push({ severity: 'warning', location: {}, message: `AdminNetworkPolicies ${this.anps[i - 1]!.name} and ${this.anps[i]!.name} share priority ${this.anps[i]!.priority}: their relative order is undefined by the API (evaluated by name here)` });
    }
    const banps = policies.filter((p) => p.kind === 'BaselineAdminNetworkPolicy');
    this.banp = banps[0] ?? null;
  }

  get empty(): boolean {
    return this.anps.length === 0 && this.banp === null;
  }

  selects(p: AdminPolicy, pod: ClusterPod): boolean {
    if (pod.hostNetwork) return false;
    const nsl = namespaceLabels(this.cluster, pod.namespace);
    if ('namespaces' in p.subject) return labelSelectorMatches(p.subject.namespaces, nsl);
    return labelSelectorMatches(p.subject.pods.namespaceSelector, nsl) && labelSelectorMatches(p.subject.pods.podSelector, pod.labels);
  }

  private peerMatches(pe: AdminPeer, other: Peer): boolean {
    if ('networks' in pe) {
      const ips = other.kind === 'pod' ? other.pod.ips : [other.ip];
      return ips.some((s) => {
        const ip = parseIpValue(s);
        return ip !== null && pe.networks.some((n) => rangeContains(parseCidr(n)!, ip));
      });
    }
    if ('nodes' in pe) return false; // node labels are not in the cluster model: see notes
    if (other.kind !== 'pod' || other.pod.hostNetwork) return false;
    const nsl = namespaceLabels(this.cluster, other.pod.namespace);
    if ('namespaces' in pe) return labelSelectorMatches(pe.namespaces, nsl);
    return labelSelectorMatches(pe.pods.namespaceSelector, nsl) && labelSelectorMatches(pe.pods.podSelector, other.pod.labels);
  }

  private portsConns(ports: AdminPort[] | undefined, dst: Peer): ConnSet {
    if (!ports || ports.length === 0) return ConnSet.ALL;
    let c = ConnSet.NONE;
    for (const p of ports) {
      if ('portNumber' in p) c = c.union(ConnSet.ports(p.portNumber.protocol, p.portNumber.port));
      else if ('portRange' in p) c = c.union(ConnSet.ports(p.portRange.protocol, p.portRange.start, p.portRange.end));
      else if (dst.kind === 'pod') for (const cp of dst.pod.ports) if (cp.name === p.namedPort) c = c.union(ConnSet.ports(cp.protocol, cp.containerPort));
    }
    return c;
  }

  private rules(p: AdminPolicy, dir: 'ingress' | 'egress'): AdminRule[] {
    return dir === 'ingress' ? p.ingress : p.egress;
  }

  /** One tier (`admin` = the ANPs, `baseline` = the BANP) for one connection. */
  direction(tier: 'admin' | 'baseline', dir: 'ingress' | 'egress', src: Peer, dst: Peer, protocol: L4Protocol, port: number): AdminDirection {
    const subject = dir === 'ingress' ? dst : src;
    const other = dir === 'ingress' ? src : dst;
    const label = tier === 'admin' ? 'AdminNetworkPolicy' : 'BaselineAdminNetworkPolicy';
    if (subject.kind !== 'pod') return { result: 'none', node: { node: tier, matched: false, detail: `${peerName(subject)} is not a pod: no ${label} applies` } };
    const pols = (tier === 'admin' ? this.anps : this.banp ? [this.banp] : []).filter((p) => this.selects(p, subject.pod));
    const polNodes: TraceNode[] = [];
    for (const pol of pols) {
      const ruleNodes: TraceNode[] = [];
      polNodes.push({ node: 'policy', matched: false, detail: `${label} ${pol.name}${tier === 'admin' ? ` (priority ${pol.priority})` : ''}`, children: ruleNodes });
      const rules = this.rules(pol, dir);
      for (let i = 0; i < rules.length; i++) {
        const r = rules[i]!;
        const peerOk = r.peers.some((pe) => this.peerMatches(pe, other));
        const portOk = this.portsConns(r.ports, dst).contains(protocol, port);
        const ok = peerOk && portOk;
        ruleNodes.push({
          node: 'rule',
          matched: ok,
          detail: `${pol.name} ${dir}[${i}]${r.name ? ` "${r.name}"` : ''} ${r.action}`,
          children: [
            { node: dir === 'ingress' ? 'from' : 'to', matched: peerOk, detail: `${peerName(other)} ${peerOk ? 'matches' : 'does not match'} ${r.peers.map(describePeer).join(' or ')}` },
            { node: 'ports', matched: portOk, detail: `${protocol}/${port} ${portOk ? 'matches' : 'needs'} ${r.ports?.length ? r.ports.map(describePort).join(', ') : 'any port'}` },
          ],
        });
        if (!ok) continue;
        polNodes[polNodes.length - 1]!.matched = true;
        const result = r.action === 'Allow' ? 'allow' : r.action === 'Deny' ? 'deny' : 'pass';
        return { result, policy: pol, rule: i, node: { node: tier, matched: true, detail: `${label} ${pol.name} ${dir}[${i}] ${r.action}`, children: polNodes } };
      }
    }
    return { result: 'none', node: { node: tier, matched: false, detail: pols.length ? `no ${label} rule matched (${pols.map((p) => p.name).join(', ')})` : `no ${label} selects ${peerName(subject)}`, children: polNodes } };
  }

  /**
   * Connection-set form of one tier: which connections its rules allow, deny and pass, in rule order
   * (a connection is decided by the first rule that covers it).
   */
  directionSets(tier: 'admin' | 'baseline', dir: 'ingress' | 'egress', src: Peer | { kind: 'range'; range: IpRange }, dst: Peer | { kind: 'range'; range: IpRange }): { allow: ConnSet; deny: ConnSet; pass: ConnSet } {
    const subject = dir === 'ingress' ? dst : src;
    const other = dir === 'ingress' ? src : dst;
    let allow = ConnSet.NONE;
    let deny = ConnSet.NONE;
    let pass = ConnSet.NONE;
    if (subject.kind !== 'pod') return { allow, deny, pass };
    let remaining = ConnSet.ALL;
    const pols = (tier === 'admin' ? this.anps : this.banp ? [this.banp] : []).filter((p) => this.selects(p, subject.pod));
    for (const pol of pols) {
      for (const r of this.rules(pol, dir)) {
        const peerOk = r.peers.some((pe) => (other.kind === 'range' ? 'networks' in pe && pe.networks.some((n) => rangeCovers(parseCidr(n)!, other.range)) : this.peerMatches(pe, other)));
        if (!peerOk) continue;
        const c = this.portsConns(r.ports, dst.kind === 'range' ? { kind: 'ip', ip: '' } : dst).intersect(remaining);
        if (r.action === 'Allow') allow = allow.union(c);
        else if (r.action === 'Deny') deny = deny.union(c);
        else pass = pass.union(c);
        remaining = remaining.subtract(c);
      }
    }
    return { allow, deny, pass };
  }
}

function describePeer(p: AdminPeer): string {
  if ('namespaces' in p) return `namespaces ${formatLabelSelector(p.namespaces)}`;
  if ('pods' in p) return `pods ${formatLabelSelector(p.pods.podSelector)} in namespaces ${formatLabelSelector(p.pods.namespaceSelector)}`;
  if ('nodes' in p) return `nodes ${formatLabelSelector(p.nodes)} (node labels not modelled)`;
  return `networks ${p.networks.join(', ')}`;
}

function describePort(p: AdminPort): string {
  if ('portNumber' in p) return `${p.portNumber.protocol}/${p.portNumber.port}`;
  if ('portRange' in p) return `${p.portRange.protocol}/${p.portRange.start}-${p.portRange.end}`;
  return `named port ${p.namedPort}`;
}
