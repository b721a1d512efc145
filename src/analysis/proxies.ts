/**
 * A per-proxy summary of a parsed config dump, holding only what the report correlates on: the
 * proxy's identity (node id, pod, namespace, IPs), the inbound mTLS mode per port, where RBAC
 * filters sit (with action, shadow-or-enforced and policy names), and endpoint addresses.
 * It reads the dump model (src/envoy/model.ts); it does not parse dumps itself.
 */
import type { ConfigDump, FilterChain, Listener, ProtoObject } from '../envoy/model.js';
import { HCM_NAMES, HTTP_RBAC_NAMES, NETWORK_RBAC_NAMES } from '../envoy/model.js';
import { normalizeIp } from '../readers/ip-text.js';

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

export interface ProxyView extends ProxyKeys {
  /** Istio node `cluster` app name (`<app>.<ns>` → app). */
  app: string | null;
  mtls: PortMtls[];
  rbac: RbacFilterSite[];
  endpoints: EndpointAddress[];
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
  const cluster = dump.node?.cluster ?? null;
  const app = cluster ? cluster.split('.')[0] ?? null : null;
  return {
    ...proxyKeys(dump),
    app,
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

// ---------- which dump wrote a record, and which of a proxy's dumps was in force ----------

/**
 * What `report` (correlate.ts) and `explain` (explain.ts `deciderOver`) both need to find the dump of
 * the proxy that wrote an access record, and the one of its dumps in force at the record's time.
 */
export interface ProxyKeys {
  source: string;
  /** Groups dumps of the same proxy taken at different times: node id, else pod.namespace, else the source. */
  identity: string;
  nodeId: string | null;
  pod: string | null;
  namespace: string | null;
  ips: string[];
  /** The newest `last_updated` of the dump's listeners (epoch ms): the config is known to be in force from then. */
  asOfMs: number | null;
}

/** The parts of a dump the keys are read from (a ConfigDump, or a test double). */
export interface DumpKeySource {
  source: string;
  node: { id: string; pod: string | null; namespace?: string | null; ip?: string | null; ips: string[] } | null;
  listeners?: ReadonlyArray<{ lastUpdated: string | null; internal?: boolean; filterChainMatcher?: Record<string, unknown> | null }>;
}

/**
 * The single addresses an internal listener's filter_chain_matcher selects on (a waypoint's `main_internal`
 * serves its services' VIPs and workload IPs, which its access log shows as the local address).
 */
function matcherAddresses(listeners: DumpKeySource['listeners']): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.address_prefix === 'string' && (o.prefix_len === 32 || o.prefix_len === 128)) out.add(o.address_prefix);
      for (const x of Object.values(o)) walk(x);
    }
  };
  for (const l of listeners ?? []) if (l.internal && l.filterChainMatcher) walk(l.filterChainMatcher);
  return [...out];
}

/** The newest `last_updated` among the listeners (null when none says). */
export function dumpAsOfMs(listeners: ReadonlyArray<{ lastUpdated: string | null }> | undefined): number | null {
  let asOf: number | null = null;
  for (const l of listeners ?? []) {
    const t = l.lastUpdated ? Date.parse(l.lastUpdated) : NaN;
    if (Number.isFinite(t) && (asOf === null || t > asOf)) asOf = t;
  }
  return asOf;
}

export function proxyKeys(dump: DumpKeySource): ProxyKeys {
  const n = dump.node;
  return {
    source: dump.source,
    identity: n?.id ?? (n?.pod ? `${n.pod}.${n.namespace ?? ''}` : dump.source),
    nodeId: n?.id ?? null,
    pod: n?.pod ?? null,
    namespace: n?.namespace ?? null,
    ips: [...(n?.ips.length ? n.ips : n?.ip ? [n.ip] : []), ...(n?.id.startsWith('waypoint~') ? matcherAddresses(dump.listeners) : [])],
    asOfMs: dumpAsOfMs(dump.listeners),
  };
}

function baseName(p: string): string {
  const i = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
  return i >= 0 ? p.slice(i + 1) : p;
}

/** What the picker reads from a record (a subset of AccessRecord). */
export interface RecordKeys {
  node?: string;
  timeMs?: number;
  ref: { file: string };
}

/**
 * The proxies (config dumps, possibly several per proxy) indexed by the names a record can carry and
 * by address. One mechanism for `report` and `explain`:
 *  1. the proxy that names itself on the record: ALS node id, `kubectl logs --prefix` pod, `<pod>.<ns>`,
 *     the node id's `~<ip>~`, else the log file's name (`kubectl logs <pod> > <pod>.<ns>.istio-proxy.log`);
 *  2. else the proxy whose own address the record shows (the caller gives it: destination inbound,
 *     source / upstream local address outbound);
 *  3. then, among that proxy's dumps, the one in force at the record's time (`inForceAt`).
 */
export class ProxyIndex<P extends ProxyKeys> {
  private readonly byIp = new Map<string, P[]>();
  private readonly byFile = new Map<string, P[] | null>();
  private readonly podsByLength: P[];

  constructor(readonly proxies: readonly P[]) {
    for (const p of proxies) {
      for (const ip of p.ips) {
        const k = normalizeIp(ip);
        const list = this.byIp.get(k);
        if (list) list.push(p);
        else this.byIp.set(k, [p]);
      }
    }
    this.podsByLength = proxies.filter((p) => p.pod).sort((a, b) => b.pod!.length - a.pod!.length);
  }

