/**
 * The sample world: pods, services, policy stages and calls between pods. From one scenario it derives, with
 * the same IPs, ports, SNIs and request ids everywhere: the sidecars' access logs (Istio's default TEXT format),
 * per-pod captures (`tcpdump -i any` in the pod's network namespace: the mTLS leg on eth0, the app↔sidecar legs
 * on lo), the sidecars' `/config_dump`s per stage, and the `kubectl get -o json` inventory.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { JsonValue } from '../model/attrs.js';
import { frameConversationTimed, writePcap, type NetIface, type Packet, type Segment } from './conversation.js';
import type { Prng } from '../synth/rng.js';
import type { Recording } from './recording.js';
import { pemToDer, type KeyAndCert } from '../synth/pki/index.js';
import { stringify } from 'yaml';
import type { K8sObject, Workload } from './istio-render.js';
import type { AppStep, WireChunk } from './recording.js';
import { appendAll } from '../model/arrays.js';
import { mysqlConversation, type MysqlSessionSpec } from '../synth/mysql.js';
import { ethernetFrame, geneveHeader, ipPacket, udpDatagram } from '../synth/index.js';
import { LINKTYPE } from '../synth/link.js';
import { compileOutbound, servicesFromObjects, type OutboundService } from '../istio/compile/outbound.js';
import { compileForWorkload } from '../istio/compile/index.js';
import { parsePolicies } from '../istio/compile/policies.js';
import { features, parseIstioVersion } from '../istio/compile/version.js';
import { parseK8sObjects } from '../readers/k8s.js';

export interface PodDef {
  name: string;
  namespace: string;
  app: string;
  version?: string;
  serviceAccount: string;
  ip: string;
  node: string;
  hostIP: string;
  sidecar: boolean;
  image: string;
  containerPorts: number[];
  /** an Istio gateway: an Envoy of its own (mTLS client like a sidecar), not an injected pod */
  gateway?: boolean;
}

export interface ServiceDef {
  name: string;
  namespace: string;
  clusterIP: string;
  app: string;
  ports: Array<{ name: string; port: number; targetPort: number; protocol: 'HTTP' | 'TCP' }>;
}

export interface StageDef {
  id: string;
  title: string;
  /** RFC 3339 time the stage's change was applied */
  start: string;
  /** YAML applied at this stage (empty for the initial state) */
  applied: string;
  /** every Istio policy object in effect during the stage */
  objects: K8sObject[];
  /** every network policy object (NetworkPolicy, Calico) in effect during the stage */
  network?: K8sObject[];
}

export type Target = { service: string; port: number } | { pod: string; port: number };

export interface AppResponse {
  status: number;
  reason?: string;
  body: string;
  contentType?: string;
  /** the app's `server` header, if it sends one */
  server?: string;
}

export interface HttpCall {
  kind: 'http';
  stage: string;
  /** milliseconds after the stage start */
  at: number;
  from: string;
  to: Target;
  method: string;
  path: string;
  authority: string;
  userAgent: string;
  headers?: Array<[string, string]>;
  body?: string;
  /**
   * what the server sidecar did: forward to the app (its answer), deny by RBAC, or find no filter chain;
   * or `dropped`: the network (NetworkPolicy at the destination's node) dropped the SYN, so the client
   * retransmits it until its connect timeout and the server never sees the connection; or `extAuthz`:
   * the server sidecar's ext_authz filter (Calico's Dikastes with application layer policy) said
   * PERMISSION_DENIED: 403 with an empty body, logged `UAEX ext_authz_denied`
   */
  outcome: AppResponse | { rbac: string } | { noFilterChain: true } | { dropped: string } | { extAuthz: string };
  /** the app's own processing time (ms) */
  appMs?: number;
  /** a client that holds a (stolen) workload certificate and speaks TLS itself, without a sidecar */
  impersonate?: { spiffeId: string; sni: string; alpn: string[]; tlsVersion: 'TLSv1.2' | 'TLSv1.3' };
  /**
   * a shell in the client pod calls the server pod directly, in plaintext: nothing redirects it to a
   * proxy (an ingress gateway pod is not injected, so its Envoy never sees the call)
   */
  direct?: boolean;
  /** calls with the same label share one x-request-id (the first one's; later ones propagate it, as bookinfo does) */
  requestLabel?: string;
}

export interface TcpCall {
  kind: 'tcp';
  stage: string;
  at: number;
  from: string;
  to: Target;
  send: string;
  outcome: { reply: string } | { rbac: string };
}

/** A MySQL session (server first): greeting, login, the queries, COM_QUIT. */
export interface MysqlCall {
  kind: 'mysql';
  stage: string;
  at: number;
  from: string;
  to: Target;
  user: string;
  password: string;
  database: string;
  queries: MysqlSessionSpec['queries'];
  /**
   * what the server sidecar did: proxy the session, or find no filter chain (a plaintext client under STRICT:
   * the TLS inspector waits `protocolDetectionTimeout` for a ClientHello, then no chain matches raw_buffer)
   */
  outcome: 'ok' | 'noFilterChain';
}

export type Call = HttpCall | TcpCall | MysqlCall;

export interface Scenario {
  name: string;
  seed: string;
  pods: PodDef[];
  services: ServiceDef[];
  stages: StageDef[];
  calls: Call[];
  /** pods whose network namespace was captured */
  captured: string[];
  /** pods whose sidecar logs (and, unless `dumps` says otherwise, config dumps) are in the bundle */
  sidecars: string[];
  /** pods whose config dumps are in the bundle (default: `sidecars`) */
  dumps?: string[];
  /** MeshConfig settings that change what the sidecars do (rendered into the dumps, and the calls follow them) */
  mesh?: { enableAutoMtls?: boolean; protocolDetectionTimeoutMs?: number };
  /** render the sidecars' outbound listeners, clusters (DestinationRule TLS, auto mTLS) and endpoints */
  outbound?: boolean;
  /**
   * Capture on a node's overlay uplink (tcpdump on the transport node's TEP interface): pod traffic between nodes
   * in Geneve (UDP 6081) with outer and inner headers, as NSX-T delivers it; one file per node.
   */
  nodeCaptures?: Array<{ node: string; file: string }>;
  /** further files of the bundle (relative path → text), e.g. the mesh config or legacy manifests */
  extraFiles?: Record<string, string>;
  /** the nodes' tunnel endpoints (TEP IP and uplink MAC) and the overlay segment's VNI */
  overlay?: { vni: number; teps: Record<string, { ip: string; mac: string }> };
}

export interface RenderDump {
  (policyYaml: string, policyFile: string, w: Workload, opts: { lastUpdated: string; version: string; certPem: string; rootPem: string; outbound?: OutboundRender }): JsonValue;
}

