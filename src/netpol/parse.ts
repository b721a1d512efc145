/**
 * networking.k8s.io/v1 NetworkPolicy objects → typed policies, with the API server's validation
 * (ValidateNetworkPolicy): a policy the API server would reject is reported and skipped, because it
 * could never have been in force. Defaulting (protocol TCP, policyTypes) stays visible: the engine
 * applies it, so traces can say "defaulted".
 */
import type { Diagnostic } from '../model/errors.js';
import type { L4Protocol } from '../model/cluster.js';
import type { K8sObject } from '../readers/k8s.js';
import { parseCidr, rangeCovers } from './ipnet.js';
import type { IPBlock, LabelSelector, LabelSelectorRequirement, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, PolicyType } from './types.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

class Invalid extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

export function isNetworkPolicyObject(o: K8sObject): boolean {
  return o.kind === 'NetworkPolicy' && o.apiVersion.startsWith('networking.k8s.io/');
}

export function parseLabelSelector(v: unknown, path: string): LabelSelector {
  if (v === null || v === undefined) return {};
  if (!isObj(v)) throw new Invalid(path, 'expected a label selector (matchLabels / matchExpressions)');
  const out: LabelSelector = {};
  if (v.matchLabels !== undefined && v.matchLabels !== null) {
    if (!isObj(v.matchLabels)) throw new Invalid(`${path}.matchLabels`, 'expected a map of label values');
    out.matchLabels = Object.fromEntries(Object.entries(v.matchLabels).map(([k, x]) => [k, String(x)]));
  }
  if (v.matchExpressions !== undefined && v.matchExpressions !== null) {
    if (!Array.isArray(v.matchExpressions)) throw new Invalid(`${path}.matchExpressions`, 'expected a list');
    out.matchExpressions = v.matchExpressions.map((e, i): LabelSelectorRequirement => {
      const p = `${path}.matchExpressions[${i}]`;
      if (!isObj(e) || typeof e.key !== 'string') throw new Invalid(p, 'expected {key, operator, values}');
      const op = e.operator;
      if (op !== 'In' && op !== 'NotIn' && op !== 'Exists' && op !== 'DoesNotExist') throw new Invalid(`${p}.operator`, `expected In, NotIn, Exists or DoesNotExist, found ${JSON.stringify(op)}`);
      const values = Array.isArray(e.values) ? e.values.map(String) : [];
      if ((op === 'In' || op === 'NotIn') && values.length === 0) throw new Invalid(`${p}.values`, `must be specified when operator is ${op}`);
      if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) throw new Invalid(`${p}.values`, `may not be specified when operator is ${op}`);
      return { key: e.key, operator: op, ...(values.length ? { values } : {}) };
    });
  }
  return out;
}

function parseIpBlock(v: unknown, path: string, diags: Diagnostic[], o: K8sObject): IPBlock {
  if (!isObj(v) || typeof v.cidr !== 'string') throw new Invalid(path, 'expected {cidr, except}');
  const c = parseCidr(v.cidr);
  if (!c || !v.cidr.includes('/')) throw new Invalid(`${path}.cidr`, `expected a CIDR, found ${JSON.stringify(v.cidr)}`);
  if (c.hostBitsSet) diags.push({ severity: 'warning', location: loc(o, `${path}.cidr`), message: `ipBlock cidr ${v.cidr} has host bits set: read as ${c.canonical} (some CNIs, e.g. Antrea, reject such a rule)` });
  const except: string[] = [];
  if (Array.isArray(v.except)) {
    v.except.forEach((e, i) => {
      const ep = `${path}.except[${i}]`;
      const x = typeof e === 'string' ? parseCidr(e) : null;
      if (!x || typeof e !== 'string' || !e.includes('/')) throw new Invalid(ep, `expected a CIDR, found ${JSON.stringify(e)}`);
      // ValidateIPBlock: each except must be a strict subset of cidr.
      if (!rangeCovers(c, x) || x.prefixLen <= c.prefixLen) throw new Invalid(ep, `must be a strict subset of \`cidr\` ${v.cidr}`);
      except.push(e);
    });
  }
  return { cidr: v.cidr, ...(Array.isArray(v.except) ? { except } : {}) };
}

function parsePeer(v: unknown, path: string, diags: Diagnostic[], o: K8sObject): NetworkPolicyPeer {
  if (!isObj(v)) throw new Invalid(path, 'expected a peer (podSelector / namespaceSelector / ipBlock)');
  const out: NetworkPolicyPeer = {};
  const has = (k: string) => v[k] !== undefined && v[k] !== null;
  if (has('podSelector')) out.podSelector = parseLabelSelector(v.podSelector, `${path}.podSelector`);
  if (has('namespaceSelector')) out.namespaceSelector = parseLabelSelector(v.namespaceSelector, `${path}.namespaceSelector`);
  if (has('ipBlock')) {
    if (out.podSelector || out.namespaceSelector) throw new Invalid(path, 'may not specify more than 1 peer type: ipBlock excludes podSelector/namespaceSelector');
    out.ipBlock = parseIpBlock(v.ipBlock, `${path}.ipBlock`, diags, o);
  }
  if (!out.podSelector && !out.namespaceSelector && !out.ipBlock) throw new Invalid(path, 'must specify a peer (podSelector, namespaceSelector or ipBlock)');
  return out;
}

