/**
 * Calico objects (projectcalico.org/v3, also crd.projectcalico.org/v1 as stored) → typed policies and
 * tiers, with Calico's defaulting: tier `default`, `types` from the rules present (Ingress when there
 * are no egress rules; Egress alone when only egress rules; both when both), `next-tier` = Pass.
 * Kubernetes NetworkPolicies join as `knp.default.<name>` at order 1000 in tier `default`, as
 * libcalico-go's K8sNetworkPolicyToCalico converts them.
 */
import type { Diagnostic } from '../model/errors.js';
import type { K8sObject } from '../readers/k8s.js';
import type { NetworkPolicy as K8sNetworkPolicy } from '../netpol/types.js';
import { effectivePolicyTypes } from '../netpol/types.js';
import { parseCidr } from '../netpol/ipnet.js';
import { parseSelector, SelectorError, type SelectorNode } from './selector.js';
import type { Action, CalicoPolicy, CalicoPort, EntityRule, HTTPMatch, PolicyType, Rule, Tier } from './types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

const CALICO_KINDS = new Set(['NetworkPolicy', 'GlobalNetworkPolicy', 'Tier', 'StagedNetworkPolicy', 'StagedGlobalNetworkPolicy', 'StagedKubernetesNetworkPolicy', 'GlobalNetworkSet', 'NetworkSet', 'HostEndpoint', 'Profile']);

export function isCalicoObject(o: K8sObject): boolean {
  return (o.apiVersion.startsWith('projectcalico.org/') || o.apiVersion.startsWith('crd.projectcalico.org/')) && CALICO_KINDS.has(o.kind);
}

class Invalid extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

function sel(v: unknown, path: string): { node: SelectorNode; text: string } | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Invalid(path, 'expected a selector string');
  try {
    return { node: parseSelector(v), text: v };
  } catch (e) {
    if (e instanceof SelectorError) throw new Invalid(path, e.message);
    throw e;
  }
}

function ports(v: unknown, path: string): CalicoPort[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new Invalid(path, 'expected a list of ports');
  return v.map((p, i): CalicoPort => {
    if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535) return { kind: 'range', from: p, to: p };
    if (typeof p === 'string') {
      const m = /^(\d+):(\d+)$/.exec(p);
      if (m) {
        const a = Number(m[1]);
        const b = Number(m[2]);
        if (a > b || b > 65535) throw new Invalid(`${path}[${i}]`, `invalid port range ${p}`);
        return { kind: 'range', from: a, to: b };
      }
      if (/^\d+$/.test(p)) return { kind: 'range', from: Number(p), to: Number(p) };
      return { kind: 'named', name: p };
    }
    throw new Invalid(`${path}[${i}]`, `expected a port number, "start:end" or a named port, found ${JSON.stringify(p)}`);
  });
}

function nets(v: unknown, path: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : [v];
  return list.map((n, i) => {
    if (typeof n !== 'string' || !parseCidr(n)) throw new Invalid(`${path}[${i}]`, `expected a CIDR, found ${JSON.stringify(n)}`);
    return n;
  });
}

function entity(v: unknown, path: string): EntityRule {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) throw new Invalid(path, 'expected an entity rule');
  const out: EntityRule = {};
  const n = nets(v.nets ?? (v.net !== undefined ? [v.net] : undefined), `${path}.nets`);
  if (n) out.nets = n;
  const nn = nets(v.notNets ?? (v.notNet !== undefined ? [v.notNet] : undefined), `${path}.notNets`);
  if (nn) out.notNets = nn;
  const s = sel(v.selector, `${path}.selector`);
  if (s) [out.selector, out.selectorText] = [s.node, s.text];
  const ns = sel(v.notSelector, `${path}.notSelector`);
  if (ns) [out.notSelector, out.notSelectorText] = [ns.node, ns.text];
  const nss = sel(v.namespaceSelector, `${path}.namespaceSelector`);
  if (nss) [out.namespaceSelector, out.namespaceSelectorText] = [nss.node, nss.text];
  const p = ports(v.ports, `${path}.ports`);
  if (p) out.ports = p;
  const np = ports(v.notPorts, `${path}.notPorts`);
  if (np) out.notPorts = np;
  if (isObj(v.serviceAccounts)) {
    const sa = v.serviceAccounts;
    const ss = sel(sa.selector, `${path}.serviceAccounts.selector`);
    out.serviceAccounts = {
      ...(Array.isArray(sa.names) ? { names: sa.names.map(String) } : {}),
      ...(ss ? { selector: ss.node, selectorText: ss.text } : {}),
    };
  }
  if (isObj(v.services) && typeof v.services.name === 'string') out.services = { name: v.services.name, ...(typeof v.services.namespace === 'string' ? { namespace: v.services.namespace } : {}) };
  return out;
}