/** What a scenario with `outbound: true` adds to each dump: the services and the mesh settings. */
export interface OutboundRender {
  services: OutboundService[];
  enableAutoMtls?: boolean;
  protocolDetectionTimeoutMs?: number;
}

export interface BundleFiles {
  /** relative path → bytes */
  files: Map<string, Buffer>;
}

function macOf(ip: string): Buffer {
  return Buffer.from([0x0a, 0x58, ...ip.split('.').map(Number)]);
}
function gatewayMac(ip: string): Buffer {
  const p = ip.split('.').map(Number);
  return Buffer.from([0x0a, 0x58, p[0]!, p[1]!, p[2]!, 1]);
}

function iso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

function httpDate(us: number): string {
  return new Date(Math.floor(us / 1000)).toUTCString();
}

const REASONS: Record<number, string> = { 200: 'OK', 201: 'Created', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable' };

function request(method: string, path: string, headers: Array<[string, string]>, body: string): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body, 'utf8');
}

function response(status: number, headers: Array<[string, string]>, body: string, reason?: string): Buffer {
  const lines = [`HTTP/1.1 ${status} ${reason ?? REASONS[status] ?? 'Unknown'}`, ...headers.map(([k, v]) => `${k}: ${v}`)];
  return Buffer.from(lines.join('\r\n') + '\r\n\r\n' + body, 'utf8');
}

/** Istio's TCP metadata-exchange preamble (magic 0x3D230467, length, protobuf Any of a Struct). */
function metadataExchange(pod: PodDef): Buffer {
  const typeUrl = Buffer.from('type.googleapis.com/google.protobuf.Struct');
  const field = (k: string, v: string): Buffer => {
    const key = Buffer.from(k);
    const sv = Buffer.from(v);
    const value = Buffer.concat([Buffer.from([0x1a, sv.length]), sv]); // Value.string_value (field 3)
    const entry = Buffer.concat([Buffer.from([0x0a, key.length]), key, Buffer.from([0x12, value.length]), value]);
    return Buffer.concat([Buffer.from([0x0a, entry.length]), entry]); // Struct.fields map entry
  };
  const struct = Buffer.concat([field('NAME', pod.name), field('NAMESPACE', pod.namespace), field('CLUSTER_ID', 'Kubernetes')]);
  const anyMsg = Buffer.concat([Buffer.from([0x0a, typeUrl.length]), typeUrl, Buffer.from([0x12, struct.length]), struct]);
  const hdr = Buffer.alloc(8);
  hdr.writeUInt32BE(0x3d230467, 0);
  hdr.writeUInt32BE(anyMsg.length, 4);
  return Buffer.concat([hdr, anyMsg]);
}

interface Leg {
  netns: string;
  iface: NetIface;
  local: 'client' | 'server';
  framer?: (datagram: Uint8Array, from: 'client' | 'server') => Uint8Array;
}

/** NSX-T's distributed router virtual MAC: the inner source MAC of routed overlay traffic. */
const NSX_DR_VMAC = Buffer.from([0x02, 0x50, 0x56, 0x56, 0x44, 0x52]);
const macBytes = (mac: string): Buffer => Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));

interface LogLine {
  us: number;
  text: string;
}

export class BundleBuilder {
  readonly files = new Map<string, Buffer>();
  private readonly logs = new Map<string, LogLine[]>();
  private readonly packets = new Map<string, Packet[]>();
  private readonly pods: Map<string, PodDef>;
  private readonly usedPorts = new Set<string>();
  private readonly rids = new Map<string, string>();

  constructor(
    readonly sc: Scenario,
    private readonly rec: Recording,
    private readonly prng: Prng,
  ) {
    this.pods = new Map(sc.pods.map((p) => [p.name, p]));
    for (const p of sc.sidecars) this.logs.set(p, []);
    for (const p of sc.captured) this.packets.set(p, []);
    for (const n of sc.nodeCaptures ?? []) this.packets.set(`node:${n.node}`, []);
  }

  pod(name: string): PodDef {
    const p = this.pods.get(name);
    if (!p) throw new Error(`scenario ${this.sc.name}: unknown pod ${name}`);
    return p;
  }

  spiffe(p: PodDef): string {
    return `spiffe://cluster.local/ns/${p.namespace}/sa/${p.serviceAccount}`;
  }

  leaf(p: PodDef): KeyAndCert {
    return this.rec.leaf(this.spiffe(p));
  }

  workload(p: PodDef): Workload {
    const ports: Workload['ports'] = [];
    for (const s of this.sc.services)
      if (s.namespace === p.namespace && s.app === p.app)
        for (const sp of s.ports) ports.push({ port: sp.targetPort, protocol: sp.protocol, service: s.name, servicePort: sp.port });
    return { pod: p.name, namespace: p.namespace, ip: p.ip, serviceAccount: p.serviceAccount, labels: this.labels(p), ports };
  }

  labels(p: PodDef): Record<string, string> {
    if (p.gateway) return { app: p.app, istio: 'ingressgateway', 'service.istio.io/canonical-name': p.app, 'service.istio.io/canonical-revision': 'latest', 'sidecar.istio.io/inject': 'false' };
    const l: Record<string, string> = { app: p.app };
    if (p.version) l['version'] = p.version;
    if (p.sidecar) {
      l['security.istio.io/tlsMode'] = 'istio';
      l['service.istio.io/canonical-name'] = p.app;
      l['service.istio.io/canonical-revision'] = p.version ?? 'latest';
    }
    return l;
  }

  private ephemeral(ip: string): number {
    for (;;) {
      const port = this.prng.int(32768, 60999);
      const k = `${ip}:${port}`;
      if (!this.usedPorts.has(k)) {
        this.usedPorts.add(k);
        return port;
      }
    }
  }

  private resolve(to: Target): { server: PodDef; port: number; svc: ServiceDef | null; svcPort: number; protocol: 'HTTP' | 'TCP' } {
    if ('pod' in to) {
      const server = this.pod(to.pod);
      return { server, port: to.port, svc: null, svcPort: to.port, protocol: 'TCP' };
    }
    const [name, ns] = to.service.split('.');
    const svc = this.sc.services.find((s) => s.name === name && s.namespace === ns);
    if (!svc) throw new Error(`scenario ${this.sc.name}: unknown service ${to.service}`);
    const sp = svc.ports.find((p) => p.port === to.port);
    if (!sp) throw new Error(`service ${to.service} has no port ${to.port}`);
    const server = this.sc.pods.find((p) => p.namespace === svc.namespace && p.app === svc.app);
    if (!server) throw new Error(`service ${to.service} selects no pod`);
    return { server, port: sp.targetPort, svc, svcPort: sp.port, protocol: sp.protocol };
  }

