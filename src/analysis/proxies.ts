/**
 * A per-proxy summary of a parsed config dump, holding only what the report correlates on: the
 * proxy's identity (node id, pod, namespace, IPs), the inbound mTLS mode per port, where RBAC
 * filters sit (with action, shadow-or-enforced and policy names), and endpoint addresses.
 * It reads the dump model (src/envoy/model.ts); it does not parse dumps itself.
 */
import type { ConfigDump, FilterChain, Listener, ProtoObject } from '../envoy/model.js';
import { HCM_NAMES, HTTP_RBAC_NAMES, NETWORK_RBAC_NAMES } from '../envoy/model.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE' | 'UNKNOWN';

export interface PortMtls {
  /** Inbound port; null = the catch-all (virtualInbound / any port without its own chains). */
  port: number | null;
  mode: MtlsMode;
  listener: string;
  jsonPath?: string;
}

export interface RbacFilterSite {
  listener: string;
  chain: string;
  chainIndex: number;
  /** destination_port of the chain's match, or the listener's port; null when any. */
  port: number | null;
  /** Transport the chain matches (`tls`, `raw_buffer`, '' = any). */
  transport: string;
  kind: 'http' | 'network';
  /** Whether the chain sits on an inbound listener. */
  inbound: boolean;
  /** Enforced rules (`rules`), null when absent. */
  rules: { action: 'ALLOW' | 'DENY' | 'LOG'; policies: Record<string, ProtoObject> } | null;
  /** Shadow rules, null when absent. */
  shadow: { action: 'ALLOW' | 'DENY' | 'LOG'; policies: Record<string, ProtoObject> } | null;
  statPrefix: string | null;
  shadowStatPrefix: string | null;
  jsonPath: string;
}

export interface EndpointAddress {
  ip: string;
  port: number | null;
  cluster: string;
  /** Service host from an Istio cluster name `outbound|9080||details.default.svc.cluster.local`. */
  service?: string;
  namespace?: string;
  /** Istio `istio.workload` endpoint metadata: `<workload>;<ns>;<canonical svc>;<rev>;<cluster>`. */
  workload?: string;
}