function action(v: unknown, path: string): Action {
  const a = typeof v === 'string' ? v.toLowerCase() : '';
  if (a === 'allow') return 'Allow';
  if (a === 'deny') return 'Deny';
  if (a === 'log') return 'Log';
  if (a === 'pass' || a === 'next-tier') return 'Pass';
  throw new Invalid(path, `expected Allow, Deny, Log or Pass, found ${JSON.stringify(v)}`);
}

function protocol(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'number' ? String(v) : String(v).toUpperCase();
}

function http(v: unknown, path: string): HTTPMatch | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new Invalid(path, 'expected {methods, paths}');
  const out: HTTPMatch = {};
  if (Array.isArray(v.methods)) out.methods = v.methods.map(String);
  if (Array.isArray(v.paths)) {
    out.paths = v.paths.map((p, i) => {
      if (isObj(p) && typeof p.exact === 'string' && p.prefix === undefined) return { exact: p.exact };
      if (isObj(p) && typeof p.prefix === 'string' && p.exact === undefined) return { prefix: p.prefix };
      throw new Invalid(`${path}.paths[${i}]`, 'expected exactly one of exact or prefix');
    });
  }
  return out;
}

function rules(v: unknown, path: string, dir: 'ingress' | 'egress'): Rule[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Invalid(path, 'expected a list of rules');
  return v.map((r, i): Rule => {
    const p = `${path}[${i}]`;
    if (!isObj(r)) throw new Invalid(p, 'expected a rule');
    const h = http(r.http, `${p}.http`);
    if (h && dir === 'egress') throw new Invalid(`${p}.http`, 'HTTP match is only valid on ingress rules');
    const out: Rule = { action: action(r.action, `${p}.action`), source: entity(r.source, `${p}.source`), destination: entity(r.destination, `${p}.destination`) };
    const proto = protocol(r.protocol);
    if (proto) out.protocol = proto;
    const np = protocol(r.notProtocol);
    if (np) out.notProtocol = np;
    if (r.ipVersion === 4 || r.ipVersion === 6) out.ipVersion = r.ipVersion;
    if (h) out.http = h;
    if (r.icmp !== undefined || r.notICMP !== undefined) out.icmp = true;
    if ((out.source.ports || out.destination.ports || out.source.notPorts || out.destination.notPorts) && !out.protocol) {
      throw new Invalid(`${p}.protocol`, 'protocol must be set (TCP, UDP, SCTP or UDPLite) when ports are used');
    }
    return out;
  });
}

function defaultTypes(spec: Obj, ingress: Rule[], egress: Rule[]): PolicyType[] {
  if (Array.isArray(spec.types) && spec.types.length > 0) return spec.types.filter((t): t is PolicyType => t === 'Ingress' || t === 'Egress');
  if (egress.length === 0) return ['Ingress'];
  if (ingress.length === 0) return ['Egress'];
  return ['Ingress', 'Egress'];
}

export class CalicoModel {
  readonly tiers = new Map<string, Tier>();
  readonly policies: CalicoPolicy[] = [];
  /** Objects read but not evaluated, by kind. */
  readonly ignored = new Map<string, number>();