  private log(pod: PodDef, us: number, text: string): void {
    this.logs.get(pod.name)?.push({ us, text });
  }

  private eth(p: PodDef): NetIface {
    return { index: 2, loopback: false, mac: macOf(p.ip), peerMac: gatewayMac(p.ip), mss: 1448 };
  }
  private static readonly LO: NetIface = { index: 1, loopback: true, mac: Buffer.alloc(6), peerMac: Buffer.alloc(6), mss: 65483 };

  /** Frames one TCP connection into every captured netns that sees it; returns the segments' send times. */
  private frame(legs: Leg[], client: { ip: string; port: number }, server: { ip: string; port: number }, startUs: number, latencyUs: number, segments: Segment[], unansweredSynRetransmitsUs?: number[]): number[] {
    const isn = { client: this.prng.bytes(4).readUInt32BE(0), server: this.prng.bytes(4).readUInt32BE(0) };
    let times: number[] | null = null;
    for (const leg of legs) {
      const pk = this.packets.get(leg.netns)!;
      const r = frameConversationTimed({ iface: leg.iface, client, server, local: leg.local, startUs, latencyUs, isn, segments, ...(unansweredSynRetransmitsUs ? { unansweredSynRetransmitsUs } : {}), ...(leg.framer ? { framer: leg.framer } : {}) });
      appendAll(pk, r.packets);
      times ??= r.times;
    }
    // nobody captured it: still compute the times (MSS does not change them)
    return times ?? frameConversationTimed({ iface: BundleBuilder.LO, client, server, local: 'client', startUs, latencyUs, isn, segments }).times;
  }

  private netnsLegs(clientPod: PodDef | null, serverPod: PodDef): Leg[] {
    const legs: Leg[] = [];
    if (clientPod && this.packets.has(clientPod.name)) legs.push({ netns: clientPod.name, iface: this.eth(clientPod), local: 'client' });
    if (this.packets.has(serverPod.name)) legs.push({ netns: serverPod.name, iface: this.eth(serverPod), local: 'server' });
    return legs;
  }

  /**
   * The node captures that see a connection between pods on two nodes: on either node's uplink it travels in
   * Geneve from the sending node's TEP to the other's (outer Ethernet/IPv4/UDP 6081/Geneve with an NSX option,
   * then the inner Ethernet frame routed by the distributed router, then the pod's IP packet).
   */
  private nodeLegs(clientPod: PodDef, serverPod: PodDef): Leg[] {
    const ov = this.sc.overlay;
    if (!ov || clientPod.node === serverPod.node) return [];
    const tep = (p: PodDef): { ip: string; mac: string } => {
      const t = ov.teps[p.node];
      if (!t) throw new Error(`scenario ${this.sc.name}: no TEP for node ${p.node}`);
      return t;
    };
    const legs: Leg[] = [];
    for (const n of this.sc.nodeCaptures ?? []) {
      if (n.node !== clientPod.node && n.node !== serverPod.node) continue;
      const framer = (datagram: Uint8Array, from: 'client' | 'server'): Uint8Array => {
        const [src, dst] = from === 'client' ? [clientPod, serverPod] : [serverPod, clientPod];
        const inner = ethernetFrame(datagram, 0x0800, { src: NSX_DR_VMAC, dst: macOf(dst.ip) });
        // overlays put the inner flow's hash in the UDP source port (ECMP entropy)
        const h = createHash('sha1').update(Buffer.from(datagram.subarray(12, 24))).digest();
        const sport = 49152 + (h.readUInt16BE(0) & 0x3fff);
        const opt = Buffer.alloc(4);
        opt.writeUInt32BE(0x1000 + Number(src.ip.split('.')[3]), 0); // the sending port's logical id
        const geneve = geneveHeader(ov.vni, 0x6558, [{ class: 0x0104, type: 0x80, data: opt }]);
        const outer = ipPacket(udpDatagram(Buffer.concat([geneve, inner]), sport, 6081), 17, tep(src).ip, tep(dst).ip);
        return ethernetFrame(outer, 0x0800, { src: macBytes(tep(src).mac), dst: macBytes(tep(dst).mac) });
      };
      legs.push({ netns: `node:${n.node}`, iface: this.eth(clientPod), local: n.node === clientPod.node ? 'client' : 'server', framer });
    }
    return legs;
  }

  /** A sidecar-to-sidecar TCP mTLS session (TLS 1.3, ALPN istio-peer-exchange) from the recording. */
  private istioTcpSession(client: PodDef, server: PodDef, sni: string, steps: AppStep[]): ReturnType<Recording['session']> {
    return this.rec.session({
      ca: this.rec.ca.certPem,
      server: this.leaf(server),
      client: this.leaf(client),
      sni,
      clientAlpn: ['istio-peer-exchange', 'istio'],
      serverAlpn: ['istio-peer-exchange', 'h2', 'http/1.1'],
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      steps,
    });
  }

  private static toSegments(wire: WireChunk[]): Segment[] {
    return wire.map((c): Segment => ('data' in c ? { from: c.from, data: c.data } : { from: c.from, fin: true }));
  }

  private stageStartUs(id: string): number {
    const st = this.sc.stages.find((s) => s.id === id);
    if (!st) throw new Error(`unknown stage ${id}`);
    return Date.parse(st.start) * 1000;
  }

