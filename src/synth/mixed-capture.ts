/**
 * A capture of mixed Istio-like traffic of any size, for benchmarks and the capture pipeline's tests: TLS
 * 1.2/1.3 sessions recorded from Node's tls module (mTLS with SPIFFE certificates and Istio ALPN/SNI,
 * one-way TLS), HTTP/1.1 with keep-alive, h2c with prior knowledge and a RESP-like plaintext protocol,
 * framed as EN10MB/IPv4/TCP with MSS 1160 (≈ 900-byte average packets with the ACKs) and interleaved 8
 * connections at a time; optionally inside an overlay (VXLAN, Geneve, ...: src/synth/encap.ts). Mix by
 * connection: 30% mTLS 1.2, 30% mTLS 1.3, 5% mTLS TCP, 8% one-way TLS, 17% HTTP/1.1, 5% h2c, 5% other
 * plaintext. Deterministic: the same size gives the same connections (the TLS bytes differ per run).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { tcpConversation, type Message } from './tcp.js';
import { pcapGlobalHeader } from './pcap-writer.js';
import { frame } from './link.js';
import { wrap, type WrapKind } from './encap.js';
import { runTlsSession, ISTIO_ALPN, istioSni, type WireMessage } from './tls-session.js';
import { http1Conversation, h2Conversation } from './http.js';

function body(n: number, seed: number): string {
  let s = '';
  let x = seed;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += x.toString(36);
  }
  return s.slice(0, n);
}

interface Template {
  kind: string;
  messages: WireMessage[];
  weight: number;
}

async function templates(): Promise<Template[]> {
  const out: Template[] = [];
  const sizes = [8_000, 40_000, 120_000];
  for (const [i, size] of sizes.entries()) {
    const app = http1Conversation([
      { request: { path: `/bytes/${size}`, host: 'httpbin.foo.svc.cluster.local:8000' }, response: { status: 200, body: body(size, i + 1), headers: [['content-type', 'application/octet-stream']] } },
      { request: { path: '/headers', host: 'httpbin.foo.svc.cluster.local:8000' }, response: { status: 200, body: body(size / 4, i + 7) } },
    ]);
    const sni = istioSni(8000, 'httpbin.foo.svc.cluster.local');
    const m12 = await runTlsSession({ version: 'TLSv1.2', server: 'foo/httpbin', client: 'foo/sleep', sni, alpn: ISTIO_ALPN.http11, app });
    const m13 = await runTlsSession({ version: 'TLSv1.3', server: 'foo/httpbin', client: 'foo/sleep', sni, alpn: ISTIO_ALPN.http11, app });
    const tcp = await runTlsSession({ version: 'TLSv1.3', server: 'foo/tcp-echo', client: 'foo/sleep', sni: istioSni(9000, 'tcp-echo.foo.svc.cluster.local'), alpn: ISTIO_ALPN.tcp, serverAlpn: ['istio-peer-exchange', 'istio'], app: [{ dir: 'c2s', bytes: Buffer.from(body(size / 2, 3)) }, { dir: 's2c', bytes: Buffer.from(body(size / 2, 4)) }] });
    const one = await runTlsSession({ version: i % 2 ? 'TLSv1.3' : 'TLSv1.2', server: 'partner/api', sni: 'api.partner.example.com', alpn: ['h2', 'http/1.1'], app });
    const h2 = await h2Conversation([{ request: { path: `/bytes/${size}` }, response: { status: 200, body: body(size, 9) } }], { authority: 'grpc-echo.foo.svc.cluster.local:9090' });
    const resp: WireMessage[] = [];
    for (let k = 0; k < 20; k++) {
      resp.push({ dir: 'c2s', bytes: Buffer.from(`*3\r\n$3\r\nSET\r\n$6\r\nkey:${String(k).padStart(2, '0')}\r\n$${size / 20}\r\n${body(size / 20, k)}\r\n`) });
      resp.push({ dir: 's2c', bytes: Buffer.from('+OK\r\n') });
    }
    out.push(
      { kind: 'mtls12', messages: m12.messages, weight: 30 },
      { kind: 'mtls13', messages: m13.messages, weight: 30 },
      { kind: 'mtcp', messages: tcp.messages, weight: 5 },
      { kind: 'tls', messages: one.messages, weight: 8 },
      { kind: 'http', messages: app, weight: 17 },
      { kind: 'h2c', messages: h2, weight: 5 },
      { kind: 'other', messages: resp, weight: 5 },
    );
  }
  return out;
}

/** Writes a classic µs pcap of at least `targetBytes`; returns packets and connections written. */
export async function buildCapture(path: string, targetBytes: number, encap?: WrapKind): Promise<{ packets: number; conns: number; bytes: number }> {
  const tpl = await templates();
  const total = tpl.reduce((s, t) => s + t.weight, 0);
  const fd = openSync(path, 'w');
  const gh = pcapGlobalHeader();
  writeSync(fd, gh);
  let written = 24;
  let packets = 0;
  let conns = 0;
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x / 2 ** 32);
  let t = 1_763_800_000_000;
  const buf = Buffer.alloc(8 << 20);
  let bo = 0;
  const flush = () => {
    writeSync(fd, buf, 0, bo);
    written += bo;
    bo = 0;
  };
  while (written + bo < targetBytes) {
    // 8 concurrent connections, interleaved by time
    const group: { timeNs: bigint; data: Uint8Array }[] = [];
    for (let k = 0; k < 8; k++) {
      let r = rnd() * total;
      const tp = tpl.find((q) => (r -= q.weight) < 0) ?? tpl[0]!;
      const client = { ip: `10.1.${(conns >> 8) & 255}.${conns & 255}`, port: 32768 + (conns % 28000) };
      const server = { ip: `10.2.0.${1 + (conns % 50)}`, port: tp.kind === 'http' ? 8000 : tp.kind === 'h2c' ? 9090 : tp.kind === 'other' ? 6379 : 15006 };
      const msgs: Message[] = tp.messages.map((m) => ({ dir: m.dir, bytes: m.bytes }));
      const pk = tcpConversation(msgs, { client, server, startMs: t + k * 0.37, mss: 1160, stepMs: 0.05, seed: conns + 1 });
      for (const p of pk) group.push({ timeNs: p.timeNs, data: encap ? wrap(p.ip, encap, p.dir).frame : frame(p.ip, { linkType: 1 }) });
      conns++;
    }
    group.sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0));
    for (const p of group) {
      if (bo + 16 + p.data.length > buf.length) flush();
      const sec = Number(p.timeNs / 1_000_000_000n);
      const usec = Number((p.timeNs % 1_000_000_000n) / 1000n);
      buf.writeUInt32LE(sec, bo);
      buf.writeUInt32LE(usec, bo + 4);
      buf.writeUInt32LE(p.data.length, bo + 8);
      buf.writeUInt32LE(p.data.length, bo + 12);
      buf.set(p.data, bo + 16);
      bo += 16 + p.data.length;
      packets++;
    }
    t += 40;
  }
  flush();
  closeSync(fd);
  return { packets, conns, bytes: written };
}

