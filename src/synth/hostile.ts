/**
 * Generators of hostile and huge evidence (issue 19), shared by test/hostile/ (small sizes) and
 * bench/hostile.bench.ts (the issue's sizes): each builds exactly the input the issue describes, from
 * a few parameters, in memory or streamed to a file.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import protobuf from 'protobufjs';
import { buildCapture } from './capture.js';
import { tcpConversation, type Message } from './tcp.js';
import { pcapGlobalHeader } from './pcap-writer.js';

/** A pcap (microseconds, Ethernet) written record by record into one growing buffer list. */
export class RawPcap {
  private chunks: Buffer[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  bytes = 0;
  packets = 0;

  constructor(snaplen = 262144) {
    const h = pcapGlobalHeader(snaplen);
    this.push(h);
  }

  /** One record: `frame` captured, `origLen` on the wire, at `timeUs` microseconds since the epoch. */
  add(timeUs: number, frame: Buffer, origLen = frame.length): void {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(Math.floor(timeUs / 1e6), 0);
    r.writeUInt32LE(timeUs % 1e6, 4);
    r.writeUInt32LE(frame.length, 8);
    r.writeUInt32LE(origLen, 12);
    this.push(r);
    this.push(frame);
    this.packets++;
  }

  private push(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
    this.bytes += b.length;
    if (this.pendingBytes >= 1 << 20) this.flushPending();
  }

  private flushPending(): void {
    if (this.pending.length) this.chunks.push(Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }

  toBuffer(): Buffer {
    this.flushPending();
    return Buffer.concat(this.chunks);
  }
}

const ipBytes = (ip: string): number[] => ip.split('.').map(Number);

/**
 * Ethernet + IPv4 + TCP headers (54 bytes) of a segment carrying `payloadLen` bytes on the wire, followed by
 * `payload` when given (the captured part). Checksums are left zero (offloaded, as captures on the sender show).
 */
export function tcpFrame(o: { src: string; sport: number; dst: string; dport: number; seq: number; ack?: number; flags: number; payloadLen?: number; payload?: Uint8Array }): Buffer {
  const len = o.payloadLen ?? o.payload?.length ?? 0;
  const f = Buffer.alloc(54 + (o.payload?.length ?? 0));
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(40 + len, 16);
  f[22] = 64;
  f[23] = 6;
  f.set(ipBytes(o.src), 26);
  f.set(ipBytes(o.dst), 30);
  f.writeUInt16BE(o.sport, 34);
  f.writeUInt16BE(o.dport, 36);
  f.writeUInt32BE(o.seq >>> 0, 38);
  f.writeUInt32BE((o.ack ?? 0) >>> 0, 42);
  f[46] = 0x50;
  f[47] = o.flags;
  f.writeUInt16BE(65535, 48);
  if (o.payload) f.set(o.payload, 54);
  return f;
}

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** Source address of the i-th connection of a flood (10.x.y.z, distinct for i < 2^24 - 2^16). */
export function floodSource(i: number): string {
  return `10.${1 + ((i >> 16) & 0xff)}.${(i >> 8) & 0xff}.${i & 0xff}`;
}

/** `n` connections of which only the SYN was captured, from distinct addresses to 10.0.0.2:80, 0.1 ms apart. */
export function synFlood(n: number, t0Us = 1_700_000_000_000_000): Buffer {
  const w = new RawPcap();
  for (let i = 0; i < n; i++) {
    w.add(t0Us + Math.floor(i / 10), tcpFrame({ src: floodSource(i), sport: 1024 + (i % 60000), dst: '10.0.0.2', dport: 80, seq: i * 7919, flags: TCP.SYN }));
  }
  return w.toBuffer();
}

/**
 * A headers-only capture (`tcpdump -s 54`: no payload byte captured) of one connection sending `segments`
 * segments of `mss` bytes, segment `lost` (0-based) never captured, then closed with FIN both ways.
 */
export function headersOnlyWithLoss(segments: number, lost: number, mss = 1400, t0Us = 1_700_000_000_000_000): Buffer {
  const c = { src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 8080 };
  const s = { src: c.dst, sport: c.dport, dst: c.src, dport: c.sport };
  const isnC = 1000;
  const isnS = 5000;
  let t = t0Us;
  const head = new RawPcap(54);
  head.add(t++, tcpFrame({ ...c, seq: isnC, flags: TCP.SYN }));
  head.add(t++, tcpFrame({ ...s, seq: isnS, ack: isnC + 1, flags: TCP.SYN | TCP.ACK }));
  head.add(t++, tcpFrame({ ...c, seq: isnC + 1, ack: isnS + 1, flags: TCP.ACK }));
  // The data segments differ only in time and sequence number: one record template, copied and patched
  // into one buffer (building a frame object per segment took ~12 s of CPU for 1M segments).
  const sent = lost >= 0 && lost < segments ? segments - 1 : segments;
  const record = Buffer.alloc(16 + 54);
  record.writeUInt32LE(54, 8);
  record.writeUInt32LE(54 + mss, 12);
  tcpFrame({ ...c, seq: 0, ack: isnS + 1, flags: TCP.ACK | TCP.PSH, payloadLen: mss }).copy(record, 16);
  const data = Buffer.allocUnsafe(sent * record.length);
  let at = 0;
  for (let i = 0; i < segments; i++) {
    if (i === lost) continue;
    record.copy(data, at);
    const us = t++;
    data.writeUInt32LE(Math.floor(us / 1e6), at);
    data.writeUInt32LE(us % 1e6, at + 4);
    data.writeUInt32BE((isnC + 1 + i * mss) >>> 0, at + 16 + 38);
    at += record.length;
  }
  const end = isnC + 1 + segments * mss;
  const tail = new RawPcap(54);
  tail.add(t++, tcpFrame({ ...c, seq: end, ack: isnS + 1, flags: TCP.FIN | TCP.ACK }));
  tail.add(t++, tcpFrame({ ...s, seq: isnS + 1, ack: end + 1, flags: TCP.FIN | TCP.ACK }));
  tail.add(t++, tcpFrame({ ...c, seq: end + 1, ack: isnS + 2, flags: TCP.ACK }));
  return Buffer.concat([head.toBuffer(), data, tail.toBuffer().subarray(24)]);
}

/** IPv4 fragment of a whole IPv4 packet `ip`: payload bytes [off, off + len), MF as given. */
export function ipFragment(ip: Uint8Array, off: number, len: number, more: boolean): Buffer {
  const b = Buffer.from(ip);
  const ihl = (b[0]! & 15) * 4;
  const h = Buffer.from(b.subarray(0, ihl));
  const bytes = b.subarray(ihl + off, ihl + off + len);
  h.writeUInt16BE(ihl + bytes.length, 2);
  h.writeUInt16BE((more ? 0x2000 : 0) | (off / 8), 6);
  return Buffer.concat([h, bytes]);
}

/** `n` copies of one never-completed first fragment (24 payload bytes), 1 ms apart, after one complete connection. */
export function fragmentDuplicateFlood(n: number, t0Us = 1_700_000_000_000_000): Buffer {
  const w = new RawPcap();
  const c = { src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 8080 };
  const s = { src: c.dst, sport: c.dport, dst: c.src, dport: c.sport };
  const req = Buffer.from('GET /x HTTP/1.1\r\nHost: h\r\n\r\n');
  const resp = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  let t = t0Us;
  w.add(t++, tcpFrame({ ...c, seq: 1, flags: TCP.SYN }));
  w.add(t++, tcpFrame({ ...s, seq: 100, ack: 2, flags: TCP.SYN | TCP.ACK }));
  w.add(t++, tcpFrame({ ...c, seq: 2, ack: 101, flags: TCP.ACK }));
  w.add(t++, tcpFrame({ ...c, seq: 2, ack: 101, flags: TCP.ACK | TCP.PSH, payload: req }));
  w.add(t++, tcpFrame({ ...s, seq: 101, ack: 2 + req.length, flags: TCP.ACK | TCP.PSH, payload: resp }));
  w.add(t++, tcpFrame({ ...c, seq: 2 + req.length, ack: 101 + resp.length, flags: TCP.FIN | TCP.ACK }));
  w.add(t++, tcpFrame({ ...s, seq: 101 + resp.length, ack: 3 + req.length, flags: TCP.FIN | TCP.ACK }));
  w.add(t++, tcpFrame({ ...c, seq: 3 + req.length, ack: 102 + resp.length, flags: TCP.ACK }));
  const whole = tcpFrame({ src: '10.0.0.3', sport: 40001, dst: '10.0.0.2', dport: 8080, seq: 7, ack: 1, flags: TCP.ACK | TCP.PSH, payload: Buffer.alloc(1000, 0x61) });
  const ip = whole.subarray(14);
  ip.writeUInt16BE(0x4242, 4); // IP id
  const frag = Buffer.concat([whole.subarray(0, 14), ipFragment(ip, 0, 24, true)]);
  for (let i = 0; i < n; i++) w.add(t + i * 1000, frag);
  return w.toBuffer();
}

/** HTTP/2 frame (RFC 9113 §4.1). */
export function h2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId, 5);
  return Buffer.concat([h, payload]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1), first byte's high bits from `mask`. */
export function hpackInt(value: number, prefix: number, mask: number): Buffer {
  const max = (1 << prefix) - 1;
  if (value < max) return Buffer.from([mask | value]);
  const out = [mask | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

function hpackLiteralIndexed(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40]), hpackInt(name.length, 7, 0), Buffer.from(name), hpackInt(value.length, 7, 0), Buffer.from(value)]);
}