  async http(call: HttpCall): Promise<void> {
    const t0 = this.stageStartUs(call.stage) + call.at * 1000;
    const client = this.pod(call.from);
    const { server, port, svc, svcPort } = this.resolve(call.to);
    let rid = call.requestLabel ? this.rids.get(call.requestLabel) : undefined;
    const propagated = rid !== undefined;
    rid ??= this.prng.uuid();
    if (call.requestLabel) this.rids.set(call.requestLabel, rid);
    const fqdn = svc ? `${svc.name}.${svc.namespace}.svc.cluster.local` : null;
    const sni = fqdn ? `outbound_.${svcPort}_._.${fqdn}` : null;
    const appMs = call.appMs ?? this.prng.int(1, 5);
    const body = call.body ?? '';
    const appHeaders = BundleBuilder.appHeaders(call, rid, propagated);
    if (body) appHeaders.push(['Content-Length', String(Buffer.byteLength(body))]);
    const viaSidecar = client.sidecar && !call.impersonate && !call.direct;
    const mtls = viaSidecar || call.impersonate !== undefined;
    const sameNode = client.node === server.node;
    const lat = sameNode ? 40 : 180;
    const loLat = 15;

    const pa = this.ephemeral(client.ip); // app → 15001
    const pb = this.ephemeral(client.ip); // client sidecar (or bare client) → server pod
    if ('dropped' in call.outcome) return this.httpDropped(call, t0, client, server, port, svc, svcPort, pa, pb, rid, propagated);
    const pc = this.ephemeral('127.0.0.6'); // server sidecar → app
    const traceId = this.prng.hex(32);
    const spanId = this.prng.hex(16);

    // --- the request as it travels
    const meshHeaders: Array<[string, string]> = viaSidecar
      ? [
          ['x-forwarded-proto', 'http'],
          ...(propagated ? [] : [['x-request-id', rid] as [string, string]]),
          ['x-envoy-decorator-operation', `${fqdn}:${svcPort}/*`],
          ['x-envoy-peer-metadata-id', `sidecar~${client.ip}~${client.name}.${client.namespace}~${client.namespace}.svc.cluster.local`],
          ['x-envoy-attempt-count', '1'],
          ['x-b3-traceid', traceId],
          ['x-b3-spanid', spanId],
          ['x-b3-sampled', '0'],
        ]
      : [];
    const onWire = request(call.method, call.path, [...appHeaders, ...meshHeaders], body);
    const serverAdded: Array<[string, string]> = viaSidecar ? [] : [['x-forwarded-proto', 'http'], ['x-request-id', rid]];
    let xfcc: Array<[string, string]> = [];
    let clientCert: KeyAndCert | null = null;
    if (mtls) {
      clientCert = call.impersonate ? this.rec.leaf(call.impersonate.spiffeId) : this.leaf(client);
      const hash = createHash('sha256').update(pemToDer(clientCert.certPem)).digest('hex');
      const uri = new X509Certificate(clientCert.certPem).subjectAltName?.replace(/^URI:/, '') ?? '';
      xfcc = [['x-forwarded-client-cert', `By=${this.spiffe(server)};Hash=${hash};Subject="";URI=${uri}`]];
    }
    const toApp = request(call.method, call.path, [...appHeaders, ...meshHeaders, ...serverAdded, ...xfcc], body);

    // --- the answer
    const outcome = call.outcome;
    const extAuthz = 'extAuthz' in outcome;
    const denied = 'rbac' in outcome || extAuthz;
    const nr = 'noFilterChain' in outcome;
    let appResp: Buffer | null = null;
    let sidecarResp: Buffer | null = null;
    let status = 0;
    let bytesSent = 0;
    const dateUs = t0 + appMs * 1000;
    if (extAuthz) {
      status = 403;
      bytesSent = 0;
      sidecarResp = response(403, [['content-length', '0'], ['date', httpDate(dateUs)], ['server', 'istio-envoy'], ['x-envoy-decorator-operation', `${fqdn ?? ':0'}:${svcPort}/*`]], '');
    } else if (denied) {
      status = 403;
      bytesSent = 19;
      sidecarResp = response(403, [['content-length', '19'], ['content-type', 'text/plain'], ['date', httpDate(dateUs)], ['server', 'istio-envoy'], ['x-envoy-decorator-operation', `${fqdn ?? ':0'}:${svcPort}/*`]], 'RBAC: access denied');
    } else if (!nr) {
      const r = outcome as AppResponse;
      status = r.status;
      bytesSent = Buffer.byteLength(r.body);
      const h: Array<[string, string]> = [
        ['content-type', r.contentType ?? 'application/json'],
        ['content-length', String(bytesSent)],
        ['date', httpDate(dateUs)],
      ];
      appResp = response(r.status, [...h, ...(r.server ? [['server', r.server] as [string, string]] : [])], r.body, r.reason);
      sidecarResp = response(r.status, [...h, ['x-envoy-upstream-service-time', String(appMs)], ['server', 'istio-envoy'], ['x-envoy-decorator-operation', `${fqdn ?? ':0'}:${svcPort}/*`]], r.body, r.reason);
    }
    // time the server sidecar spends before answering: the app leg (handshake, request, app work) or nothing
    const serverWorkUs = appResp ? 4 * loLat + 250 + appMs * 1000 : 80;

    // --- leg B: client (sidecar) → server pod
    const legB = this.netnsLegs(client, server);
    const tB = t0 + (viaSidecar ? 3 * loLat + 250 : 0);
    let segsB: Segment[];
    let reqIdx = 0;
    let respIdx = -1;
    if (mtls && !nr) {
      const steps: AppStep[] = [{ send: 'client', data: onWire }];
      if (sidecarResp) steps.push({ send: 'server', data: sidecarResp });
      steps.push({ end: 'client' });
      const imp = call.impersonate;
      const sess = await this.rec.session({
        ca: this.rec.ca.certPem,
        server: this.leaf(server),
        client: clientCert,
        sni: imp ? imp.sni : sni!,
        clientAlpn: imp ? imp.alpn : ['istio-http/1.1', 'istio', 'http/1.1'],
        serverAlpn: ['h2', 'http/1.1'],
        minVersion: imp ? imp.tlsVersion : 'TLSv1.3',
        maxVersion: imp ? imp.tlsVersion : 'TLSv1.3',
        steps,
      });
      segsB = BundleBuilder.toSegments(sess.wire);
      reqIdx = sess.wire.findIndex((c) => c.step === 0 && c.from === 'client' && 'data' in c);
      respIdx = sess.wire.findIndex((c) => c.step === 1 && c.from === 'server' && 'data' in c);
    } else if (nr) {
      segsB = [{ from: 'client', data: onWire }, { from: 'server', rst: true }];
    } else {
      segsB = [{ from: 'client', data: onWire }, { from: 'server', data: sidecarResp! }, { from: 'client', fin: true }, { from: 'server', fin: true }];
      respIdx = 1;
    }
    if (respIdx >= 0) segsB[respIdx] = { ...segsB[respIdx]!, delayUs: serverWorkUs };
    const timesB = this.frame(legB, { ip: client.ip, port: pb }, { ip: server.ip, port }, tB, lat, segsB);
    const reqAtServer = timesB[reqIdx]! + lat;
    const respAtServer = respIdx >= 0 ? timesB[respIdx]! : reqAtServer + 80;
    const respAtClient = respAtServer + lat;

    // --- leg C: server sidecar → app (only when the request got through)
    if (appResp) {
      this.frame(
        this.packets.has(server.name) ? [{ netns: server.name, iface: BundleBuilder.LO, local: 'server' }] : [],
        { ip: '127.0.0.6', port: pc },
        { ip: server.ip, port },
        reqAtServer + 100,
        loLat,
        [{ from: 'client', data: toApp }, { from: 'server', data: appResp, delayUs: appMs * 1000 }, { from: 'client', fin: true }, { from: 'server', fin: true }],
      );
    }

    // --- leg A: app → its own sidecar (outbound capture on lo)
    if (viaSidecar) {
      const reqA = t0 + 3 * loLat;
      this.appLeg(client, pa, t0, loLat, request(call.method, call.path, appHeaders, body), sidecarResp!, Math.max(0, respAtClient + 60 - reqA - loLat));
    }

    // --- access logs
    const q = (s: string | undefined): string => `"${s ?? '-'}"`;
    const reqLine = `"${call.method} ${call.path} HTTP/1.1"`;
    const bytesIn = Buffer.byteLength(body);
    const ms = (us: number): number => Math.max(0, Math.round(us / 1000));
    const serverDur = ms(respAtServer - reqAtServer);
    const downstreamSni = mtls ? (call.impersonate ? call.impersonate.sni : sni!) : '-';
    const inboundCluster = `inbound|${port}||`;
    if (server.sidecar) {
      if (nr) {
        this.log(server, reqAtServer, `[${iso(reqAtServer)}] "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" - - ${server.ip}:${port} ${client.ip}:${pb} - -`);
      } else if (extAuthz) {
        this.log(server, reqAtServer, `[${iso(reqAtServer)}] ${reqLine} 403 UAEX ext_authz_denied - "-" ${bytesIn} 0 ${serverDur} - "-" ${q(call.userAgent)} ${q(rid)} ${q(call.authority)} "-" ${inboundCluster} - ${server.ip}:${port} ${client.ip}:${pb} ${downstreamSni} default`);
      } else if (denied) {
        this.log(server, reqAtServer, `[${iso(reqAtServer)}] ${reqLine} 403 - rbac_access_denied_matched_policy[${(outcome as { rbac: string }).rbac}] - "-" ${bytesIn} 19 ${serverDur} - "-" ${q(call.userAgent)} ${q(rid)} ${q(call.authority)} "-" ${inboundCluster} - ${server.ip}:${port} ${client.ip}:${pb} ${downstreamSni} default`);
      } else {
        this.log(server, reqAtServer, `[${iso(reqAtServer)}] ${reqLine} ${status} - via_upstream - "-" ${bytesIn} ${bytesSent} ${serverDur} ${appMs} "-" ${q(call.userAgent)} ${q(rid)} ${q(call.authority)} "${server.ip}:${port}" ${inboundCluster} 127.0.0.6:${pc} ${server.ip}:${port} ${client.ip}:${pb} ${downstreamSni} default`);
      }
    }
    if (viaSidecar && svc) {
      const clientDur = ms(respAtClient - t0);
      const ust = ms(respAtClient - tB);
      this.log(client, t0, `[${iso(t0)}] ${reqLine} ${status} - via_upstream - "-" ${bytesIn} ${bytesSent} ${clientDur} ${ust} "-" ${q(call.userAgent)} ${q(rid)} ${q(call.authority)} "${server.ip}:${port}" outbound|${svcPort}||${fqdn} ${client.ip}:${pb} ${svc.clusterIP}:${svcPort} ${client.ip}:${pa} - default`);
    }
  }

