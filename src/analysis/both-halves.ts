/**
 * Both halves of mTLS for one captured flow: what the client's sidecar sends (its outbound clusters:
 * DestinationRule, auto-mTLS, PassthroughCluster; analysis/route.ts) and what the server's sidecar accepts
 * (its inbound port mode: STRICT, PERMISSIVE, DISABLE; istio/mtls.ts). A pure function over
 * (flow, client model, server half) that `flows --config` and `report` call per flow.
 *
 * For a plaintext flow C → S:p the client half is found two ways, both from the client dump alone:
 *  - the original destination was S:p itself (the app dialed the pod IP): the outbound path for S:p
 *    (no listener for a pod IP or an undeclared port → `PassthroughCluster`: the app's bytes unchanged);
 *  - the original destination was a Service and S:p one of its endpoints: every cluster whose EDS
 *    endpoints include S:p, with the socket Envoy picks for that endpoint (auto-mTLS: plaintext when the
 *    endpoint has no `tlsMode=istio`; DestinationRule DISABLE; no TLS at all).
 * When neither path would send plaintext, the flow did not come through that sidecar's config (bypassed
 * the sidecar, or another config was in force): that disagreement is reported, never explained away.
 * For a TLS flow, the SNI names the cluster (`outbound_.<port>_.<subset>_.<host>`), and its SNI, ALPN and
 * the certificates seen are compared with what that cluster would send.
 */
import type { ConfigDump } from '../envoy/model.js';
import type { Flow } from '../model/records.js';

/** The parts of a flow both halves read. */
export type FlowFacts = Pick<Flow, 'client' | 'server' | 'security' | 'tls' | 'protocol'>;
import { clusterEndpoints, findCluster, selectTransportSocket } from '../envoy/outbound.js';
import { clusterTls, endpointSocketReason, istioSni, parseIstioClusterName, socketTls, type OutboundTlsMode, type SocketTls } from '../istio/outbound.js';
import { parseIstioSni, isIstioAlpn } from '../istio/traffic.js';
import { routeTo, type RouteResult } from './route.js';
import type { BothHalves, ClientHalf, ClientMismatch, ClientPath, ServerMode } from '../model/halves.js';

export type { BothHalves, ClientHalf, ClientMismatch, ClientPath, ServerMode } from '../model/halves.js';

/** The client sidecar's outbound model: a dump plus memoised answers (flows repeat the same endpoints). */
export class ClientModel {
  private readonly memo = new Map<string, ClientPath[]>();
  /** Endpoint ip:port → clusters that have it (EDS and inline). */
  private endpointIndex: Map<string, string[]> | null = null;
  constructor(readonly dump: ConfigDump) {}

  get proxy(): string {
    return this.dump.node?.id ?? this.dump.source;
  }

  /** The client's own SPIFFE suffix `/ns/<ns>/sa/<sa>` from node metadata, when known. */
  get identitySuffix(): string | null {
    const md = this.dump.node?.metadata ?? {};
    const sa = typeof md.SERVICE_ACCOUNT === 'string' ? md.SERVICE_ACCOUNT : null;
    const ns = this.dump.node?.namespace ?? null;
    return sa && ns ? `/ns/${ns}/sa/${sa}` : null;
  }

  hasEndpoints(): boolean {
    return this.dump.sections.includes('endpoints');
  }

  clustersWithEndpoint(ip: string, port: number): string[] {
    if (!this.endpointIndex) {
      const idx = new Map<string, string[]>();
      for (const c of this.dump.clusters) {
        if (c.state === 'warming') continue;
        for (const e of clusterEndpoints(this.dump, c).endpoints) {
          const k = `${e.address}|${e.port}`;
          const l = idx.get(k) ?? [];
          if (!l.includes(c.name)) l.push(c.name);
          idx.set(k, l);
        }
      }
      this.endpointIndex = idx;
    }
    return this.endpointIndex.get(`${ip}|${port}`) ?? [];
  }