function parsePort(v: unknown, path: string): NetworkPolicyPort {
  if (!isObj(v)) throw new Invalid(path, 'expected {protocol, port, endPort}');
  const out: NetworkPolicyPort = {};
  if (v.protocol !== undefined && v.protocol !== null) {
    if (v.protocol !== 'TCP' && v.protocol !== 'UDP' && v.protocol !== 'SCTP') throw new Invalid(`${path}.protocol`, `expected TCP, UDP or SCTP, found ${JSON.stringify(v.protocol)}`);
    out.protocol = v.protocol as L4Protocol;
  }
  if (v.port !== undefined && v.port !== null) {
    if (typeof v.port === 'number') {
      if (!Number.isInteger(v.port) || v.port < 1 || v.port > 65535) throw new Invalid(`${path}.port`, `expected a port 1-65535, found ${v.port}`);
      out.port = v.port;
    } else if (typeof v.port === 'string') {
      if (/^\d+$/.test(v.port)) throw new Invalid(`${path}.port`, `expected an integer or an IANA_SVC_NAME, found the string ${JSON.stringify(v.port)}`);
      if (!/^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/.test(v.port) || !/[a-z]/.test(v.port) || v.port.includes('--')) throw new Invalid(`${path}.port`, `expected an IANA_SVC_NAME (at most 15 lowercase letters, digits and '-'), found ${JSON.stringify(v.port)}`);
      out.port = v.port;
    } else throw new Invalid(`${path}.port`, 'expected a number or a named port');
  }
  if (v.endPort !== undefined && v.endPort !== null) {
    if (typeof v.endPort !== 'number' || !Number.isInteger(v.endPort)) throw new Invalid(`${path}.endPort`, 'expected an integer');
    if (out.port === undefined) throw new Invalid(`${path}.endPort`, 'may not be specified when `port` is not specified');
    if (typeof out.port === 'string') throw new Invalid(`${path}.endPort`, 'may not be specified when `port` is a named port');
    if (v.endPort < out.port) throw new Invalid(`${path}.endPort`, `must be greater than or equal to \`port\` ${out.port}, found ${v.endPort}`);
    if (v.endPort > 65535) throw new Invalid(`${path}.endPort`, 'must be at most 65535');
    out.endPort = v.endPort;
  }
  return out;
}

function list<T>(v: unknown, path: string, f: (x: unknown, p: string) => T): T[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new Invalid(path, 'expected a list');
  return v.map((x, i) => f(x, `${path}[${i}]`));
}

function loc(o: K8sObject, path: string) {
  return { file: o.source.file, line: o.source.lineAt?.(path) ?? o.source.line, path: `${o.source.path}${path}` };
}

/** One object → a policy, or null (with an error diagnostic) when the API server would reject it. */
export function parseNetworkPolicy(o: K8sObject, diags: Diagnostic[], defaultNamespace = 'default'): NetworkPolicy | null {
  const spec = o.raw.spec;
  const id = `NetworkPolicy ${o.metadata.namespace ?? defaultNamespace}/${o.metadata.name}`;
  try {
    if (!isObj(spec)) throw new Invalid('.spec', 'expected a spec');
    const podSelector = parseLabelSelector(spec.podSelector, '.spec.podSelector');
    let policyTypes: PolicyType[] | undefined;
    if (spec.policyTypes !== undefined && spec.policyTypes !== null) {
      if (!Array.isArray(spec.policyTypes)) throw new Invalid('.spec.policyTypes', 'expected a list');
      policyTypes = spec.policyTypes.map((t, i) => {
        if (t !== 'Ingress' && t !== 'Egress') throw new Invalid(`.spec.policyTypes[${i}]`, `expected Ingress or Egress, found ${JSON.stringify(t)}`);
        return t;
      });
    }
    const ingress = list(spec.ingress, '.spec.ingress', (r, p) => {
      if (r !== null && !isObj(r)) throw new Invalid(p, 'expected a rule {ports, from}');
      const rr = (r ?? {}) as Obj;
      const ports = list(rr.ports, `${p}.ports`, parsePort);
      const from = list(rr.from, `${p}.from`, (x, pp) => parsePeer(x, pp, diags, o));
      return { ...(ports ? { ports } : {}), ...(from ? { from } : {}) };
    });
    const egress = list(spec.egress, '.spec.egress', (r, p) => {
      if (r !== null && !isObj(r)) throw new Invalid(p, 'expected a rule {ports, to}');
      const rr = (r ?? {}) as Obj;
      const ports = list(rr.ports, `${p}.ports`, parsePort);
      const to = list(rr.to, `${p}.to`, (x, pp) => parsePeer(x, pp, diags, o));
      return { ...(ports ? { ports } : {}), ...(to ? { to } : {}) };
    });
    return {
      namespace: o.metadata.namespace ?? defaultNamespace,
      name: o.metadata.name,
      spec: { podSelector, ...(policyTypes ? { policyTypes } : {}), ...(ingress ? { ingress } : {}), ...(egress ? { egress } : {}) },
      source: o.source,
    };
  } catch (e) {
    if (e instanceof Invalid) {
      diags.push({ severity: 'error', location: loc(o, e.path), message: `${id} skipped (the API server would reject it): ${e.path.slice(1)}: ${e.message}` });
      return null;
    }
    throw e;
  }
}