/** A header block sent as HEADERS + CONTINUATION frames of at most 16 KiB (END_STREAM on HEADERS). */
export function h2HeaderFrames(stream: number, block: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < block.length; off += 16384) {
    const last = off + 16384 >= block.length;
    parts.push(h2Frame(off === 0 ? 0x1 : 0x9, (last ? 0x4 : 0) | (off === 0 ? 0x1 : 0), stream, block.subarray(off, off + 16384)));
  }
  return Buffer.concat(parts);
}

/**
 * HPACK amplification: one h2c flow whose first header block sets a 16 MiB dynamic table holding a 16 KB
 * header, then a block of `refs` one-byte references to it (1,000,000 by default: a 1 MB capture whose headers
 * decode to 16 GB), split over CONTINUATION frames.
 */
export function hpackAmplification(refs = 1_000_000): Buffer {
  return hpackCapture([Buffer.concat([Buffer.from([0x82, 0x86, 0x84]), Buffer.alloc(refs, 0x80 | 62)])]);
}

/**
 * HPACK amplification spread over many exchanges: after the same 16 KB table entry, `blocks` header blocks on
 * new streams, each of `refs` one-byte references to it (64 fit the per-block cap: 13,000 such blocks are a
 * 1 MB capture decoding to 13 GB).
 */