  /** Every way this sidecar sends a connection that arrives at ip:port, with what each puts on the wire. */
  pathsTo(ip: string, port: number): ClientPath[] {
    const k = `${ip}|${port}`;
    const hit = this.memo.get(k);
    if (hit) return hit;
    const out: ClientPath[] = [];
    const direct = routeTo(this.dump, { host: ip, port });
    const servicePaths = this.clustersWithEndpoint(ip, port).map((name) => this.servicePath(name, ip, port)).filter((p): p is ClientPath => p !== null);
    const d = directPath(direct, servicePaths);
    if (d) out.push(d);
    for (const p of servicePaths) if (!out.some((o) => o.cluster === p.cluster)) out.push(p);
    this.memo.set(k, out);
    return out;
  }

  private servicePath(name: string, ip: string, port: number): ClientPath | null {
    const c = findCluster(this.dump, name);
    if (!c || c.name === 'PassthroughCluster') return null;
    const ct = clusterTls(c);
    const ep = clusterEndpoints(this.dump, c).endpoints.find((e) => e.address === ip && e.port === port);
    const choice = selectTransportSocket(c, ep?.metadata ?? null);
    const st = socketTls(choice.socket);
    const host = ct.service?.host ?? c.name;
    const dr = ct.destinationRule ? `DestinationRule ${ct.destinationRule.namespace}/${ct.destinationRule.name}` : null;
    const mode: OutboundTlsMode = st.kind === 'hbone' ? 'unknown' : st.kind;
    let cause: string;
    let fix: string | null = null;
    let reason: string;
    if (mode === 'plaintext' && ct.mode === 'auto-mtls') {
      cause = `endpoint ${ip}:${port} without sidecar (auto-mTLS)`;
      reason = `cluster ${c.name} uses auto-mTLS and ${ep ? endpointSocketReason(ep, choice, st) : 'the endpoint carries no tlsMode label'}: plaintext`;
      fix = `the endpoint ${ip}:${port} has no tlsMode=istio label in the client's EDS (istiod sees no sidecar on it): inject a sidecar into that pod (or check that it carries security.istio.io/tlsMode=istio)`;
    } else if (mode === 'plaintext') {
      cause = dr ? `${dr} sends no TLS` : `cluster ${c.name} has no TLS (no DestinationRule TLS, no auto-mTLS)`;
      reason = `cluster ${c.name}: ${ct.reason}`;
      fix = dr ? `set tls.mode ISTIO_MUTUAL (or remove tls.mode DISABLE) in ${dr} for ${host}` : `add a DestinationRule for ${host} with trafficPolicy.tls.mode ISTIO_MUTUAL, or turn on the mesh's enableAutoMtls`;
    } else {
      cause = `cluster ${c.name} sends ${mode}`;
      reason = `cluster ${c.name}: ${ct.mode === 'auto-mtls' && ep ? endpointSocketReason(ep, choice, st) : ct.reason}`;
    }
    return { how: 'service', cluster: c.name, mode, sni: st.sni, alpn: st.alpn, reason, cause, fix };
  }

  /** The cluster an Istio SNI names, and the socket it uses towards ip:port. */
  sniPath(sni: string, ip: string, port: number): { cluster: string; tls: SocketTls; found: boolean; endpointKnown: boolean } | null {
    const s = parseIstioSni(sni);
    if (!s || s.direction !== 'outbound') return null;
    const name = `outbound|${s.port}|${s.subset}|${s.host}`;
    const c = findCluster(this.dump, name);
    if (!c) return { cluster: name, tls: socketTls(null), found: false, endpointKnown: false };
    const ep = clusterEndpoints(this.dump, c).endpoints.find((e) => e.address === ip && e.port === port);
    const choice = ep ? selectTransportSocket(c, ep.metadata) : selectTransportSocket(c, undefined).find((x) => socketTls(x.socket).kind !== 'plaintext') ?? selectTransportSocket(c, null);
    return { cluster: name, tls: socketTls(choice.socket), found: true, endpointKnown: ep !== undefined };
  }
}