  /** The headers the client app sends (the request id only once a previous hop set it). */
  private static appHeaders(call: HttpCall, rid: string, propagated: boolean): Array<[string, string]> {
    return [['Host', call.authority], ['User-Agent', call.userAgent], ['Accept', '*/*'], ...(propagated ? [['x-request-id', rid] as [string, string]] : []), ...(call.headers ?? [])];
  }

  /** Leg A: the app → its own sidecar (port 15001, captured on lo), the sidecar's answer after `responseDelayUs`. */
  private appLeg(client: PodDef, pa: number, t0: number, loLat: number, req: Buffer, resp: Buffer, responseDelayUs: number): void {
    this.frame(
      // a gateway has no app in its pod: its downstream is the outside world, not a local leg
      this.packets.has(client.name) && !client.gateway ? [{ netns: client.name, iface: BundleBuilder.LO, local: 'client' }] : [],
      { ip: client.ip, port: pa },
      { ip: '127.0.0.1', port: 15001 },
      t0,
      loLat,
      [
        { from: 'client', data: req },
        { from: 'server', data: resp, delayUs: responseDelayUs },
        { from: 'client', fin: true },
        { from: 'server', fin: true },
      ],
    );
  }

  /**
   * A request whose connection the network dropped (NetworkPolicy at the destination's node): the
   * client's SYN and its retransmissions (Linux backoff 1 s, 2 s, 4 s) until Envoy's 10 s connect
   * timeout, seen only where the client was captured; the client sidecar answers its app 503 UF.
   * Nothing reaches the server pod, its capture or its sidecar's log.
   */
  private httpDropped(call: HttpCall, t0: number, client: PodDef, server: PodDef, port: number, svc: ServiceDef | null, svcPort: number, pa: number, pb: number, rid: string, propagated: boolean): void {
    const viaSidecar = client.sidecar && !call.impersonate && !call.direct;
    const connectTimeoutUs = 10_000_000;
    const loLat = 15;
    const tB = t0 + (viaSidecar ? 3 * loLat + 250 : 0);
    const legs = this.netnsLegs(client, server).filter((l) => l.netns === client.name);
    this.frame(legs, { ip: client.ip, port: pb }, { ip: server.ip, port }, tB, 40, [], [1_000_000, 3_000_000, 7_000_000]);
    if (!viaSidecar || !svc) return;
    const fqdn = `${svc.name}.${svc.namespace}.svc.cluster.local`;
    const body = 'upstream connect error or disconnect/reset before headers. reset reason: connection timeout';
    const endUs = tB + connectTimeoutUs;
    const appHeaders = BundleBuilder.appHeaders(call, rid, propagated);
    const resp = response(503, [['content-length', String(body.length)], ['content-type', 'text/plain'], ['date', httpDate(endUs)], ['server', 'envoy']], body, 'Service Unavailable');
    this.appLeg(client, pa, t0, loLat, request(call.method, call.path, appHeaders, call.body ?? ''), resp, endUs - t0);
    const q = (v: string | undefined): string => `"${v ?? '-'}"`;
    const dur = Math.round((endUs - t0) / 1000);
    this.log(client, t0, `[${iso(t0)}] "${call.method} ${call.path} HTTP/1.1" 503 UF upstream_reset_before_response_started{connection_timeout} - "-" ${Buffer.byteLength(call.body ?? '')} ${body.length} ${dur} - "-" ${q(call.userAgent)} ${q(rid)} ${q(call.authority)} "${server.ip}:${port}" outbound|${svcPort}||${fqdn} - ${svc.clusterIP}:${svcPort} ${client.ip}:${pa} - default`);
  }

