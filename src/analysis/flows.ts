/**
 * From a capture to `Flow` records with a security verdict.
 *
 * The capture reader reassembles each TCP connection and feeds it to a StreamDecoder (content
 * decides the protocol); this module turns the connection's bookkeeping plus the decoder's
 * StreamFacts into a Flow, and judges it:
 *
 *  - `mtls`: a non-empty client Certificate in a TLS ≤ 1.2 handshake (`client-certificate`), or —
 *    where certificates cannot be seen (TLS 1.3, resumed sessions, a handshake cut short) — the
 *    ClientHello of an Istio sidecar: ALPN `istio*` (`istio-alpn`) and/or SNI `outbound_.*`
 *    (`istio-sni`). Those verdicts are `inferred: true`.
 *  - `tls`: TLS without proof of a client certificate: one-way (`no-certificate-request`), a
 *    declined request (`client-certificate-empty`: an empty Certificate is not mTLS), or
 *    undetermined (`tls13-certificates-encrypted`, `session-resumed`, `handshake-incomplete`,
 *    `client-hello-not-seen`).
 *  - `plaintext`: application bytes in cleartext (`cleartext-http` for HTTP/1.x and h2c,
 *    `cleartext-tcp` for anything else).
 *  - `unknown`: nothing to judge (`no-payload`) or the payload was not captured
 *    (`payload-not-captured`, snap length).
 */
import type { Diagnostic } from '../model/errors.js';
import type { Flow, FlowConfigCheck, FlowSecurity, FlowTls, FlowTunnel, TunnelLayer } from '../model/records.js';
import type { StreamDecoder, StreamFacts } from '../protocols/stream.js';
import {
  newCaptureStats,
  readTcpSegments,
  TcpTable,
  type CaptureSource,
  type CaptureStats,
  type Encapsulation,
  type TcpConnection,
  type TcpSegment,
} from '../readers/capture/index.js';
import { isIstioAlpn, isLoopbackInterfaceName, parseIstioSni, sidecarLocalReason } from '../istio/traffic.js';
import { hboneEvidence, isAmbientKubeletProbe } from '../ztunnel/hbone.js';

export interface Verdict {
  security: FlowSecurity;
  evidence: string[];
  /** True when the verdict rests on Istio's ClientHello conventions, not on a seen certificate. */
  inferred: boolean;
  notes: string[];
}

function isTls13(v: string | null): boolean {
  return v !== null && /1\.3/.test(v);
}

function isTls12OrOlder(v: string | null): boolean {
  // (TLS 1.0 is named `TLSv1`)
  return v !== null && /^(TLSv1(\.[0-2])?|SSLv[23])$/.test(v);
}

/** Istio client markers in a ClientHello. */
export function istioMarkers(tls: FlowTls): string[] {
  const ev: string[] = [];
  if (tls.alpn.some(isIstioAlpn)) ev.push('istio-alpn');
  if (parseIstioSni(tls.sni)?.direction === 'outbound') ev.push('istio-sni');
  return ev;
}

/** Connection facts the verdict needs beyond the decoder's. */
export interface ConnFacts {
  /** Payload bytes on the wire, per direction. */
  wire: { c2s: number; s2c: number };
  /** Payload bytes the snap length cut, per direction. */
  notCaptured: { c2s: number; s2c: number };
  /** Bytes missing from the capture (lost segments, capture start or end). */
  lost: { c2s: number; s2c: number };
  midStream: boolean;
  /** The server's port (HBONE is recognised on 15008). */
  serverPort?: number;
}