export interface ProxyView {
  source: string;
  nodeId: string | null;
  pod: string | null;
  namespace: string | null;
  /** Istio node `cluster` app name (`<app>.<ns>` → app). */
  app: string | null;
  ips: string[];
  mtls: PortMtls[];
  rbac: RbacFilterSite[];
  endpoints: EndpointAddress[];
  /** The newest `last_updated` of the dump's listeners (epoch ms): the config is known to be in force from then. */
  asOfMs: number | null;
  /** Groups dumps of the same proxy taken at different times: node id, else pod.namespace, else the source. */
  identity: string;
  dump: ConfigDump;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function rulesOf(v: unknown): RbacFilterSite['rules'] {
  if (!isObj(v)) return null;
  const action = v.action === 'DENY' || v.action === 'LOG' ? v.action : 'ALLOW';
  const policies: Record<string, ProtoObject> = {};
  if (isObj(v.policies)) for (const [k, p] of Object.entries(v.policies)) if (isObj(p)) policies[k] = p;
  return { action, policies };
}

function isInboundListener(l: Listener): boolean {
  if (l.trafficDirection === 'INBOUND') return true;
  if (l.trafficDirection === 'OUTBOUND') return false;
  return l.name === 'virtualInbound' || l.address?.port === 15006 || /^inbound\|/.test(l.name);
}

function chainsOf(l: Listener): FilterChain[] {
  return l.defaultFilterChain ? [...l.filterChains, l.defaultFilterChain] : l.filterChains;
}

/** Finds every RBAC filter (network, and HTTP inside HTTP connection managers) in a dump. */
export function rbacSites(dump: ConfigDump): RbacFilterSite[] {
  const out: RbacFilterSite[] = [];
  for (const l of dump.listeners) {
    if (l.state === 'warming' || l.state === 'draining') continue;
    const inbound = isInboundListener(l);
    for (const c of chainsOf(l)) {
      const port = c.match.destinationPort ?? (l.useOriginalDst ? null : l.address?.port ?? null);
      const base = { listener: l.displayName, chain: c.name, chainIndex: c.index, port, transport: c.match.transportProtocol, inbound };
      for (const f of c.filters) {
        if (NETWORK_RBAC_NAMES.includes(f.name) || /network\.rbac\.v3\.RBAC$/.test(f.typeUrl)) {
          out.push({
            ...base,
            kind: 'network',
            rules: rulesOf(f.config.rules),
            shadow: rulesOf(f.config.shadow_rules),
            statPrefix: typeof f.config.stat_prefix === 'string' ? f.config.stat_prefix : null,
            shadowStatPrefix: typeof f.config.shadow_rules_stat_prefix === 'string' ? f.config.shadow_rules_stat_prefix : null,
            jsonPath: f.jsonPath,
          });
        }
        if (f.hcm || HCM_NAMES.includes(f.name)) {
          for (const h of f.hcm?.httpFilters ?? []) {
            if (!(HTTP_RBAC_NAMES.includes(h.name) || /http\.rbac\.v3\.RBAC$/.test(h.typeUrl))) continue;
            out.push({
              ...base,
              kind: 'http',
              rules: rulesOf(h.config.rules),
              shadow: rulesOf(h.config.shadow_rules),
              statPrefix: null,
              shadowStatPrefix: typeof h.config.shadow_rules_stat_prefix === 'string' ? h.config.shadow_rules_stat_prefix : null,
              jsonPath: h.jsonPath,
            });
          }
        }
      }
    }
  }
  return out;
}

/** `outbound|9080|v1|details.default.svc.cluster.local` → service `details`, namespace `default`. */
export function parseIstioCluster(name: string): { direction: string; port: number | null; subset: string; host: string; service?: string; namespace?: string } | null {
  const m = /^(inbound|outbound)\|(\d*)\|([^|]*)\|(.*)$/.exec(name);
  if (!m) return null;
  const host = m[4]!;
  const h = /^([^.]+)\.([^.]+)\.svc(\.|$)/.exec(host);
  return { direction: m[1]!, port: m[2] ? Number(m[2]) : null, subset: m[3]!, host, service: h?.[1], namespace: h?.[2] };
}

function endpointsOf(dump: ConfigDump): EndpointAddress[] {
  const out: EndpointAddress[] = [];
  for (const e of dump.endpoints) {
    const c = parseIstioCluster(e.cluster);
    let workload: string | undefined;
    const md = e.metadata;
    if (isObj(md)) {
      const istio = isObj(md.filter_metadata) && isObj(md.filter_metadata.istio) ? md.filter_metadata.istio : isObj(md.istio) ? md.istio : undefined;
      if (istio && typeof istio.workload === 'string') workload = istio.workload;
    }
    out.push({ ip: e.address, port: e.port, cluster: e.cluster, service: c?.service, namespace: c?.namespace, workload });
  }
  return out;
}

/** Builds the proxy summary. `modes` comes from the Istio mTLS-mode derivation (src/istio/mtls.ts). */
export function proxyView(dump: ConfigDump, modes: PortMtls[]): ProxyView {
  const n = dump.node;
  const cluster = n?.cluster ?? null;
  const app = cluster ? cluster.split('.')[0] ?? null : null;
  let asOf: number | null = null;
  for (const l of dump.listeners) {
    const t = l.lastUpdated ? Date.parse(l.lastUpdated) : NaN;
    if (Number.isFinite(t) && (asOf === null || t > asOf)) asOf = t;
  }
  return {
    source: dump.source,
    asOfMs: asOf,
    identity: n?.id ?? (n?.pod ? `${n.pod}.${n.namespace ?? ''}` : dump.source),
    nodeId: n?.id ?? null,
    pod: n?.pod ?? null,
    namespace: n?.namespace ?? null,
    app,
    ips: n?.ips ?? (n?.ip ? [n.ip] : []),
    mtls: modes,
    rbac: rbacSites(dump),
    endpoints: endpointsOf(dump),
    dump,
  };
}

/** The mode that applies to a port: the port's own entry, else the catch-all. */
export function modeForPort(p: ProxyView, port: number | undefined): PortMtls | undefined {
  if (port !== undefined) {
    const own = p.mtls.find((m) => m.port === port);
    if (own) return own;
  }
  return p.mtls.find((m) => m.port === null);
}

/**
 * Among dumps of the same proxy, the one in force at `timeMs`: the newest whose `asOfMs` is not
 * after it; when every dump is newer (or times are unknown), the oldest known / the first.
 */
export function inForceAt(cands: ProxyView[], timeMs: number | undefined): ProxyView | undefined {
  if (cands.length <= 1 || timeMs === undefined) return latest(cands);
  let best: ProxyView | undefined;
  for (const p of cands) {
    if (p.asOfMs === null || p.asOfMs > timeMs) continue;
    if (!best || (best.asOfMs ?? -Infinity) < p.asOfMs) best = p;
  }
  if (best) return best;
  return [...cands].sort((a, b) => (a.asOfMs ?? Infinity) - (b.asOfMs ?? Infinity))[0];
}

/** The newest dump (by asOfMs; ties and unknown times keep input order). */
export function latest(cands: ProxyView[]): ProxyView | undefined {
  let best: ProxyView | undefined;
  for (const p of cands) if (!best || (p.asOfMs ?? -Infinity) > (best.asOfMs ?? -Infinity)) best = p;
  return best;
}
