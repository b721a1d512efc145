/**
 * ztunnel config dumps: the admin `/config_dump` of ztunnel, which is also what
 * `istioctl ztunnel-config all -o json` prints. Top-level `workloads` (keyed `<network>/<ip>`),
 * `services` (keyed `<network>/<vip>`), `policies` (ztunnel's `Authorization` with triple-nested
 * rules), `certificates` and `workloadState` (connections). Shapes follow ztunnel's serde output
 * (`StringMatch` as `{"Exact": "x"}`, `IpNet` as `"10.0.0.0/8"`) and also accept the xDS proto JSON
 * spellings istiod sends (`{"exact": "x"}`, `{"address": …, "length": n}`).
 * Every shape error names the file and JSON path.
 */
import { InputError } from '../../model/errors.js';
import { parseIp } from '../../rbac/cidr.js';
import type {
  ZtCertificate, ZtConnection, ZtIpNet, ZtMatch, ZtPolicy, ZtService, ZtServiceAccountMatch, ZtStringMatch, ZtunnelConfig, ZtWorkload,
} from '../../ztunnel/model.js';
import { describeValue, jsonPathJoin } from '../structured.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True when `doc` has the shape of a ztunnel config dump (content sniffing; never by file name). */
export function isZtunnelConfigDump(doc: unknown): boolean {
  if (!isObj(doc)) return false;
  if ('configs' in doc) return false;
  const hasWorkloads = isObj(doc.workloads);
  const hasPolicies = Array.isArray(doc.policies) && doc.policies.every((p) => isObj(p) && ('action' in p || 'scope' in p) && 'rules' in p);
  const hasServices = isObj(doc.services);
  const hasCerts = Array.isArray(doc.certificates);
  const hasState = isObj(doc.workloadState);
  // Workloads are the core; a policies-only dump (`istioctl zc policy -o json` prints a bare array, see below) is accepted too.
  return (hasWorkloads && (hasPolicies || hasServices || hasCerts || hasState)) || (hasPolicies && (hasServices || hasCerts) && !('kind' in doc));
}

/** `istioctl ztunnel-config policy -o json` prints the bare `policies` array. */
export function isZtunnelPolicyArray(doc: unknown): boolean {
  return Array.isArray(doc) && doc.length > 0 && doc.every((p) => isObj(p) && typeof p.action === 'string' && typeof p.scope === 'string' && Array.isArray(p.rules));
}

class Ctx {
  constructor(readonly file: string) {}
  err(path: string, expected: string, found: unknown): InputError {
    return new InputError({ file: this.file, path }, expected, describeValue(found));
  }
  obj(v: unknown, path: string, what = 'an object'): Obj {
    if (!isObj(v)) throw this.err(path, what, v);
    return v;
  }
  arr(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw this.err(path, 'an array', v);
    return v;
  }
  str(o: Obj, key: string, path: string, dflt = ''): string {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string') throw this.err(jsonPathJoin(path, key), 'a string', v);
    return v;
  }
}

const STRING_MATCH_KINDS: Record<string, ZtStringMatch['kind']> = {
  Exact: 'exact', exact: 'exact', Prefix: 'prefix', prefix: 'prefix', Suffix: 'suffix', suffix: 'suffix', Presence: 'presence', presence: 'presence',
};

function stringMatch(c: Ctx, v: unknown, path: string): ZtStringMatch | null {
  const o = c.obj(v, path, 'a string match ({"Exact": …}, {"Prefix": …}, {"Suffix": …} or {"Presence": []})');
  const keys = Object.keys(o);
  // The xDS form `{}` (no match type) is dropped by ztunnel (`filter_map`): return null.
  if (keys.length === 0) return null;
  if (keys.length !== 1 || !(keys[0]! in STRING_MATCH_KINDS)) throw c.err(path, 'a string match with one of Exact, Prefix, Suffix, Presence', o);
  const kind = STRING_MATCH_KINDS[keys[0]!]!;
  if (kind === 'presence') return { kind };
  const val = o[keys[0]!];
  if (typeof val !== 'string') throw c.err(jsonPathJoin(path, keys[0]!), 'a string', val);
  return { kind, value: val };
}