  /** True when every dump is of one proxy (then every record is taken as that proxy's). */
  get singleProxy(): boolean {
    return this.proxies.length > 0 && this.proxies.every((p) => p.identity === this.proxies[0]!.identity);
  }

  /** The dumps of the proxy that names itself on the record (node, pod prefix, file name), or []. */
  named(r: RecordKeys): P[] {
    const node = r.node;
    let cands: P[] = [];
    if (node) {
      cands = this.proxies.filter((p) => p.nodeId === node);
      if (cands.length === 0) {
        // kubectl --prefix `[pod/<pod>/istio-proxy]`, a pod name, or `<pod>.<ns>`.
        cands = this.proxies.filter((p) => p.pod && (node === p.pod || node.includes(`/${p.pod}/`) || node === `${p.pod}.${p.namespace}` || node.startsWith(`${p.pod}.`) || node.endsWith(`/${p.pod}`)));
      }
      if (cands.length === 0) cands = this.proxies.filter((p) => p.ips.some((ip) => node.includes(`~${ip}~`)));
    }
    if (cands.length === 0 && r.ref.file) cands = this.fromFile(r.ref.file);
    return new Set(cands.map((p) => p.identity)).size === 1 ? cands : [];
  }

  private fromFile(file: string): P[] {
    let hit = this.byFile.get(file);
    if (hit === undefined) {
      const b = baseName(file);
      const p = this.podsByLength.find((x) => b.startsWith(x.pod!) && /^[.\-_]/.test(b.slice(x.pod!.length)));
      hit = p ? this.proxies.filter((x) => x.identity === p.identity) : null;
      this.byFile.set(file, hit);
    }
    return hit ?? [];
  }

  /** The dumps of the proxy at this address (all of one identity), or []. */
  atIp(ip: string | undefined): P[] {
    if (!ip) return [];
    const c = this.byIp.get(normalizeIp(ip)) ?? [];
    return c;
  }

  /** The dump of the record's proxy in force at the record's time: by its names, else by `ownIp`. */
  forRecord(r: RecordKeys, ownIp: string | undefined): P | undefined {
    const named = this.named(r);
    if (named.length) return inForceAt(named, r.timeMs);
    return inForceAt(this.atIp(ownIp), r.timeMs);
  }
}

/**
 * Why a record cannot have been written by this proxy, or null when it can (or the dump does not say
 * the proxy's addresses). Envoy logs a connection on the listener that accepted it: inbound, the
 * record's local (destination) address is one of the proxy's; outbound, the downstream peer is the
 * application in the same pod, so the record's source is. `local`/`peer` are the record's addresses.
 */
export function notFromProxy(p: ProxyKeys, direction: 'inbound' | 'outbound' | 'unknown', local: { address: string; port?: number } | undefined, peer: { address: string; port?: number } | undefined): string | null {
  if (p.ips.length === 0) return null;
  // asked for every replayed record: the proxy's address set is built once per address list
  let own = ownIps.get(p.ips);
  if (own === undefined) {
    own = new Set(p.ips.map(normalizeIp));
    ownIps.set(p.ips, own);
  }
  const set = own;
  const mine = (e: { address: string } | undefined): boolean | null => (e ? set.has(normalizeIp(e.address)) || isLoopbackIp(e.address) || isWildcardIp(e.address) : null);
  const fmt = (e: { address: string; port?: number }): string => (e.port !== undefined ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}` : e.address);
  const ips = (): string => p.ips.join(', ');
  if (direction === 'inbound') {
    return mine(local) === false ? `not from this proxy: the record's local address ${fmt(local!)} is not this proxy's (${ips()}; ${p.source})` : null;
  }
  if (direction === 'outbound') {
    return mine(peer) === false ? `not from this proxy: the outbound record's source ${fmt(peer!)} is not this proxy's workload (${ips()}; ${p.source})` : null;
  }
  if (mine(local) === false && mine(peer) === false) return `not from this proxy: neither ${fmt(local!)} nor ${fmt(peer!)} is this proxy's address (${ips()}; ${p.source})`;
  return null;
}

const ownIps = new WeakMap<readonly string[], Set<string>>();

function isLoopbackIp(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

function isWildcardIp(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

/**
 * Among dumps of the same proxy, the one in force at `timeMs`: the newest whose `asOfMs` is not
 * after it; when every dump is newer (or times are unknown), the oldest known / the first.
 */
export function inForceAt<T extends { asOfMs: number | null }>(cands: readonly T[], timeMs: number | undefined): T | undefined {
  if (cands.length <= 1 || timeMs === undefined) return latest(cands);
  let best: T | undefined;
  for (const p of cands) {
    if (p.asOfMs === null || p.asOfMs > timeMs) continue;
    if (!best || (best.asOfMs ?? -Infinity) < p.asOfMs) best = p;
  }
  if (best) return best;
  return [...cands].sort((a, b) => (a.asOfMs ?? Infinity) - (b.asOfMs ?? Infinity))[0];
}

/** The newest dump (by asOfMs; ties and unknown times keep input order). */
export function latest<T extends { asOfMs: number | null }>(cands: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const p of cands) if (!best || (p.asOfMs ?? -Infinity) > (best.asOfMs ?? -Infinity)) best = p;
  return best;
}