export function hpackManyBlocks(blocks: number, refs = 63): Buffer {
  const block = Buffer.concat([Buffer.from([0x82, 0x86, 0x84]), Buffer.alloc(refs, 0x80 | 62)]);
  return hpackCapture(Array.from({ length: blocks }, () => block));
}

/** h2c: preface, SETTINGS (16 MiB table), a first block adding the 16 KB `x-big` entry, then `blocks` on streams 3, 5, … */
function hpackCapture(blocks: Buffer[]): Buffer {
  const settings = h2Frame(0x4, 0, 0, Buffer.from([0x00, 0x01, 0x01, 0x00, 0x00, 0x00])); // HEADER_TABLE_SIZE 16 MiB
  const first = Buffer.concat([
    hpackInt(16 * 1024 * 1024, 5, 0x20),
    Buffer.from([0x82, 0x86, 0x84]), // :method GET, :scheme http, :path /
    hpackLiteralIndexed(':authority', 'victim'),
    hpackLiteralIndexed('x-big', 'a'.repeat(16 * 1024)),
  ]);
  const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  const rest = Buffer.concat(blocks.map((b, i) => h2HeaderFrames(3 + 2 * i, b)));
  const c2s: Message[] = [{ dir: 'c2s', bytes: Buffer.concat([preface, settings, h2HeaderFrames(1, first)]), timeMs: 1_700_000_000_000 }];
  for (let off = 0, k = 0; off < rest.length; off += 64_000, k++) c2s.push({ dir: 'c2s', bytes: rest.subarray(off, off + 64_000), timeMs: 1_700_000_000_010 + k });
  const packets = tcpConversation(c2s, { client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 8080 }, startMs: 1_700_000_000_000 - 5 });
  return buildCapture([{ packets }]);
}