function ipNet(c: Ctx, v: unknown, path: string): ZtIpNet {
  if (typeof v === 'string') {
    const slash = v.indexOf('/');
    const addr = slash < 0 ? v : v.slice(0, slash);
    const ip = parseIp(addr);
    if (!ip) throw c.err(path, 'an IP network like 10.0.0.0/8', v);
    const max = ip.family === 4 ? 32 : 128;
    const prefix = slash < 0 ? max : Number(v.slice(slash + 1));
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || !/^\d+$/.test(slash < 0 ? '0' : v.slice(slash + 1))) throw c.err(path, `an IP network with a prefix length 0-${max}`, v);
    return { text: slash < 0 ? `${v}/${max}` : v, bytes: [...ip.bytes], prefix };
  }
  if (isObj(v) && typeof v.address === 'string') {
    // xDS Address: `address` is bytes (base64 in proto JSON) or a textual IP in hand-written configs.
    let ip = parseIp(v.address);
    if (!ip) {
      const raw = Buffer.from(v.address, 'base64');
      if (raw.length === 4 || raw.length === 16) ip = { family: raw.length === 4 ? 4 : 6, bytes: new Uint8Array(raw) };
    }
    if (!ip) throw c.err(jsonPathJoin(path, 'address'), 'an IP address (text or base64 bytes)', v.address);
    const max = ip.family === 4 ? 32 : 128;
    const prefix = v.length === undefined ? 0 : Number(v.length);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw c.err(jsonPathJoin(path, 'length'), `a prefix length 0-${max}`, v.length);
    const text = `${ip.family === 4 ? [...ip.bytes].join('.') : v.address}/${prefix}`;
    return { text, bytes: [...ip.bytes], prefix };
  }
  throw c.err(path, 'an IP network ("10.0.0.0/8")', v);
}

function saMatch(c: Ctx, v: unknown, path: string): ZtServiceAccountMatch {
  const o = c.obj(v, path, 'a service account match {namespace, serviceAccount}');
  return { namespace: c.str(o, 'namespace', path), serviceAccount: c.str(o, 'serviceAccount', path) };
}

function port(c: Ctx, v: unknown, path: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw c.err(path, 'a port number', v);
  // ztunnel converts with `*p as u16` (truncation).
  return n & 0xffff;
}

const MATCH_FIELDS = [
  'namespaces', 'notNamespaces', 'serviceAccounts', 'notServiceAccounts', 'principals', 'notPrincipals',
  'sourceIps', 'notSourceIps', 'destinationIps', 'notDestinationIps', 'destinationPorts', 'notDestinationPorts',
] as const;

function rbacMatch(c: Ctx, v: unknown, path: string): ZtMatch {
  const o = c.obj(v, path, 'a match object');
  for (const k of Object.keys(o)) {
    if (!(MATCH_FIELDS as readonly string[]).includes(k)) throw c.err(jsonPathJoin(path, k), `a match field (${MATCH_FIELDS.join(', ')})`, k);
  }
  const strs = (k: string): ZtStringMatch[] =>
    c.arr(o[k], jsonPathJoin(path, k)).flatMap((x, i) => {
      const m = stringMatch(c, x, jsonPathJoin(jsonPathJoin(path, k), i));
      return m ? [m] : [];
    });
  const sas = (k: string): ZtServiceAccountMatch[] => c.arr(o[k], jsonPathJoin(path, k)).map((x, i) => saMatch(c, x, jsonPathJoin(jsonPathJoin(path, k), i)));
  const ips = (k: string): ZtIpNet[] => c.arr(o[k], jsonPathJoin(path, k)).map((x, i) => ipNet(c, x, jsonPathJoin(jsonPathJoin(path, k), i)));
  const ports = (k: string): number[] => c.arr(o[k], jsonPathJoin(path, k)).map((x, i) => port(c, x, jsonPathJoin(jsonPathJoin(path, k), i)));
  return {
    namespaces: strs('namespaces'),
    notNamespaces: strs('notNamespaces'),
    serviceAccounts: sas('serviceAccounts'),
    notServiceAccounts: sas('notServiceAccounts'),
    principals: strs('principals'),
    notPrincipals: strs('notPrincipals'),
    sourceIps: ips('sourceIps'),
    notSourceIps: ips('notSourceIps'),
    destinationIps: ips('destinationIps'),
    notDestinationIps: ips('notDestinationIps'),
    destinationPorts: ports('destinationPorts'),
    notDestinationPorts: ports('notDestinationPorts'),
  };
}