/** The security verdict for one flow. Pure: facts in, verdict out. */
export function judge(facts: StreamFacts, conn: ConnFacts): Verdict {
  const notes: string[] = [];
  const tls = facts.tls;
  const wire = conn.wire.c2s + conn.wire.s2c;
  const notCaptured = conn.notCaptured.c2s + conn.notCaptured.s2c;
  if (tls) {
    const clientHelloSeen = tls.sni !== null || tls.alpn.length > 0 || tls.resumptionOffered !== undefined || tls.frames?.clientHello !== undefined;
    const serverHelloSeen = tls.version !== null;
    // A ClientHello answered in cleartext (TLS to a plaintext server).
    if (!serverHelloSeen && facts.cleartext) {
      return { security: 'plaintext', evidence: [...cleartextEvidence(facts), 'tls-to-plaintext-server'], inferred: false, notes: ['the client spoke TLS, the server answered in cleartext'] };
    }
    // clientCertificateSent: true = a Certificate message with a non-empty certificate list (its
    // header is enough: the snap length may have cut the certificates themselves), false = empty.
    if (tls.clientCertificateSent === true) {
      if ((tls.clientChain?.length ?? 0) === 0 && notCaptured > 0) {
        notes.push('the client Certificate message declares a non-empty certificate list; the certificates themselves were not captured (snap length)');
        return { security: 'mtls', evidence: ['client-certificate', 'payload-not-captured'], inferred: false, notes };
      }
      return { security: 'mtls', evidence: ['client-certificate'], inferred: false, notes };
    }
    if (tls.clientCertificateSent === false && tls.clientCertificateRequested !== false) {
      return { security: 'tls', evidence: ['client-certificate-empty'], inferred: false, notes: ['the server requested a client certificate and the client sent an empty Certificate: not mutual TLS'] };
    }
    const istio = istioMarkers(tls);
    const tls12Full = isTls12OrOlder(tls.version) && tls.resumed !== true;
    // (TLS 1.3: known only when the encrypted server flight was decrypted with a key log)
    if ((tls12Full || isTls13(tls.version)) && tls.clientCertificateRequested === false) {
      // The server's flight was seen without a CertificateRequest: one-way, whatever the ClientHello says.
      if (istio.length) notes.push(`Istio client markers (${istio.join(', ')}) but the server did not request a client certificate`);
      return { security: 'tls', evidence: ['no-certificate-request'], inferred: false, notes };
    }
    const why: string[] = [];
    if (isTls13(tls.version)) why.push('tls13-certificates-encrypted');
    else if (tls.resumed === true) why.push('session-resumed');
    else if (tls12Full && tls.clientCertificateRequested === true) why.push('certificate-request', 'handshake-incomplete');
    else if (!serverHelloSeen) why.push('handshake-incomplete');
    else why.push('handshake-incomplete');
    if (!clientHelloSeen) why.push('client-hello-not-seen');
    if (notCaptured > 0) why.push('payload-not-captured');
    if (istio.length) {
      notes.push('mTLS inferred from the Istio sidecar ClientHello; the client certificate itself is not visible');
      return { security: 'mtls', evidence: [...istio, ...why], inferred: true, notes };
    }
    const hbone = conn.serverPort !== undefined ? hboneEvidence(tls, conn.serverPort) : null;
    if (hbone) {
      notes.push('Istio ambient HBONE (TLS 1.3 to 15008, ALPN h2, no SNI): mTLS inferred; the peer identities are encrypted, see the ztunnel access log (dst.hbone_addr) for them');
      return { security: 'mtls', evidence: [...hbone, ...why], inferred: true, notes };
    }
    return { security: 'tls', evidence: why, inferred: false, notes };
  }
  if (facts.cleartext) {
    return { security: 'plaintext', evidence: cleartextEvidence(facts), inferred: false, notes };
  }
  if (wire === 0) return { security: 'unknown', evidence: ['no-payload'], inferred: false, notes };
  if (notCaptured > 0) {
    notes.push(`${notCaptured} payload bytes were not captured (snap length)`);
    return { security: 'unknown', evidence: ['payload-not-captured'], inferred: false, notes };
  }
  return { security: 'unknown', evidence: ['payload-not-decoded'], inferred: false, notes };
}

function cleartextEvidence(facts: StreamFacts): string[] {
  if (facts.protocol === 'h2c' || facts.protocol.startsWith('http/') || facts.http.length > 0) return ['cleartext-http'];
  return ['cleartext-tcp'];
}

/** RFC 3339 UTC with the capture's precision (6 digits for µs, 9 for ns). */
export function rfc3339(sec: number, nsec: number, precision: number): string {
  const base = new Date(sec * 1000).toISOString().slice(0, 19);
  if (precision <= 0) return `${base}Z`;
  return `${base}.${String(nsec).padStart(9, '0').slice(0, Math.min(9, precision))}Z`;
}