/** The path when the app dialed ip:port itself (pod IP), from `routeTo`. */
function directPath(r: RouteResult, servicePaths: ClientPath[]): ClientPath | null {
  if (!r.cluster || !r.tls) return null;
  const mode = r.tls.mode === 'auto-mtls' ? (r.endpoints[0]?.tls.mode ?? 'auto-mtls') : r.tls.mode;
  let cause = r.reason;
  let fix: string | null = null;
  if (r.cluster.name === 'PassthroughCluster') {
    const declared = servicePaths.find((p) => p.mode === 'istio-mutual');
    const port = r.to.replace(/^.*:/, '');
    if (servicePaths.length) {
      // The port is a Service's: only dialing the pod IP itself bypasses the Service's listener.
      cause = `the app dialed the pod IP ${r.to} directly (no outbound listener for a pod IP): PassthroughCluster`;
      if (declared) fix = `have the client call the Service (${parseIstioClusterName(declared.cluster)?.host ?? declared.cluster}:${parseIstioClusterName(declared.cluster)?.port ?? port}) rather than the pod IP: its cluster ${declared.cluster} sends Istio mTLS`;
    } else {
      cause = `undeclared port ${port}: no Service port known to the client sidecar matches ${r.to}, so it went through PassthroughCluster`;
      fix = `declare port ${port} in the Service that selects the server pod (Istio then gives the client an outbound listener and an auto-mTLS cluster for it), or have the client use a port the Service declares`;
    }
  }
  return { how: 'direct', cluster: r.cluster.name, mode, sni: r.tls.sni, alpn: r.tls.alpn, reason: r.reason, cause, fix };
}

const PLAIN_ON_WIRE = new Set<OutboundTlsMode>(['plaintext', 'passthrough']);

function alpnAcceptable(observed: string[], expected: string[]): boolean {
  if (observed.join(',') === expected.join(',')) return true;
  // Istio's outbound istio.alpn filter replaces an HTTP cluster's ALPN with istio-http/1.0|1.1 or istio-h2 (+ istio).
  return expected.some(isIstioAlpn) && observed.length > 0 && observed.every(isIstioAlpn) && observed.some((a) => a.startsWith('istio-http/') || a === 'istio-h2');
}

/**
 * Both halves for one flow. `client`: the client sidecar's model (its dump), null when the client has no
 * sidecar dump; `server`: the server port's inbound mode, null when unknown.
 */