const SCOPES: Record<string, ZtPolicy['scope']> = { Global: 'Global', GLOBAL: 'Global', Namespace: 'Namespace', NAMESPACE: 'Namespace', WorkloadSelector: 'WorkloadSelector', WORKLOAD_SELECTOR: 'WorkloadSelector' };
const ACTIONS: Record<string, ZtPolicy['action']> = { Allow: 'Allow', ALLOW: 'Allow', Deny: 'Deny', DENY: 'Deny' };

/** One `Authorization`. Accepts the dump's triple-nested arrays and the xDS `rules[].clauses[].matches[]` form. */
export function parseZtunnelPolicy(v: unknown, path: string, file = ''): ZtPolicy {
  const c = new Ctx(file);
  const o = c.obj(v, path, 'a ztunnel policy {name, namespace, scope, action, rules}');
  const scopeRaw = o.scope ?? 'Global';
  const actionRaw = o.action ?? 'Allow';
  if (typeof scopeRaw !== 'string' || !(scopeRaw in SCOPES)) throw c.err(jsonPathJoin(path, 'scope'), 'Global, Namespace or WorkloadSelector', scopeRaw);
  if (typeof actionRaw !== 'string' || !(actionRaw in ACTIONS)) throw c.err(jsonPathJoin(path, 'action'), 'Allow or Deny', actionRaw);
  // The dump: `rules: [[[match]]]`; xDS (istiod → ztunnel): `groups: [{rules: [{matches: []}]}]` (older: `rules: [{clauses: [{matches}]}]`).
  const viaGroups = o.rules === undefined && o.groups !== undefined;
  const rulesPath = jsonPathJoin(path, viaGroups ? 'groups' : 'rules');
  const rules = c.arr(viaGroups ? o.groups : o.rules, rulesPath).map((r, i) => {
    const rp = jsonPathJoin(rulesPath, i);
    const inner = viaGroups ? 'rules' : 'clauses';
    const clauses = isObj(r) ? c.arr(r[inner], jsonPathJoin(rp, inner)) : c.arr(r, rp);
    return clauses.map((cl, j) => {
      const cp = isObj(r) ? jsonPathJoin(jsonPathJoin(rp, inner), j) : jsonPathJoin(rp, j);
      const matches = isObj(cl) ? c.arr(cl.matches, jsonPathJoin(cp, 'matches')) : c.arr(cl, cp);
      return matches.map((m, k) => rbacMatch(c, m, isObj(cl) ? jsonPathJoin(jsonPathJoin(cp, 'matches'), k) : jsonPathJoin(cp, k)));
    });
  });
  const dry = o.dryRun ?? o.dry_run ?? false;
  if (typeof dry !== 'boolean') throw c.err(jsonPathJoin(path, 'dryRun'), 'true or false', dry);
  return { name: c.str(o, 'name', path), namespace: c.str(o, 'namespace', path), scope: SCOPES[scopeRaw]!, action: ACTIONS[actionRaw]!, rules, dryRun: dry, path };
}

function gateway(c: Ctx, v: unknown, path: string): { destination: string; port?: number } | undefined {
  if (v === undefined || v === null) return undefined;
  const o = c.obj(v, path, 'a gateway address {destination, port}');
  let destination = '';
  if (typeof o.destination === 'string') destination = o.destination;
  else if (isObj(o.destination)) destination = String(o.destination.hostname ?? o.destination.address ?? JSON.stringify(o.destination));
  const p = o.port ?? o.hboneMtlsPort;
  return { destination, ...(typeof p === 'number' ? { port: p } : {}) };
}