/** A listeners config dump of `n` listeners whose filter_chains is not a list (each a diagnostic). */
export function malformedListenersDump(n: number): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`{"name":"l${i}","active_state":{"listener":{"name":"l${i}","filter_chains":"not-a-list"}}}`);
  return `{"configs":[{"@type":"type.googleapis.com/envoy.admin.v3.ListenersConfigDump","dynamic_listeners":[${parts.join(',')}]}]}`;
}

/** `n` AuthorizationPolicy documents in one multi-document YAML file, all selecting app=details. */
export function manyPolicies(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(`apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: p${i}\n  namespace: default\nspec:\n  selector:\n    matchLabels:\n      app: details\n  action: DENY\n  rules:\n  - to:\n    - operation:\n        paths: ["/p${i}"]\n`);
  }
  return out.join('---\n');
}

/**
 * AuthorizationPolicy `i` of a rich set, all selecting app=details: three ALLOW rules with several principals,
 * namespaces, methods, paths, ports and when-conditions (request headers, source IPs, JWT claims), as large
 * real policies are. About 1.4 KB of YAML; its HTTP-only rules are dropped on TCP chains (a diagnostic each).
 */
export function richPolicy(i: number): string {
  const rule = (r: number) =>
    `  - from:\n    - source:\n        principals: [${[0, 1, 2, 3].map((k) => `"cluster.local/ns/ns${(i + k) % 97}/sa/client-${i}-${r}-${k}"`).join(', ')}]\n        namespaces: ["ns${i % 97}", "ns${(i + 1) % 97}"]\n` +
    `    - source:\n        ipBlocks: ["10.${i % 256}.${r}.0/24", "192.168.${r}.${i % 256}"]\n        notPrincipals: ["cluster.local/ns/attacker/sa/*"]\n` +
    `    to:\n    - operation:\n        methods: ["GET", "HEAD", "POST"]\n        paths: ["/api/v${r}/tenant-${i}/*", "/api/v${r}/items/${i}", "*/export-${i}", "/healthz"]\n        notPaths: ["/api/v${r}/tenant-${i}/admin*"]\n        ports: ["9080", "${9000 + (i % 1000)}"]\n` +
    `    when:\n    - key: request.headers[x-tenant]\n      values: ["tenant-${i}", "tenant-${i}-ro"]\n    - key: source.ip\n      notValues: ["10.255.${r}.0/24"]\n    - key: request.auth.claims[groups]\n      values: ["group-${i % 31}", "admins"]\n`;
  return `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata:\n  name: rich-${i}\n  namespace: default\n  labels:\n    team: t${i % 13}\nspec:\n  selector:\n    matchLabels:\n      app: details\n  action: ALLOW\n  rules:\n${rule(0)}${rule(1)}${rule(2)}`;
}

/** Writes `n` rich AuthorizationPolicy documents (richPolicy `from`…) to `file` as one multi-document YAML, streaming. */
export async function writeRichPolicies(file: string, n: number, from = 0): Promise<void> {
  const out = createWriteStream(file);
  let batch = '';
  for (let i = 0; i < n; i++) {
    batch += (i ? '---\n' : '') + richPolicy(from + i);
    if (batch.length > 1 << 20) {
      if (!out.write(batch)) await once(out, 'drain');
      batch = '';
    }
  }
  out.end(batch);
  await once(out, 'finish');
}

/**
 * A YAML "billion laughs" of about `bytes` bytes: an anchored list of strings padded to the size, then `levels`
 * levels of ten aliases each to the level below (10^levels copies of the padding once walked).
 */
export function yamlAliasBomb(head: string, bytes: number, levels = 9): string {
  const lines = [head.replace(/\n$/, '')];
  const tail: string[] = [];
  for (let i = 1; i <= levels; i++) tail.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  const fixed = lines.join('\n').length + tail.join('\n').length + 20;
  const items = Math.max(1, Math.floor((bytes - fixed) / 7));
  lines.push(`a0: &a0 [${Array.from({ length: items }, () => '"lol"').join(', ')}]`);
  return [...lines, ...tail].join('\n') + '\n';
}