export function bothHalves(flow: FlowFacts, client: ClientModel | null, server: { proxy: string; mode: ServerMode } | null, clientLog: ClientLogFacts | null = null): BothHalves | null {
  if (!client && !server && !clientLog) return null;
  const out: BothHalves = { client: null, server, explanation: '', underStrict: null, fixFirst: null, remediation: '', mismatches: [] };
  const port = flow.server.port;
  const srvText = server ? serverText(server.mode, port, flow.security) : null;
  if (client && !client.dump.sections.includes('clusters')) {
    out.client = { proxy: client.proxy, paths: [], explaining: [], explanation: 'the client sidecar dump has no clusters section: what it sends is UNDECIDABLE (take the full /config_dump?include_eds)' };
  } else if (client) {
    const paths = client.pathsTo(flow.server.ip, port);
    const half: ClientHalf = { proxy: client.proxy, paths, explaining: [], explanation: '' };
    out.client = half;
    if (flow.security === 'plaintext') {
      // A Service's cluster first: apps dial Service names; the pod-IP path is the other possibility.
      half.explaining = paths.filter((p) => PLAIN_ON_WIRE.has(p.mode)).sort((a, b) => (a.how === b.how ? 0 : a.how === 'service' ? -1 : 1));
      if (half.explaining.length) {
        half.explanation = `client sidecar sent plaintext because ${half.explaining.map((p) => p.cause).join(', or ')}`;
      } else {
        const what = paths.length ? paths.map((p) => `${p.cluster}: ${p.mode}`).join(', ') : 'no cluster or listener for it';
        half.explanation = `the client sidecar's config would not send plaintext to ${flow.server.ip}:${port} (${what})${client.hasEndpoints() ? '' : '; the dump has no EDS endpoints, so a Service endpoint without sidecar cannot be ruled out'}`;
        if (client.hasEndpoints()) out.mismatches.push({ field: 'security', expected: paths.map((p) => p.mode).join(' or ') || 'no path', observed: 'plaintext', note: 'the connection did not come through this sidecar as configured: it bypassed it (excluded port or uid, hostNetwork), or another config was in force' });
      }
    } else if (flow.tls) {
      tlsChecks(flow, client, half, out.mismatches);
    }
  }
  // Without a usable client dump, the client sidecar's own outbound log line may still name the cluster.
  if (clientLog && flow.security === 'plaintext' && !out.client?.explaining.length) {
    const p = logPath(clientLog, flow);
    if (p) out.client = { proxy: clientLog.source, paths: [p], explaining: [p], explanation: `client sidecar sent plaintext because ${p.cause}` };
  }
  // The server half and the prediction.
  if (flow.security === 'plaintext' && server) {
    out.underStrict = server.mode === 'DISABLE' || server.mode === 'PERMISSIVE' || server.mode === 'STRICT' ? 'rejected: filter_chain_not_found' : null;
  }
  const clientFixes = (out.client?.explaining ?? []).map((p) => p.fix).filter((f): f is string => f !== null);
  if (flow.security === 'plaintext') {
    if (clientFixes.length) {
      out.fixFirst = 'client';
      const strict = server && server.mode !== 'STRICT' ? ` Do not require STRICT on the server port yet: it would refuse this connection (NR filter_chain_not_found) until the client sends mTLS.` : '';
      out.remediation = `Fix the client side first: ${[...new Set(clientFixes)].join('; or ')}.${strict}`;
    } else if (server && server.mode !== 'STRICT') {
      out.fixFirst = 'server';
    }
  }
  out.explanation = [out.client?.explanation, srvText].filter((s): s is string => !!s).join('; ');
  return out;
}

/** The client of a logged request: who it is (for the text) and whether the inventory says it has a sidecar. */
export interface LoggedClient {
  name: string;
  ip: string;
  /** From the inventory; undefined when unknown. */
  sidecar?: boolean;
}

/**
 * Both halves for a plaintext request or connection known only from the server sidecar's access log (no
 * capture of it): the leg the log names (downstream remote → downstream local address). The client half
 * comes from the client's dump when it is among the inputs (its outbound model decides what the client
 * sidecar sends to that destination, as for a captured flow), else from the client sidecar's own outbound
 * record (its upstream cluster); a client the inventory shows without a sidecar sent its own bytes. With
 * none of these, or without the destination port, the client half is UNDECIDABLE and names what is missing.
 */
export function loggedPlaintextHalves(leg: { client: { ip: string; port?: number }; server: { ip: string; port?: number } }, who: LoggedClient, client: ClientModel | null, server: { proxy: string; mode: ServerMode } | null, clientLog: ClientLogFacts | null = null): BothHalves {
  const port = leg.server.port;
  if (port !== undefined && (client || clientLog)) {
    const h = bothHalves({ client: { ip: leg.client.ip, port: leg.client.port ?? 0 }, server: { ip: leg.server.ip, port }, security: 'plaintext', tls: null, protocol: 'tcp' }, client, server, clientLog)!;
    if (h.client) return h;
  }
  const out: BothHalves = { client: null, server, explanation: '', underStrict: server && server.mode !== 'UNKNOWN' ? 'rejected: filter_chain_not_found' : null, fixFirst: server && server.mode !== 'STRICT' ? 'server' : null, remediation: '', mismatches: [] };
  if (who.sidecar === false) {
    out.client = { proxy: '', paths: [], explaining: [], explanation: `${who.name} has no sidecar (inventory): its app sent plaintext itself, nothing on the client side encrypts` };
  } else {
    const missing = port === undefined
      ? `the destination port (the server's log does not carry it), to select the client sidecar's outbound path`
      : `the config dump of ${who.name === who.ip ? `the sidecar at ${who.ip}` : `${who.name}'s sidecar (${who.ip})`} (its /config_dump?include_eds) or its outbound access log`;
    out.client = { proxy: '', paths: [], explaining: [], explanation: `what the client sidecar sent to ${leg.server.ip}${port !== undefined ? `:${port}` : ''} is UNDECIDABLE: missing ${missing}`, undecidable: missing };
  }
  const srvText = server && port !== undefined ? serverText(server.mode, port, 'plaintext') : null;
  out.explanation = [out.client.explanation, srvText].filter((x): x is string => !!x).join('; ');
  return out;
}