  static fromObjects(objects: K8sObject[], k8sPolicies: K8sNetworkPolicy[], diags: Diagnostic[]): CalicoModel {
    const m = new CalicoModel();
    m.tiers.set('default', { name: 'default', order: 1_000_000, defaultAction: 'Deny' });
    for (const o of objects) {
      const loc = (path: string) => ({ file: o.source.file, line: o.source.lineAt?.(path) ?? o.source.line, path: `${o.source.path}${path}` });
      try {
        const spec = isObj(o.raw.spec) ? o.raw.spec : {};
        if (o.kind === 'Tier') {
          const da = spec.defaultAction === 'Pass' ? 'Pass' : 'Deny';
          m.tiers.set(o.metadata.name, { name: o.metadata.name, ...(typeof spec.order === 'number' ? { order: spec.order } : {}), defaultAction: da });
        } else if (o.kind === 'NetworkPolicy' || o.kind === 'GlobalNetworkPolicy') {
          const ingress = rules(spec.ingress, '.spec.ingress', 'ingress');
          const egress = rules(spec.egress, '.spec.egress', 'egress');
          const s = sel(spec.selector, '.spec.selector') ?? { node: { op: 'all' } as SelectorNode, text: 'all()' };
          const nss = o.kind === 'GlobalNetworkPolicy' ? sel(spec.namespaceSelector, '.spec.namespaceSelector') : undefined;
          const sas = sel(spec.serviceAccountSelector, '.spec.serviceAccountSelector');
          m.policies.push({
            kind: o.kind,
            ...(o.kind === 'NetworkPolicy' ? { namespace: o.metadata.namespace ?? 'default' } : {}),
            name: o.metadata.name,
            tier: typeof spec.tier === 'string' && spec.tier ? spec.tier : 'default',
            ...(typeof spec.order === 'number' ? { order: spec.order } : {}),
            selector: s.node,
            selectorText: s.text,
            ...(nss ? { namespaceSelector: nss.node } : {}),
            ...(sas ? { serviceAccountSelector: sas.node } : {}),
            types: defaultTypes(spec, ingress, egress),
            ingress,
            egress,
            source: o.source,
          });
        } else {
          m.ignored.set(o.kind, (m.ignored.get(o.kind) ?? 0) + 1);
        }
      } catch (e) {
        if (e instanceof Invalid) {
          diags.push({ severity: 'error', location: loc(e.path), message: `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name} skipped: ${e.path.slice(1)}: ${e.message}` });
          continue;
        }
        throw e;
      }
    }
    for (const [kind, n] of m.ignored) diags.push({ severity: 'warning', location: {}, message: `${n} Calico ${kind} object(s) not evaluated (not modelled)` });
    for (const p of m.policies) {
      if (!m.tiers.has(p.tier)) diags.push({ severity: 'warning', location: p.source ? { file: p.source.file, line: p.source.line } : {}, message: `policy ${p.name} names tier ${p.tier}, which is not in the inputs: Calico would not program it until the tier exists; evaluated with order unknown (last) and defaultAction Deny` });
    }
    for (const k of k8sPolicies) {
      m.policies.push({
        kind: 'NetworkPolicy',
        namespace: k.namespace,
        name: `knp.default.${k.name}`,
        tier: 'default',
        order: 1000,
        selector: { op: 'all' },
        selectorText: `projectcalico.org/orchestrator == 'k8s' && <podSelector of ${k.namespace}/${k.name}>`,
        types: effectivePolicyTypes(k.spec),
        ingress: [],
        egress: [],
        k8s: k,
      });
    }
    return m;
  }

  /** Tiers in evaluation order: order ascending, unset last, ties by name. */
  orderedTiers(): Tier[] {
    const names = new Set([...this.tiers.keys(), ...this.policies.map((p) => p.tier)]);
    const list = [...names].map((n) => this.tiers.get(n) ?? { name: n, defaultAction: 'Deny' as const });
    return list.sort(byOrderThenName);
  }
}

export function byOrderThenName(a: { order?: number; name: string }, b: { order?: number; name: string }): number {
  const ao = a.order ?? Infinity;
  const bo = b.order ?? Infinity;
  if (ao !== bo) return ao < bo ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