/** One Istio-format access-log line of the details sample answered 403 by RBAC, request `i` distinct in path and id. */
export function deniedDetailsLine(i: number): string {
  return `[2026-11-22T14:00:20.519Z] "GET /details/${i}?x=${i} HTTP/1.1" 403 - rbac_access_denied_matched_policy[none] - "-" 0 19 0 - "-" "python-requests/2.31.0" "r-${i}" "details:9080" "-" inbound|9080|| - 10.244.2.72:9080 10.244.1.71:${1024 + (i % 60000)} outbound_.9080_._.details.default.svc.cluster.local default\n`;
}

/** Writes `n` distinct denied requests (deniedDetailsLine) to `file`, streaming. */
export async function writeDistinctRequests(file: string, n: number): Promise<void> {
  const out = createWriteStream(file);
  let batch = '';
  for (let i = 0; i < n; i++) {
    batch += deniedDetailsLine(i);
    if (batch.length > 1 << 20) {
      if (!out.write(batch)) await once(out, 'drain');
      batch = '';
    }
  }
  out.end(batch);
  await once(out, 'finish');
}

/**
 * A StreamAccessLogsMessage of `n` HTTP entries, each `{ common_properties: {} }` (4 bytes on the wire: 60 MB for
 * 15M entries), with an identifier; encoded by hand so that building it costs no decoded objects.
 */
export function emptyEntriesMessage(n: number): Buffer {
  const ident = Buffer.from([0x12, 0x01, 0x6c]); // log_name "l"
  const identField = Buffer.concat([Buffer.from([0x0a, ident.length]), ident]);
  const entry = Buffer.from([0x0a, 0x02, 0x0a, 0x00]); // log_entry { common_properties {} }
  const body = Buffer.alloc(entry.length * n);
  for (let i = 0; i < n; i++) entry.copy(body, i * entry.length);
  const w = protobuf.Writer.create();
  w.uint32((2 << 3) | 2).uint32(body.length);
  const head = Buffer.from(w.finish());
  return Buffer.concat([identField, head, body]);
}

/**
 * A StreamAccessLogsMessage (protobufjs `fromObject` shape, proto field names) of `n` HTTP entries as the
 * details sidecar of samples/details-path logs them: GET /details/i from productpage over mTLS, every fifth
 * denied by RBAC, start times one second apart from `first`, distinct request ids and client ports.
 */
export function detailsAlsMessage(n: number, first = 0, withIdentifier = true): Record<string, unknown> {
  const entries: Record<string, unknown>[] = [];
  for (let k = 0; k < n; k++) {
    const i = first + k;
    const denied = i % 5 === 0;
    entries.push({
      common_properties: {
        downstream_remote_address: { socket_address: { address: '10.244.1.71', port_value: 1024 + (i % 60000) } },
        downstream_local_address: { socket_address: { address: '10.244.2.72', port_value: 9080 } },
        tls_properties: {
          tls_version: 'TLSv1_3',
          tls_sni_hostname: 'outbound_.9080_._.details.default.svc.cluster.local',
          peer_certificate_properties: { subject_alt_name: [{ uri: 'spiffe://cluster.local/ns/default/sa/bookinfo-productpage' }] },
        },
        start_time: { seconds: 1_795_000_000 + i },
        duration: { nanos: 3_000_000 },
        upstream_cluster: 'inbound|9080||',
        route_name: 'default',
      },
      protocol_version: 'HTTP11',
      request: {
        request_method: 'GET',
        scheme: 'http',
        authority: 'details:9080',
        path: `/details/${i}`,
        user_agent: 'python-requests/2.31.0',
        request_id: `r-${i}`,
      },
      response: { response_code: { value: denied ? 403 : 200 }, response_code_details: denied ? 'rbac_access_denied_matched_policy[none]' : 'via_upstream', response_body_bytes: denied ? 19 : 178 },
    });
  }
  return {
    ...(withIdentifier ? { identifier: { node: { id: 'sidecar~10.244.2.72~details-v1-5f4d584748-vn4cx.default~default.svc.cluster.local' }, log_name: 'envoy-als' } } : {}),
    http_logs: { log_entry: entries },
  };
}