/** The client sidecar's outbound access-log record of this connection: the upstream cluster it chose. */
export interface ClientLogFacts {
  /** `%UPSTREAM_CLUSTER%` as logged. */
  cluster: string;
  /** The log file and line, for the explanation. */
  source: string;
}

/** What a logged upstream cluster alone says (its TLS is in the dump, not the log: only PassthroughCluster is decidable). */
function logPath(l: ClientLogFacts, flow: FlowFacts): ClientPath | null {
  if (l.cluster !== 'PassthroughCluster') return null;
  const to = `${flow.server.ip}:${flow.server.port}`;
  return {
    how: 'direct',
    cluster: 'PassthroughCluster',
    mode: 'passthrough',
    sni: null,
    alpn: [],
    reason: `the client sidecar's access log (${l.source}) shows upstream cluster PassthroughCluster for ${to}`,
    cause: `undeclared port ${flow.server.port} (or the pod IP dialed instead of the Service): no outbound listener matched ${to}, so PassthroughCluster forwarded what the app sent (client sidecar access log)`,
    fix: `declare port ${flow.server.port} in the Service that selects the server pod, or have the client call a port the Service declares through the Service name (then auto-mTLS applies)`,
  };
}

function serverText(mode: ServerMode, port: number, security: Flow['security']): string | null {
  if (security !== 'plaintext') return mode === 'UNKNOWN' ? null : `server port ${port} is ${mode}`;
  switch (mode) {
    case 'PERMISSIVE':
      return `server port ${port} accepted it because PERMISSIVE (STRICT would reject it: filter_chain_not_found)`;
    case 'DISABLE':
      return `server port ${port} accepted it because mTLS is DISABLEd there`;
    case 'STRICT':
      return `server port ${port} is STRICT: its sidecar refuses plaintext (filter_chain_not_found)`;
    default:
      return null;
  }
}