  async tcp(call: TcpCall): Promise<void> {
    const t0 = this.stageStartUs(call.stage) + call.at * 1000;
    const client = this.pod(call.from);
    const { server, port, svc, svcPort } = this.resolve(call.to);
    const fqdn = svc ? `${svc.name}.${svc.namespace}.svc.cluster.local` : null;
    const mtls = client.sidecar && svc !== null; // pod-IP traffic goes out through PassthroughCluster in plaintext
    const sni = fqdn ? `outbound_.${svcPort}_._.${fqdn}` : null;
    const lat = client.node === server.node ? 40 : 180;
    const loLat = 15;
    const pa = this.ephemeral(client.ip);
    const pb = this.ephemeral(client.ip);
    const pc = this.ephemeral('127.0.0.6');
    const data = Buffer.from(call.send);
    const denied = 'rbac' in call.outcome;
    const reply = denied ? null : Buffer.from((call.outcome as { reply: string }).reply);
    const replyWorkUs = 2 * loLat + 450;

    // leg B: client sidecar (or the bare client) → server pod
    const legB = this.netnsLegs(client.sidecar ? client : null, server);
    const tB = t0 + (client.sidecar ? 3 * loLat + 60 : 0);
    let segsB: Segment[];
    let dataIdx: number;
    let answerIdx: number;
    if (mtls) {
      const steps: AppStep[] = [
        { send: 'client', data: metadataExchange(client) },
        { send: 'server', data: metadataExchange(server) },
        { send: 'client', data },
      ];
      if (denied) steps.push({ abort: 'server' });
      else steps.push({ send: 'server', data: reply! }, { end: 'client' });
      const sess = await this.istioTcpSession(client, server, sni!, steps);
      segsB = BundleBuilder.toSegments(sess.wire);
      dataIdx = sess.wire.findIndex((c) => c.step === 2 && c.from === 'client');
      answerIdx = sess.wire.findIndex((c) => c.step === 3 && c.from === 'server');
    } else {
      segsB = denied
        ? [{ from: 'client', data }, { from: 'server', fin: true }, { from: 'client', fin: true }]
        : [{ from: 'client', data }, { from: 'server', data: reply! }, { from: 'client', fin: true }, { from: 'server', fin: true }];
      dataIdx = 0;
      answerIdx = 1;
    }
    segsB[answerIdx] = { ...segsB[answerIdx]!, delayUs: denied ? 60 : replyWorkUs };
    const timesB = this.frame(legB, { ip: client.ip, port: pb }, { ip: server.ip, port }, tB, lat, segsB);
    const acceptAtServer = timesB[0]! + lat;
    const dataAtServer = timesB[dataIdx]! + lat;
    const answerAtServer = timesB[answerIdx]!;

    // leg C: tcp_proxy connects upstream as soon as the downstream connection is accepted; RBAC acts on data.
    const tC = acceptAtServer + 50;
    const afterHs = tC + 3 * loLat;
    this.frame(
      this.packets.has(server.name) ? [{ netns: server.name, iface: BundleBuilder.LO, local: 'server' }] : [],
      { ip: '127.0.0.6', port: pc },
      { ip: server.ip, port },
      tC,
      loLat,
      denied
        ? [{ from: 'client', fin: true, delayUs: Math.max(0, answerAtServer + 20 - afterHs) }, { from: 'server', fin: true }]
        : [
            { from: 'client', data, delayUs: Math.max(0, dataAtServer + 30 - afterHs) },
            { from: 'server', data: reply!, delayUs: 200 },
            { from: 'client', fin: true, delayUs: 300 },
            { from: 'server', fin: true },
          ],
    );
    // leg A: the app's connection to its own sidecar
    if (client.sidecar) {
      const reqA = t0 + 3 * loLat;
      this.frame(
        this.packets.has(client.name) ? [{ netns: client.name, iface: BundleBuilder.LO, local: 'client' }] : [],
        { ip: client.ip, port: pa },
        { ip: '127.0.0.1', port: 15001 },
        t0,
        loLat,
        denied
          ? [{ from: 'client', data }, { from: 'server', fin: true, delayUs: Math.max(0, answerAtServer + lat + 40 - reqA - loLat) }, { from: 'client', fin: true }]
          : [
              { from: 'client', data },
              { from: 'server', data: reply!, delayUs: Math.max(0, answerAtServer + lat + 40 - reqA - loLat) },
              { from: 'client', fin: true },
              { from: 'server', fin: true },
            ],
      );
    }

    const ms = (us: number): number => Math.max(0, Math.round(us / 1000));
    const endAtServer = timesB[timesB.length - 1]!;
    const dsni = mtls ? sni! : '-';
    const cluster = svc ? `inbound|${port}||` : 'InboundPassthroughClusterIpv4';
    if (server.sidecar) {
      const details = denied ? `rbac_access_denied_matched_policy[${(call.outcome as { rbac: string }).rbac}]` : '-';
      this.log(server, acceptAtServer, `[${iso(acceptAtServer)}] "- - -" 0 - - ${details} "-" ${data.length} ${reply?.length ?? 0} ${ms(endAtServer - acceptAtServer)} - "-" "-" "-" "-" "${server.ip}:${port}" ${cluster} 127.0.0.6:${pc} ${server.ip}:${port} ${client.ip}:${pb} ${dsni} -`);
    }
    if (client.sidecar) {
      const upCluster = svc ? `outbound|${svcPort}||${fqdn}` : 'PassthroughCluster';
      const dst = svc ? `${svc.clusterIP}:${svcPort}` : `${server.ip}:${port}`;
      this.log(client, t0, `[${iso(t0)}] "- - -" 0 - - - "-" ${data.length} ${reply?.length ?? 0} ${ms(endAtServer + lat - t0)} - "-" "-" "-" "-" "${server.ip}:${port}" ${upCluster} ${client.ip}:${pb} ${dst} ${client.ip}:${pa} - -`);
    }
  }

  /**
   * What the stage's policies make the two sidecars do, by the project's compiler: the client's outbound cluster
   * (DestinationRule TLS, auto mTLS) and the server port's mTLS mode (PeerAuthentication).
   */
  private halves(stageId: string, client: PodDef, server: PodDef, svc: ServiceDef, svcPort: number, port: number): { sends: 'mtls' | 'plaintext'; serverMode: string } {
    const st = this.sc.stages.find((x) => x.id === stageId)!;
    const objects = parseK8sObjects(st.objects.map((o) => stringify(o)).join('---\n'), `${stageId}/policies.yaml`).objects;
    const version = '1.19';
    const services = servicesFromObjects(parseK8sObjects(JSON.stringify(this.inventory()), 'inventory.json').objects);
    const pas = parsePolicies(objects, features(parseIstioVersion(version)), client.namespace).peerAuthentications;
    const out = compileOutbound(objects, pas, { namespace: client.namespace, labels: this.labels(client) }, services, { istioVersion: version, ...(this.sc.mesh?.enableAutoMtls !== undefined ? { enableAutoMtls: this.sc.mesh.enableAutoMtls } : {}) });
    const fqdn = `${svc.name}.${svc.namespace}.svc.cluster.local`;
    const c = out.tls.find((t) => t.cluster === `outbound|${svcPort}||${fqdn}`);
    if (!c) throw new Error(`scenario ${this.sc.name}: no outbound cluster for ${fqdn}:${svcPort}`);
    const sends = c.mode === 'istio-mutual' || (c.mode === 'auto-mtls' && server.sidecar) ? 'mtls' : c.mode === 'plaintext' ? 'plaintext' : null;
    if (!sends) throw new Error(`scenario ${this.sc.name}: the sample does not model ${c.mode} clusters`);
    const w = this.workload(server);
    const compiled = compileForWorkload(objects, { namespace: server.namespace, name: server.name, labels: w.labels, ports: w.ports.map((p) => ({ port: p.port, protocol: p.protocol.toLowerCase() })) }, { istioVersion: version, services: [] });
    const serverMode = compiled.mtls.ports.find((p) => p.port === port)?.mode ?? compiled.mtls.workload;
    return { sends, serverMode };
  }

