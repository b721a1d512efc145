/** Hand-built Flow / AccessRecord / Explanation / ProxyView / inventory values for the report tests. */
import type { AccessRecord, Explanation, Flow, FlowTls, HttpExchange } from '../../src/model/records.js';
import type { Decision } from '../../src/model/decision.js';
import type { ConfigDump } from '../../src/envoy/model.js';
import type { Inventory, InventoryPod } from '../../src/readers/inventory.js';
import type { ProxyView, RbacFilterSite, PortMtls } from '../../src/analysis/proxies.js';

export const T0 = Date.parse('2026-03-01T10:00:00.000Z');

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function flow(p: { client: string; server: string; startMs?: number; durMs?: number; file?: string; frames?: number[] } & Partial<Omit<Flow, 'client' | 'server'>>): Flow {
  const [cip, cport] = p.client.split(':');
  const [sip, sport] = p.server.split(':');
  const startMs = p.startMs ?? T0;
  const endMs = startMs + (p.durMs ?? 100);
  const { client: _c, server: _s, durMs: _d, ...rest } = p;
  return {
    id: `${p.client}-${p.server}-${startMs}`,
    file: 'cap.pcap',
    start: iso(startMs),
    end: iso(endMs),
    startMs,
    endMs,
    packets: 10,
    bytes: { clientToServer: 100, serverToClient: 200 },
    frames: [1, 2, 3, 10],
    security: 'plaintext',
    evidence: ['cleartext-http'],
    tls: null,
    protocol: 'http/1.1',
    http: [],
    sidecarLocal: false,
    notes: [],
    ...rest,
    client: { ip: cip!, port: Number(cport) },
    server: { ip: sip!, port: Number(sport) },
  };
}

export function tls(p: Partial<FlowTls> = {}): FlowTls {
  return { version: 'TLSv1.2', sni: 'outbound_.9080_._.details.default.svc.cluster.local', alpn: ['istio-http/1.1', 'istio'], alpnSelected: 'istio-http/1.1', clientCertificateRequested: true, clientCertificateSent: true, uriSans: [], dnsSans: [], ...p };
}

export function exchange(p: Partial<HttpExchange> = {}): HttpExchange {
  return { requestFrame: 4, responseFrame: 6, time: iso(T0 + 5), method: 'GET', path: '/', version: 'HTTP/1.1', headers: {}, status: 200, ...p };
}

let line = 0;
/** An inbound record as the server sidecar logs it (Istio default text format facts). */
export function record(p: Partial<AccessRecord> & { from?: string; to?: string; timeMs?: number; cluster?: string } = {}): AccessRecord {
  const { from, to, cluster, ...rest } = p;
  const timeMs = p.timeMs ?? T0 + 10;
  const attrs: AccessRecord['attrs'] = { ...(p.attrs ?? {}) };
  if (from) {
    const [ip, port] = from.split(':');
    attrs.source = { address: ip!, port: Number(port) };
    attrs.directRemote = { address: ip!, port: Number(port) };
  }
  if (to) {
    const [ip, port] = to.split(':');
    attrs.destination = { address: ip!, port: Number(port) };
  }
  return {
    ref: { file: 'access.log', line: ++line },
    time: iso(timeMs),
    kind: 'http',
    unknown: [],
    fields: {},
    upstreamCluster: cluster ?? `inbound|${to?.split(':')[1] ?? '9080'}||`,
    responseCode: 200,
    responseCodeDetails: 'via_upstream',
    responseFlags: '-',
    ...rest,
    timeMs,
    attrs,
  };
}

export function decision(p: Partial<Decision> = {}): Decision {
  return { decision: 'ALLOW', policy: null, responseCodeDetails: null, filters: [], ...p };
}

export function explanation(r: AccessRecord, p: Partial<Explanation> = {}): Explanation {
  return { record: r, decision: decision(), verdict: 'agrees', reason: 'allowed, as logged', identityEvidence: [], ...p };
}

export function pod(name: string, namespace: string, ip: string, sa: string, app: string, extra: Partial<InventoryPod> = {}): InventoryPod {
  return { name, namespace, ips: [ip], serviceAccount: sa, labels: { app }, workload: app, hostNetwork: false, phase: 'Running', sidecar: true, ref: { file: 'inventory.json' }, ...extra };
}

export function inventory(pods: InventoryPod[]): Inventory {
  return { pods, services: [], serviceAccounts: [] };
}

export function site(p: Partial<RbacFilterSite>): RbacFilterSite {
  return { listener: 'virtualInbound', chain: 'virtualInbound', chainIndex: 0, port: null, transport: '', kind: 'network', inbound: true, rules: null, shadow: null, statPrefix: null, shadowStatPrefix: null, jsonPath: '$.configs[0]', ...p };
}

export function proxyOf(p: { source: string; ip: string; pod: string; namespace: string; app?: string; sa?: string; mtls?: PortMtls[]; rbac?: RbacFilterSite[] }): ProxyView {
  const dump = {
    source: p.source,
    node: { id: `sidecar~${p.ip}~${p.pod}.${p.namespace}~${p.namespace}.svc.cluster.local`, proxyType: 'sidecar', pod: p.pod, namespace: p.namespace, ip: p.ip, ips: [p.ip], cluster: `${p.app ?? p.pod}.${p.namespace}`, istioVersion: null, istioProxySha: null, envoyVersion: null, metadata: p.sa ? { SERVICE_ACCOUNT: p.sa } : {}, jsonPath: '$' },
    listeners: [], routeConfigs: new Map(), clusters: [], secrets: [], endpoints: [], ecdsFilters: new Map(), sections: [], spelling: 'snake_case', notUnderstood: [],
  } as ConfigDump;
  return { source: p.source, asOfMs: null, identity: dump.node!.id, nodeId: dump.node!.id, pod: p.pod, namespace: p.namespace, app: p.app ?? null, ips: [p.ip], mtls: p.mtls ?? [], rbac: p.rbac ?? [], endpoints: [], dump };
}

/** A record of a proxy's leg `client` → `server` (`ip:port` each), inbound or outbound, as the grouping tests build them. */
export function legRecord(i: number, o: Partial<AccessRecord> & { dir: 'inbound' | 'outbound'; client: string; server: string }): AccessRecord {
  const [cip, cport] = o.client.split(':');
  const [sip, sport] = o.server.split(':');
  const fields: Record<string, string> = o.dir === 'outbound' ? { UPSTREAM_CLUSTER: 'outbound|80||x', UPSTREAM_LOCAL_ADDRESS: o.client, UPSTREAM_HOST: o.server } : { UPSTREAM_CLUSTER: 'inbound|80||', DOWNSTREAM_REMOTE_ADDRESS: o.client, DOWNSTREAM_LOCAL_ADDRESS: o.server };
  return {
    ref: { file: 'log', line: i + 1 },
    kind: o.kind ?? 'http',
    attrs: o.dir === 'inbound' ? { source: { address: cip!, port: Number(cport) }, destination: { address: sip!, port: Number(sport) } } : {},
    unknown: [],
    fields,
    ...(o.timeMs !== undefined ? { timeMs: o.timeMs, time: new Date(o.timeMs).toISOString() } : {}),
    ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
    ...(o.requestId !== undefined ? { requestId: o.requestId } : {}),
    upstreamCluster: fields.UPSTREAM_CLUSTER,
  };
}