/** The flow's encapsulation, oriented so that each layer's outer.src is the client's side. */
export function flowTunnel(e: Encapsulation, fromClient: boolean): FlowTunnel {
  const layers: TunnelLayer[] = e.tunnels.map((t) => {
    const outer = fromClient
      ? { ...t.outer }
      : {
          src: t.outer.dst,
          dst: t.outer.src,
          ...(t.outer.dstPort !== undefined ? { srcPort: t.outer.dstPort } : {}),
          ...(t.outer.srcPort !== undefined ? { dstPort: t.outer.srcPort } : {}),
        };
    return { ...t, outer };
  });
  return { ...layers[layers.length - 1]!, layers };
}

/** A short name for one capture path: "vxlan 4096 (10.0.0.1-10.0.0.2)", "eth0", "if 3". */
function pathName(encap: Encapsulation | null, view: number, ifaces: InterfaceNames): string {
  const iface = Math.floor(view / 65536) % 65536;
  const ifIndex = view % 65536;
  const where = ifaces.names[iface] ?? (ifIndex ? `ifindex ${ifIndex}` : `interface ${iface}`);
  if (!encap) return where;
  const t = encap.tunnels.map((l) => `${l.kind}${l.vni !== undefined ? ` ${l.vni}` : l.key !== undefined ? ` key ${l.key}` : l.session !== undefined ? ` session ${l.session}` : ''} (${l.outer.src}-${l.outer.dst})`);
  return `${t.join(' in ')} on ${where}`;
}

export interface InterfaceNames {
  /** pcapng interface names by file-level interface index. */
  names: (string | undefined)[];
}

/** Builds the Flow record of one finished connection. */
export function buildFlow(conn: TcpConnection, file: string, ifaces: InterfaceNames = { names: [] }): Flow {
  const facts = conn.facts();
  const wire = { c2s: conn.c2s.wireBytes, s2c: conn.s2c.wireBytes };
  const v = judge(facts, {
    wire,
    notCaptured: { c2s: conn.c2s.notCaptured, s2c: conn.s2c.notCaptured },
    lost: { c2s: conn.c2s.lost, s2c: conn.s2c.lost },
    midStream: !conn.synSeen,
    serverPort: conn.server.port,
  });
  const names = [...conn.ifaces].map((i) => ifaces.names[i]).filter((n): n is string => !!n);
  const loopbackIface = conn.loopback || names.some(isLoopbackInterfaceName);
  const sidecar = sidecarLocalReason({ client: conn.client, server: conn.server, loopbackInterface: loopbackIface, tls: facts.tls !== null });
  const notes = [...v.notes, ...facts.notes, ...conn.notes];
  if (sidecar) notes.push(`sidecar-local: ${sidecar}`);
  if (isAmbientKubeletProbe(conn.client.ip)) notes.push('ambient kubelet probe (source 169.254.7.127): bypasses ztunnel by design, not a mesh bypass');
  if (conn.directionGuessed) notes.push('no SYN seen (capture started mid-stream): client and server were guessed');
  if (conn.truncatedPackets) notes.push(`${conn.truncatedPackets} packets cut by the snap length`);
  const lost = conn.c2s.lost + conn.s2c.lost;
  if (lost) notes.push(`${lost} bytes missing from the capture (lost segments)`);
  if (conn.framesDropped) notes.push(`frames: only the first ${conn.frames.length} of ${conn.packets} listed`);
  const flow: Flow = {
    id: `${file}#${conn.id}`,
    file,
    stream: conn.id,
    client: { ...conn.client },
    server: { ...conn.server },
    start: rfc3339(conn.startSec, conn.startNsec, conn.precision),
    end: rfc3339(conn.endSec, conn.endNsec, conn.precision),
    startMs: conn.startMs,
    endMs: conn.endMs,
    packets: conn.packets,
    bytes: { clientToServer: wire.c2s, serverToClient: wire.s2c },
    duration: Number(((conn.endMs - conn.startMs) / 1000).toFixed(Math.min(9, Math.max(0, conn.precision)))),
    connState: conn.zeek.connState(wire.c2s, wire.s2c),
    frames: conn.frames,
    security: v.security,
    // TLS after a cleartext step: the preamble (STARTTLS, SSLRequest, CONNECT, ...) is evidence, not the verdict
    // …and so is decryption with a key log (what made the encrypted handshake and content visible)
    evidence: [...v.evidence, ...(facts.upgrade ? [facts.upgrade.kind] : []), ...(facts.tls?.decryption?.status === 'decrypted' ? ['decrypted'] : [])],
    inferred: v.inferred,
    tls: facts.tls,
    protocol: facts.protocol,
    http: facts.http,
    ...(facts.app ? { app: facts.app } : {}),
    sidecarLocal: sidecar !== null,
    notes,
  };
  if (names.length) flow.interface = names.join(',');
  else if (conn.loopback) flow.interface = 'loopback';
  flow.tunnel = conn.encap ? flowTunnel(conn.encap, conn.encapC2s) : null;
  if (conn.views && conn.views.size > 1) {
    flow.views = [...conn.views].map(([view, v]) => ({ path: pathName(v.encap, view, ifaces), packets: v.packets }));
    flow.duplicatePackets = conn.duplicates;
    if (conn.duplicates) notes.push(`the same packets were captured on ${conn.views.size} paths (${flow.views.map((v) => v.path).join('; ')}): ${conn.duplicates} copies folded into one flow`);
  }
  return flow;
}