  async mysql(call: MysqlCall): Promise<void> {
    const t0 = this.stageStartUs(call.stage) + call.at * 1000;
    const client = this.pod(call.from);
    const { server, port, svc, svcPort } = this.resolve(call.to);
    if (!svc || !client.sidecar || !server.sidecar) throw new Error(`scenario ${this.sc.name}: mysql calls go between two sidecars through a Service`);
    const fqdn = `${svc.name}.${svc.namespace}.svc.cluster.local`;
    const sni = `outbound_.${svcPort}_._.${fqdn}`;
    const { sends, serverMode } = this.halves(call.stage, client, server, svc, svcPort, port);
    const nr = sends === 'plaintext' && serverMode === 'STRICT';
    if ((call.outcome === 'noFilterChain') !== nr) throw new Error(`scenario ${this.sc.name}: stage ${call.stage} declares ${call.outcome} but the compiled sidecars give ${nr ? 'noFilterChain' : 'ok'} (client sends ${sends}, server port ${serverMode})`);
    const lat = client.node === server.node ? 40 : 180;
    const loLat = 15;
    const pa = this.ephemeral(client.ip);
    const pb = this.ephemeral(client.ip);
    const pc = this.ephemeral('127.0.0.6');
    const session = mysqlConversation({
      serverVersion: '5.5.5-10.11.6-MariaDB-1:10.11.6+maria~ubu2204',
      connectionId: this.prng.int(30, 900),
      salt: Buffer.from(Array.from(this.prng.bytes(20), (b) => 0x21 + (b % 94))),
      user: call.user,
      password: call.password,
      database: call.database,
      queries: call.queries,
    });
    const side = (d: 'c2s' | 's2c'): 'client' | 'server' => (d === 'c2s' ? 'client' : 'server');
    const rx = session.filter((m) => m.dir === 'c2s').reduce((n, m) => n + m.bytes.length, 0);
    const tx = session.filter((m) => m.dir === 's2c').reduce((n, m) => n + m.bytes.length, 0);
    // PERMISSIVE/STRICT inbound: the TLS inspector waits for the client's first bytes; MySQL's client sends none
    // before the greeting, so a plaintext connection waits out the protocol detection timeout
    const detectUs = sends === 'plaintext' ? (this.sc.mesh?.protocolDetectionTimeoutMs ?? 0) * 1000 : 0;
    const appUs = 3 * loLat + 180; // the server sidecar connects to the app, which greets

    const legB = this.nodeLegs(client, server);
    const tB = t0 + 3 * loLat + 60;
    let segs: Segment[];
    let greetIdx = 0;
    if (nr) {
      segs = [{ from: 'server', fin: true, delayUs: detectUs }, { from: 'client', fin: true }];
    } else if (sends === 'plaintext') {
      segs = session.map((m): Segment => ({ from: side(m.dir), data: Buffer.from(m.bytes) }));
      segs[0] = { ...segs[0]!, delayUs: detectUs + appUs };
      segs.push({ from: 'client', fin: true }, { from: 'server', fin: true });
    } else {
      const steps: AppStep[] = [
        { send: 'client', data: metadataExchange(client) },
        { send: 'server', data: metadataExchange(server) },
        ...session.map((m): AppStep => ({ send: side(m.dir), data: Buffer.from(m.bytes) })),
        { end: 'client' },
      ];
      const sess = await this.istioTcpSession(client, server, sni, steps);
      segs = BundleBuilder.toSegments(sess.wire);
      greetIdx = sess.wire.findIndex((c) => c.step === 2 && c.from === 'server');
      segs[greetIdx] = { ...segs[greetIdx]!, delayUs: appUs };
    }
    const timesB = this.frame(legB, { ip: client.ip, port: pb }, { ip: server.ip, port }, tB, lat, segs);
    const acceptAtServer = timesB[0]! + lat;
    const endB = timesB[timesB.length - 1]! + lat;
    const ms = (us: number): number => Math.max(0, Math.round(us / 1000));
    const upCluster = `outbound|${svcPort}||${fqdn}`;
    if (nr) {
      const at = acceptAtServer + detectUs;
      this.log(server, at, `[${iso(at)}] "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" - - ${server.ip}:${port} ${client.ip}:${pb} - -`);
      this.log(client, t0, `[${iso(t0)}] "- - -" 0 - - - "-" 0 0 ${ms(endB - t0)} - "-" "-" "-" "-" "${server.ip}:${port}" ${upCluster} ${client.ip}:${pb} ${svc.clusterIP}:${svcPort} ${client.ip}:${pa} - -`);
      return;
    }
    this.log(server, acceptAtServer, `[${iso(acceptAtServer)}] "- - -" 0 - - - "-" ${rx} ${tx} ${ms(endB - acceptAtServer)} - "-" "-" "-" "-" "${server.ip}:${port}" inbound|${port}|| 127.0.0.6:${pc} ${server.ip}:${port} ${client.ip}:${pb} ${sends === 'mtls' ? sni : '-'} -`);
    this.log(client, t0, `[${iso(t0)}] "- - -" 0 - - - "-" ${rx} ${tx} ${ms(endB - t0)} - "-" "-" "-" "-" "${server.ip}:${port}" ${upCluster} ${client.ip}:${pb} ${svc.clusterIP}:${svcPort} ${client.ip}:${pa} - -`);
  }