function portMap(c: Ctx, v: unknown, path: string): Record<string, number> {
  if (v === undefined || v === null) return {};
  const o = c.obj(v, path, 'a port map {"<port>": <targetPort>}');
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(o)) out[k] = port(c, x, jsonPathJoin(path, k));
  return out;
}

/** Parses a whole ztunnel config dump. Throws InputError (file + JSON path) on a shape error. */
export function parseZtunnelConfig(doc: unknown, file = ''): ZtunnelConfig {
  const c = new Ctx(file);
  if (isZtunnelPolicyArray(doc)) {
    return { file, workloads: [], services: [], certificates: [], connections: [], policies: (doc as unknown[]).map((p, i) => parseZtunnelPolicy(p, `$[${i}]`, file)) };
  }
  const o = c.obj(doc, '$', 'a ztunnel config dump (workloads, services, policies, certificates)');
  const workloads: ZtWorkload[] = [];
  const wls = o.workloads === undefined ? {} : c.obj(o.workloads, '$.workloads', 'an object keyed "<network>/<ip>"');
  for (const [key, v] of Object.entries(wls)) {
    const p = jsonPathJoin('$.workloads', key);
    const w = c.obj(v, p, 'a workload');
    const ips = c.arr(w.workloadIps, jsonPathJoin(p, 'workloadIps')).map((x, i) => {
      if (typeof x !== 'string' || !parseIp(x)) throw c.err(jsonPathJoin(jsonPathJoin(p, 'workloadIps'), i), 'an IP address', x);
      return x;
    });
    const aps = c.arr(w.authorizationPolicies, jsonPathJoin(p, 'authorizationPolicies')).map(String);
    workloads.push({
      key,
      uid: c.str(w, 'uid', p),
      name: c.str(w, 'name', p),
      namespace: c.str(w, 'namespace', p),
      workloadIps: ips,
      network: c.str(w, 'network', p),
      serviceAccount: c.str(w, 'serviceAccount', p, 'default'),
      trustDomain: c.str(w, 'trustDomain', p, 'cluster.local'),
      protocol: c.str(w, 'protocol', p, 'TCP'),
      ...(gateway(c, w.waypoint, jsonPathJoin(p, 'waypoint')) ? { waypoint: gateway(c, w.waypoint, jsonPathJoin(p, 'waypoint'))! } : {}),
      ...(typeof w.workloadName === 'string' ? { workloadName: w.workloadName } : {}),
      ...(typeof w.workloadType === 'string' ? { workloadType: w.workloadType } : {}),
      ...(typeof w.canonicalName === 'string' ? { canonicalName: w.canonicalName } : {}),
      ...(typeof w.node === 'string' ? { node: w.node } : {}),
      ...(typeof w.status === 'string' ? { status: w.status } : {}),
      ...(typeof w.clusterId === 'string' ? { clusterId: w.clusterId } : {}),
      authorizationPolicies: aps,
      path: p,
    });
  }
  const services: ZtService[] = [];
  const svcs = o.services === undefined ? {} : c.obj(o.services, '$.services', 'an object keyed "<network>/<vip>"');
  for (const [key, v] of Object.entries(svcs)) {
    const p = jsonPathJoin('$.services', key);
    const s = c.obj(v, p, 'a service');
    const eps = s.endpoints === undefined || s.endpoints === null ? {} : c.obj(s.endpoints, jsonPathJoin(p, 'endpoints'));
    services.push({
      key,
      name: c.str(s, 'name', p),
      namespace: c.str(s, 'namespace', p),
      hostname: c.str(s, 'hostname', p),
      vips: c.arr(s.vips, jsonPathJoin(p, 'vips')).map(String),
      ports: portMap(c, s.ports, jsonPathJoin(p, 'ports')),
      endpoints: Object.entries(eps).map(([ek, ev]) => {
        const ep = jsonPathJoin(jsonPathJoin(p, 'endpoints'), ek);
        const e = c.obj(ev, ep, 'an endpoint');
        return { workloadUid: c.str(e, 'workloadUid', ep), ...(typeof e.address === 'string' ? { address: e.address } : {}), ports: portMap(c, e.port, jsonPathJoin(ep, 'port')) };
      }),
      subjectAltNames: c.arr(s.subjectAltNames, jsonPathJoin(p, 'subjectAltNames')).map(String),
      ...(gateway(c, s.waypoint, jsonPathJoin(p, 'waypoint')) ? { waypoint: gateway(c, s.waypoint, jsonPathJoin(p, 'waypoint'))! } : {}),
      path: p,
    });
  }
  const policies = c.arr(o.policies, '$.policies').map((x, i) => parseZtunnelPolicy(x, `$.policies[${i}]`, file));
  const certificates: ZtCertificate[] = c.arr(o.certificates, '$.certificates').map((x, i) => {
    const p = `$.certificates[${i}]`;
    const cert = c.obj(x, p, 'a certificate entry {identity, state, certChain}');
    return {
      identity: c.str(cert, 'identity', p),
      state: c.str(cert, 'state', p),
      chain: c.arr(cert.certChain, jsonPathJoin(p, 'certChain')).map((e, j) => {
        const ce = c.obj(e, jsonPathJoin(jsonPathJoin(p, 'certChain'), j), 'a certificate');
        return {
          ...(typeof ce.serialNumber === 'string' ? { serialNumber: ce.serialNumber } : {}),
          ...(typeof ce.validFrom === 'string' ? { validFrom: ce.validFrom } : {}),
          ...(typeof ce.expirationTime === 'string' ? { expirationTime: ce.expirationTime } : {}),
        };
      }),
      path: p,
    };
  });
  const connections: ZtConnection[] = [];
  if (o.workloadState !== undefined) {
    const ws = c.obj(o.workloadState, '$.workloadState', 'an object keyed by workload uid');
    for (const [uid, v] of Object.entries(ws)) {
      const p = jsonPathJoin('$.workloadState', uid);
      const st = c.obj(v, p, 'a workload state');
      if (st.connections === undefined) continue;
      const cons = c.obj(st.connections, jsonPathJoin(p, 'connections'), 'an object with inbound/outbound');
      for (const direction of ['inbound', 'outbound'] as const) {
        c.arr(cons[direction], jsonPathJoin(jsonPathJoin(p, 'connections'), direction)).forEach((x, i) => {
          const cp = jsonPathJoin(jsonPathJoin(jsonPathJoin(p, 'connections'), direction), i);
          const cn = c.obj(x, cp, 'a connection {src, originalDst, actualDst, protocol}');
          connections.push({
            workloadUid: uid,
            direction,
            ...(typeof cn.src === 'string' ? { src: cn.src } : {}),
            ...(typeof cn.originalDst === 'string' ? { originalDst: cn.originalDst } : {}),
            ...(typeof cn.actualDst === 'string' ? { actualDst: cn.actualDst } : {}),
            ...(typeof cn.protocol === 'string' ? { protocol: cn.protocol } : {}),
          });
        });
      }
    }
  }
  return { file, workloads, services, policies, certificates, connections };
}

/** Reads `file` when it is a ztunnel config dump (by content); null when it is something else (an Envoy dump, …). */
export async function readZtunnelConfig(file: string): Promise<ZtunnelConfig | null> {
  const { stat } = await import('node:fs/promises');
  const st = await stat(file).catch(() => null);
  if (!st || !st.isFile()) return null;
  const { readStructuredFile } = await import('../structured.js');
  const docs = await readStructuredFile(file);
  if (docs.length !== 1 || !(isZtunnelConfigDump(docs[0]) || isZtunnelPolicyArray(docs[0]))) return null;
  return parseZtunnelConfig(docs[0], file);
}