export interface FlowAnalysisOptions {
  /** Creates one StreamDecoder per TCP connection. */
  decoder: () => StreamDecoder;
  onDiagnostic?: (d: Diagnostic) => void;
  /** Called after each batch with bytes and frames read so far. */
  onProgress?: (bytes: number, frames: number) => void;
  /** Passed to the TCP table. */
  maxBufferPerDirection?: number;
}

/**
 * Reads one capture and yields its flows as they complete (ended connections after a short
 * linger, the rest at the end of the capture in first-frame order). `stats` is filled as it goes.
 */
export async function* flowsFromCapture(src: CaptureSource, opts: FlowAnalysisOptions, stats: CaptureStats = newCaptureStats(src.name)): AsyncGenerator<Flow> {
  const readOpts = opts.onDiagnostic ? { onDiagnostic: opts.onDiagnostic } : {};
  yield* flowsFromSegments(src.name, readTcpSegments(src, readOpts, stats), opts, {
    interfaceNames: () => stats.reader.interfaces.map((i) => i.name),
    interfaceCount: () => stats.reader.interfaces.length,
    afterBatch: () => opts.onProgress?.(stats.reader.bytes, stats.reader.frames),
    tcp: stats.tcp,
  });
}

/** What flowsFromSegments needs of the reader that produced its segments (src/cli/capture-pipeline.ts runs them in two threads). */
export interface SegmentSourceState {
  /** pcapng interface names as the reader knows them when the last batch was yielded. */
  interfaceNames(): (string | undefined)[];
  interfaceCount(): number;
  /** Called after each batch was pushed (progress). */
  afterBatch?(): void;
  /** Filled at the end with the table's eviction counts. */
  tcp: CaptureStats['tcp'];
}

/**
 * The TCP half of flowsFromCapture: batches of segments (in capture order) → TCP table → flows, each
 * batch's ended connections handed over after it. flowsFromCapture feeds it from the reader directly; the
 * capture pipeline feeds it in a worker thread from the segments the main thread decoded, so both give the
 * same flows in the same order.
 */