/** A TLS flow against the cluster its SNI names: SNI, ALPN, and the certificates seen. */
function tlsChecks(flow: FlowFacts, client: ClientModel, half: ClientHalf, mism: ClientMismatch[]): void {
  const t = flow.tls!;
  const sni = t.sni;
  const sp = sni ? client.sniPath(sni, flow.server.ip, flow.server.port) : null;
  if (sp && !sp.found) {
    half.explanation = `no cluster of the client sidecar sends SNI ${sni} (${sp.cluster} is not in its dump)`;
    mism.push({ field: 'sni', expected: `a cluster for ${sni}`, observed: sni!, note: 'the TLS did not come from this sidecar as configured, or its config changed' });
    return;
  }
  if (sp) {
    const exp = sp.tls;
    const mode: OutboundTlsMode = exp.kind === 'hbone' ? 'unknown' : exp.kind;
    half.explaining = [{ how: 'service', cluster: sp.cluster, mode, sni: exp.sni, alpn: exp.alpn, reason: `SNI ${sni} names cluster ${sp.cluster}`, cause: `cluster ${sp.cluster} sends ${mode}`, fix: null }];
    half.explanation = `client sidecar sent ${flow.security === 'mtls' ? 'mTLS' : 'TLS'} through ${sp.cluster} (${mode})`;
    if (mode === 'plaintext') {
      mism.push({ field: 'security', expected: 'plaintext', observed: `TLS with SNI ${sni}`, note: `cluster ${sp.cluster} would send plaintext to ${flow.server.ip}:${flow.server.port}${sp.endpointKnown ? ' (the endpoint has no tlsMode=istio)' : ''}: the TLS came from elsewhere or the config was not in force` });
      return;
    }
    if (exp.sni !== null && exp.sni !== sni) mism.push({ field: 'sni', expected: exp.sni, observed: sni ?? '(none)', note: `cluster ${sp.cluster} sends SNI ${exp.sni}` });
    if (exp.alpn.length && t.alpn.length && !alpnAcceptable(t.alpn, exp.alpn)) mism.push({ field: 'alpn', expected: exp.alpn.join(','), observed: t.alpn.join(','), note: `cluster ${sp.cluster} offers ${exp.alpn.join(',')}` });
  } else if (sni === null || !parseIstioSni(sni)) {
    // Not an Istio SNI: the sidecar may have passed the app's own TLS through.
    const paths = half.paths;
    half.explaining = paths.filter((p) => p.mode === 'passthrough' || ((p.mode === 'simple' || p.mode === 'mutual') && p.sni === sni));
    half.explanation = half.explaining.length ? `client TLS ${sni ? `with SNI ${sni} ` : ''}through ${half.explaining.map((p) => `${p.cluster} (${p.mode})`).join(', or ')}` : `no cluster of the client sidecar originates this TLS${sni ? ` (SNI ${sni})` : ''}`;
    const istioOnly = paths.length > 0 && paths.every((p) => p.mode === 'istio-mutual');
    if (istioOnly) mism.push({ field: 'sni', expected: paths.map((p) => istioSniOf(p)).join(' or '), observed: sni ?? '(none)', note: 'the client sidecar would send Istio mTLS here: this TLS did not come from it' });
    return;
  }
  // Certificates, where visible (TLS ≤ 1.2).
  const suffix = client.identitySuffix;
  if (t.clientCertificateSent && t.uriSans.length && suffix && !t.uriSans.some((u) => u.endsWith(suffix))) {
    mism.push({ field: 'client-certificate', expected: `spiffe://…${suffix}`, observed: t.uriSans.join(','), note: 'the client certificate is not the client sidecar\'s workload identity' });
  }
  const c = sp ? findCluster(client.dump, sp.cluster) : null;
  const verify = sp?.tls.verifySans ?? [];
  if (c && verify.length && t.serverUriSans && t.serverUriSans.length && !t.serverUriSans.some((s) => verify.includes(s))) {
    mism.push({ field: 'server-certificate', expected: verify.join(','), observed: t.serverUriSans.join(','), note: `cluster ${c.name} verifies the server's SAN against ${verify.join(', ')}: the client sidecar would have refused this handshake` });
  }
}

function istioSniOf(p: ClientPath): string {
  const n = parseIstioClusterName(p.cluster);
  return p.sni ?? (n ? istioSni(n.port, n.subset, n.host) : p.cluster);
}

/** One ClientModel per dump (report and flows reuse it across flows). */
const models = new WeakMap<ConfigDump, ClientModel>();
export function clientModelFor(dump: ConfigDump): ClientModel {
  let m = models.get(dump);
  if (!m) {
    m = new ClientModel(dump);
    models.set(dump, m);
  }
  return m;
}

/** The dump among `dumps` whose node IPs include `ip` (a client sidecar), or null. */
export function dumpForIp(dumps: readonly ConfigDump[], ip: string): ConfigDump | null {
  return dumps.find((d) => (d.node?.ips ?? []).includes(ip)) ?? null;
}

/**
 * Both halves for a captured flow among `flows --config` dumps: the client half from the dump whose node
 * IPs include the flow's client, the server half from the flow's config check. Null when there is no
 * client dump, or for the app↔sidecar leg inside a pod.
 */
export function flowHalves(f: Flow, dumps: readonly ConfigDump[]): BothHalves | null {
  if (f.sidecarLocal) return null;
  const cd = dumpForIp(dumps, f.client.ip);
  if (!cd) return null;
  const server = f.configCheck && f.configCheck.matchedBy === 'server-ip' ? { proxy: f.configCheck.proxy, mode: f.configCheck.mode } : null;
  return bothHalves(f, clientModelFor(cd), server);
}