  /** Writes logs, captures, inventory, dumps and stage policies into `files`. */
  async build(render: RenderDump): Promise<void> {
    for (const c of [...this.sc.calls].sort((a, b) => this.stageStartUs(a.stage) + a.at * 1000 - (this.stageStartUs(b.stage) + b.at * 1000))) {
      if (c.kind === 'http') await this.http(c);
      else if (c.kind === 'mysql') await this.mysql(c);
      else await this.tcp(c);
    }
    const short = (p: PodDef): string => `${p.name}.${p.namespace}`;
    for (const [name, lines] of this.logs) {
      const p = this.pod(name);
      lines.sort((a, b) => a.us - b.us);
      this.files.set(`logs/${short(p)}.istio-proxy.log`, Buffer.from(this.startupLines(p).join('') + lines.map((l) => l.text + '\n').join('')));
    }
    for (const [name, pk] of this.packets) {
      if (name.startsWith('node:')) continue;
      this.files.set(`captures/${short(this.pod(name))}.pcap`, writePcap(pk));
    }
    for (const n of this.sc.nodeCaptures ?? []) this.files.set(`captures/${n.file}`, writePcap(this.packets.get(`node:${n.node}`)!, 262144, LINKTYPE.EN10MB));
    const outbound: OutboundRender | undefined = this.sc.outbound
      ? { services: servicesFromObjects(parseK8sObjects(JSON.stringify(this.inventory()), 'inventory.json').objects), ...(this.sc.mesh?.enableAutoMtls !== undefined ? { enableAutoMtls: this.sc.mesh.enableAutoMtls } : {}), ...(this.sc.mesh?.protocolDetectionTimeoutMs !== undefined ? { protocolDetectionTimeoutMs: this.sc.mesh.protocolDetectionTimeoutMs } : {}) }
      : undefined;

    // dumps: final state at the top, earlier states under stages/
    const last = this.sc.stages[this.sc.stages.length - 1]!;
    this.sc.stages.forEach((st, i) => {
      const dir = `stages/${String(i).padStart(2, '0')}-${st.id}`;
      if (st.applied) this.files.set(`${dir}/applied.yaml`, Buffer.from(st.applied));
      if (st.network?.length) {
        const np = Buffer.from(st.network.map((o) => stringify(o)).join('---\n'));
        this.files.set(`${dir}/networkpolicies.yaml`, np);
        if (st === last) this.files.set('networkpolicies.yaml', np);
      }
      const policyYaml = st.objects.map((o) => stringify(o)).join('---\n');
      if (policyYaml) {
        this.files.set(`${dir}/policies.yaml`, Buffer.from(policyYaml));
        if (st === last) this.files.set('policies.yaml', Buffer.from(policyYaml));
      }
      for (const name of this.sc.dumps ?? this.sc.sidecars) {
        const p = this.pod(name);
        const dump = render(policyYaml, `${dir}/policies.yaml`, this.workload(p), {
          lastUpdated: st.start,
          version: `${st.start.replace(/\.\d+Z$/, 'Z')}/${i + 1}`,
          certPem: this.leaf(p).certPem,
          rootPem: this.rec.ca.certPem,
          ...(outbound ? { outbound } : {}),
        });
        const text = Buffer.from(JSON.stringify(dump, null, 1) + '\n');
        if (st === last) this.files.set(`config_dumps/${short(p)}.json`, text);
        else this.files.set(`${dir}/config_dumps/${short(p)}.json`, text);
      }
    });
    this.files.set('inventory.json', Buffer.from(JSON.stringify(this.inventory(), null, 2) + '\n'));
    for (const [rel, text] of Object.entries(this.sc.extraFiles ?? {})) this.files.set(rel, Buffer.from(text));
  }

  /** pilot-agent's first lines in `kubectl logs <pod> -c istio-proxy`, before the access-log lines. */
  private startupLines(p: PodDef): string[] {
    const t0 = Date.parse(this.sc.stages[0]!.start.replace(/T.*/, 'T08:00:00Z')) * 1000 + this.prng.int(1_000_000, 9_000_000);
    const ts = (us: number): string => new Date(Math.floor(us / 1000)).toISOString().replace(/\.(\d{3})Z$/, `.$1${String(us % 1000).padStart(3, '0')}Z`);
    const steps = [0, 2_113, 180_402, 612_877, 1_403_116];
    return [
      `info\tFLAG: --concurrency="2"`,
      `info\tVersion 1.19.3-bbd7fe2c5cd5d1e7f2b7a8ad9ae0b1ae9e0b1b49-Clean`,
      `info\tProxy role\tips=[${p.ip}] type=sidecar id=${p.name}.${p.namespace} domain=${p.namespace}.svc.cluster.local`,
      `info\txdsproxy\tconnected to upstream XDS server: istiod.istio-system.svc:15012`,
      `info\tEnvoy proxy is ready`,
    ].map((l, i) => `${ts(t0 + steps[i]!)}\t${l}\n`);
  }

  inventory(): JsonValue {
    const items: JsonValue[] = [];
    const uid = (k: string): string => {
      const h = createHash('sha256').update(`${this.sc.seed}/${k}`).digest('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
    };
    const created = this.sc.stages[0]!.start.replace(/T.*/, 'T08:00:00Z');
    const sas = new Set<string>();
    for (const p of this.sc.pods) {
      sas.add(`${p.namespace}/${p.serviceAccount}`);
      const containers: JsonValue[] = [{ name: p.gateway ? 'istio-proxy' : p.app, image: p.image, ports: p.containerPorts.map((cp) => ({ containerPort: cp, protocol: 'TCP' })) }];
      if (p.sidecar && !p.gateway) containers.push({ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.19.3', ports: [{ containerPort: 15090, name: 'http-envoy-prom', protocol: 'TCP' }] });
      items.push({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: p.name,
          namespace: p.namespace,
          uid: uid(`pod/${p.namespace}/${p.name}`),
          labels: this.labels(p),
          ...(p.sidecar && !p.gateway ? { annotations: { 'sidecar.istio.io/status': '{"initContainers":["istio-init"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert"],"imagePullSecrets":null,"revision":"default"}' } } : {}),
          creationTimestamp: created,
        },
        spec: { serviceAccountName: p.serviceAccount, serviceAccount: p.serviceAccount, nodeName: p.node, containers },
        status: { phase: 'Running', hostIP: p.hostIP, podIP: p.ip, podIPs: [{ ip: p.ip }] },
      });
    }
    for (const s of this.sc.services)
      items.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: s.name, namespace: s.namespace, uid: uid(`svc/${s.namespace}/${s.name}`), labels: { app: s.app, service: s.name }, creationTimestamp: created },
        spec: {
          clusterIP: s.clusterIP,
          clusterIPs: [s.clusterIP],
          ports: s.ports.map((p) => ({ name: p.name, port: p.port, protocol: 'TCP', targetPort: p.targetPort })),
          selector: { app: s.app },
          type: 'ClusterIP',
        },
      });
    for (const k of [...sas].sort()) {
      const [ns, name] = k.split('/');
      items.push({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: name!, namespace: ns!, uid: uid(`sa/${k}`), creationTimestamp: created } });
    }
    return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
  }
}