export async function* flowsFromSegments(name: string, batches: AsyncIterable<TcpSegment[]>, opts: FlowAnalysisOptions, source: SegmentSourceState): AsyncGenerator<Flow> {
  const done: TcpConnection[] = [];
  const table = new TcpTable({
    decoder: opts.decoder,
    onClose: (c) => done.push(c),
    releaseDecoders: true,
    ...(opts.maxBufferPerDirection !== undefined ? { maxBufferPerDirection: opts.maxBufferPerDirection } : {}),
  });
  const ifaces: InterfaceNames = { names: [] };
  const syncNames = () => {
    if (ifaces.names.length !== source.interfaceCount()) ifaces.names = source.interfaceNames();
  };
  for await (const batch of batches) {
    for (let i = 0; i < batch.length; i++) table.push(batch[i]!);
    // Hand over connections that have ended (after the linger) at every batch, so a live
    // `tcpdump -w - | meshsleuth flows - -o ndjson` prints flows as they finish.
    table.sweep();
    source.afterBatch?.();
    if (done.length) {
      syncNames();
      for (const c of done.splice(0)) yield buildFlow(c, name, ifaces);
    }
  }
  table.finish();
  source.tcp.evictedIdle = table.evictedIdle;
  source.tcp.evictedOverCap = table.evictedOverCap;
  syncNames();
  for (const c of done.splice(0)) yield buildFlow(c, name, ifaces);
}

/** One proxy's inbound mTLS modes, as `inboundMtlsModes` (src/istio/mtls.ts) derives them from a config dump. */
export interface ProxyPorts {
  proxy: string;
  ips: string[];
  ports: { listener: string; port: number | '*'; mode: FlowConfigCheck['mode']; note: string }[];
}

/**
 * Checks a flow's verdict against the mTLS mode of its destination port. The proxy is the dump
 * whose node IPs include the server IP, else the only dump given. Sidecar-local legs are not
 * subject to the inbound mode and get no check.
 */
export function checkAgainstConfig(flow: Flow, proxies: ProxyPorts[]): FlowConfigCheck | null {
  if (flow.sidecarLocal || proxies.length === 0) return null;
  let proxy = proxies.find((p) => p.ips.includes(flow.server.ip));
  let matchedBy: FlowConfigCheck['matchedBy'] = 'server-ip';
  if (!proxy) {
    if (proxies.length !== 1) return null;
    proxy = proxies[0]!;
    matchedBy = 'only-dump';
  }
  const port = proxy.ports.find((p) => p.port === flow.server.port) ?? proxy.ports.find((p) => p.port === '*');
  if (!port) return null;
  const base = { proxy: proxy.proxy, matchedBy, listener: port.listener, port: port.port, mode: port.mode };
  const s = flow.security;
  const tlsKind = s === 'mtls' ? (flow.inferred ? 'mTLS (inferred)' : 'mTLS') : s;
  switch (port.mode) {
    case 'STRICT':
      if (s === 'mtls') return { ...base, consistent: true, note: `${tlsKind} to a STRICT port` };
      if (s === 'plaintext') return { ...base, consistent: false, note: 'plaintext to a STRICT port: the sidecar would refuse it, so this connection bypassed or preceded the sidecar (or the capture is from another proxy)' };
      if (s === 'tls' && flow.evidence.some((e) => e === 'no-certificate-request' || e === 'client-certificate-empty')) {
        return { ...base, consistent: false, note: 'one-way TLS to a STRICT port: the sidecar requires a client certificate' };
      }
      return { ...base, consistent: null, note: `${s} to a STRICT port: the capture cannot show whether a client certificate was sent` };
    case 'PERMISSIVE':
      if (s === 'plaintext') return { ...base, consistent: true, note: 'plaintext accepted by a PERMISSIVE port (allowed by the mode, but not mutually authenticated)' };
      if (s === 'mtls') return { ...base, consistent: true, note: `${tlsKind} to a PERMISSIVE port` };
      return { ...base, consistent: null, note: `${s} to a PERMISSIVE port (plaintext and mTLS both accepted)` };
    case 'DISABLE':
      if (s === 'plaintext') return { ...base, consistent: true, note: 'plaintext to a port with mTLS DISABLEd' };
      if (s === 'mtls') return { ...base, consistent: false, note: 'mTLS to a port with mTLS DISABLEd: the sidecar does not terminate it (TLS passes through to the app)' };
      return { ...base, consistent: null, note: `${s} to a port with mTLS DISABLEd (TLS passes through to the app)` };
    default:
      return { ...base, consistent: null, note: `the port's mTLS mode is not an Istio mode: ${port.note}` };
  }
}
