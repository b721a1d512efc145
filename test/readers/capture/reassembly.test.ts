import { describe, expect, it } from 'vitest';
import { buildCapture, type CaptureFlow } from '../../../src/synth/capture.js';
import { tcpConversation, type Message, type TcpConversationOptions } from '../../../src/synth/tcp.js';
import { captureBuffer, readTcpSegments, TcpTable, newCaptureStats, type TcpConnection, type TcpSegment } from '../../../src/readers/capture/index.js';
import { FakeDecoder } from './fake-decoder.js';
import { PcapWriter } from '../../../src/synth/pcap-writer.js';
import { frame } from '../../../src/synth/link.js';
import type { Diagnostic } from '../../../src/model/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);
const C = { ip: '10.0.0.1', port: 40000 };
const S = { ip: '10.0.0.2', port: 8080 };

function conv(messages: Message[], o: Partial<TcpConversationOptions> = {}) {
  return tcpConversation(messages, { client: C, server: S, startMs: 1_700_000_000_000, ...o });
}

async function run(flows: CaptureFlow[], opts: { format?: 'pcap' | 'pcap-ns' | 'pcapng'; linkType?: number; snaplen?: number; wantLimit?: number; maxBuf?: number; reorder?: (s: TcpSegment[]) => TcpSegment[] } = {}) {
  const buf = buildCapture(flows, { ...(opts.format ? { format: opts.format } : {}), ...(opts.linkType !== undefined ? { linkType: opts.linkType } : {}), ...(opts.snaplen ? { snaplen: opts.snaplen } : {}) });
  const conns: TcpConnection[] = [];
  const table = new TcpTable({ decoder: () => new FakeDecoder(opts.wantLimit), onClose: (c) => conns.push(c), ...(opts.maxBuf ? { maxBufferPerDirection: opts.maxBuf } : {}) });
  const stats = newCaptureStats('t');
  let segs: TcpSegment[] = [];
  for await (const b of readTcpSegments(captureBuffer('t', buf), {}, stats)) segs.push(...b.map((s) => ({ ...s, payload: Uint8Array.from(s.payload) })));
  if (opts.reorder) segs = opts.reorder(segs);
  for (const s of segs) table.push(s);
  table.finish();
  conns.sort((a, b) => a.firstFrame - b.firstFrame);
  return { conns, stats, dec: (i = 0) => conns[i]!.decoder as FakeDecoder };
}

const request = 'GET /a HTTP/1.1\r\nhost: x\r\n\r\n';
const bigBody = 'x'.repeat(5000) + 'END';

describe('TCP reassembly', () => {
  it('delivers both directions in order with client and server from the SYN', async () => {
    const { conns, dec } = await run([{ packets: conv([{ dir: 'c2s', bytes: enc(request) }, { dir: 's2c', bytes: enc('HTTP/1.1 200 OK\r\n\r\n' + bigBody) }]) }]);
    expect(conns).toHaveLength(1);
    const c = conns[0]!;
    expect(c.client).toEqual(C);
    expect(c.server).toEqual(S);
    expect(c.synSeen && c.synAckSeen).toBe(true);
    expect(dec().text('c2s')).toBe(request);
    expect(dec().text('s2c')).toBe('HTTP/1.1 200 OK\r\n\r\n' + bigBody);
    expect(dec().rec.ended).toBe(1);
    expect(c.c2s.wireBytes).toBe(request.length);
  });

  it('reorders out-of-order segments and drops retransmitted ones', async () => {
    const msgs: Message[] = [{ dir: 's2c', bytes: enc(bigBody) }];
    const { conns, dec } = await run([{ packets: conv(msgs, { mss: 500, outOfOrder: [1, 4], retransmit: [3, 6] }) }]);
    expect(dec().text('s2c')).toBe(bigBody);
    expect(conns[0]!.s2c.outOfOrder).toBeGreaterThanOrEqual(2);
    expect(conns[0]!.s2c.retransmitted).toBe(1000);
  });

  it('trims overlapping segments to the bytes not yet delivered', async () => {
    // Build a conversation, then replace one segment by a copy that overlaps its predecessor.
    const pk = conv([{ dir: 'c2s', bytes: enc('abcdefghij'.repeat(30)) }], { mss: 100 });
    const { conns, dec } = await run([{ packets: pk }], {
      reorder: (segs) => {
        const data = segs.filter((s) => s.payloadLen > 0);
        const second = data[1]!;
        // An overlapping retransmission: starts 50 bytes before the second segment, 150 bytes long.
        const first = data[0]!;
        const overlap: TcpSegment = { ...second, seq: (second.seq - 50) >>> 0, payloadLen: 150, payload: Uint8Array.from([...first.payload.subarray(50), ...second.payload]) };
        const i = segs.indexOf(second);
        return [...segs.slice(0, i + 1), overlap, ...segs.slice(i + 1)];
      },
    });
    expect(dec().text('c2s')).toBe('abcdefghij'.repeat(30));
    expect(conns[0]!.c2s.retransmitted).toBe(150);
  });

  it('reports a lost segment as a gap of the right size, never as data', async () => {
    const { conns, dec } = await run([{ packets: conv([{ dir: 's2c', bytes: enc(bigBody) }], { mss: 1000, lose: [2] }) }]);
    const t = dec().text('s2c');
    expect(t.length).toBe(bigBody.length);
    expect(t.slice(2000, 3000)).toBe('?'.repeat(1000));
    expect(conns[0]!.s2c.lost).toBe(1000);
    expect(conns[0]!.s2c.gapBytes).toBe(1000);
  });

  it('picks up a capture that starts mid-stream (no SYN) and guesses the client from the ports', async () => {
    const pk = conv([{ dir: 's2c', bytes: enc('hello from server') }, { dir: 'c2s', bytes: enc('hi') }], { handshake: false });
    const { conns, dec } = await run([{ packets: pk }], { reorder: (s) => s });
    expect(conns).toHaveLength(1);
    expect(conns[0]!.client).toEqual(C); // 8080 < 40000 and the first packet came from the server: still the ephemeral side is the client
    expect(conns[0]!.directionGuessed).toBe(true);
    expect(dec().text('s2c')).toBe('hello from server');
    expect(dec().text('c2s')).toBe('hi');
  });

  it('splits port reuse into two connections (SYN after FIN with a new ISN)', async () => {
    const a = conv([{ dir: 'c2s', bytes: enc('first') }], { isnClient: 1000 });
    const b = conv([{ dir: 'c2s', bytes: enc('second') }], { isnClient: 900_000, startMs: 1_700_000_000_100 });
    const { conns } = await run([{ packets: a }, { packets: b }]);
    expect(conns).toHaveLength(2);
    expect(conns.map((c) => (c.decoder as FakeDecoder).text('c2s'))).toEqual(['first', 'second']);
  });

  it('treats a retransmitted SYN as the same connection', async () => {
    const pk = conv([{ dir: 'c2s', bytes: enc('one') }]);
    const withDup = [pk[0]!, pk[0]!, ...pk.slice(1)];
    const { conns } = await run([{ packets: withDup }]);
    expect(conns).toHaveLength(1);
    expect(conns[0]!.packets).toBe(pk.length + 1);
  });

  it('ends on RST', async () => {
    const { conns, dec } = await run([{ packets: conv([{ dir: 'c2s', bytes: enc('x') }], { close: 'rst' }) }]);
    expect(conns[0]!.rstSeen).toBe(true);
    expect(dec().rec.ended).toBe(1);
  });

  it('keeps the earliest and latest timestamps when the capture is not in time order', async () => {
    const pk = conv([{ dir: 'c2s', bytes: enc('abc') }, { dir: 's2c', bytes: enc('def') }]);
    // Written in packet order, but the 4th packet carries the earliest time (tcpdump on several CPUs).
    const w = new PcapWriter({ nanos: true });
    pk.forEach((p, i) => w.add({ timeNs: i === 3 ? p.timeNs - 5_000_000_000n : p.timeNs, data: frame(p.ip, { linkType: 1 }) }));
    const conns: TcpConnection[] = [];
    const table = new TcpTable({ decoder: () => new FakeDecoder(), onClose: (c) => conns.push(c) });
    for await (const b of readTcpSegments(captureBuffer('t', w.toBuffer()))) for (const s of b) table.push(s);
    table.finish();
    expect(conns).toHaveLength(1);
    const c = conns[0]!;
    expect(BigInt(c.startSec) * 1_000_000_000n + BigInt(c.startNsec)).toBe(pk[3]!.timeNs - 5_000_000_000n);
    expect(BigInt(c.endSec) * 1_000_000_000n + BigInt(c.endNsec)).toBe(pk[pk.length - 1]!.timeNs);
    expect(c.firstFrame).toBe(1);
    expect((c.decoder as FakeDecoder).text('s2c')).toBe('def');
  });

  it('reports snaplen-truncated payload as a gap ("not captured"), never as bytes', async () => {
    const { conns, dec } = await run([{ packets: conv([{ dir: 'c2s', bytes: enc('A'.repeat(300)) }]) }], { snaplen: 14 + 20 + 20 + 10 });
    const t = dec().text('c2s');
    expect(t).toBe('A'.repeat(10) + '?'.repeat(290));
    expect(conns[0]!.c2s.notCaptured).toBe(290);
    expect(conns[0]!.truncatedPackets).toBeGreaterThan(0);
  });

  it('stops buffering a direction once the decoder no longer wants it, but keeps counting', async () => {
    const { conns, dec } = await run([{ packets: conv([{ dir: 's2c', bytes: enc(bigBody) }], { mss: 1000, outOfOrder: [3] }) }], { wantLimit: 1500 });
    expect(dec().seen.s2c).toBe(2000); // two segments delivered, then the decoder said "enough"
    expect(conns[0]!.s2c.wireBytes).toBe(bigBody.length);
    expect(conns[0]!.s2c.skipped).toBe(bigBody.length - 2000);
    expect(conns[0]!.s2c.pending.length).toBe(0);
  });

  it('gives up a hole as a gap when the out-of-order buffer is full', async () => {
    const { conns, dec } = await run([{ packets: conv([{ dir: 's2c', bytes: enc('y'.repeat(20000)) }], { mss: 1000, lose: [1] }) }], { maxBuf: 4000 });
    const t = dec().text('s2c');
    expect(t.length).toBe(20000);
    expect(t.slice(1000, 2000)).toBe('?'.repeat(1000));
    expect(conns[0]!.s2c.pendingBytes).toBe(0);
  });

  it('handles sequence numbers that wrap around 2^32', async () => {
    const { dec } = await run([{ packets: conv([{ dir: 'c2s', bytes: enc(bigBody) }], { isnClient: 0xffffff00, mss: 700, outOfOrder: [0] }) }]);
    expect(dec().text('c2s')).toBe(bigBody);
  });
});

describe('link layers and IP', () => {
  const pk = () => conv([{ dir: 'c2s', bytes: enc(request) }, { dir: 's2c', bytes: enc('HTTP/1.1 204 No Content\r\n\r\n') }]);
  const cases: Array<[string, CaptureFlow, { format?: 'pcap' | 'pcapng'; linkType?: number }]> = [
    ['EN10MB', { packets: pk() }, {}],
    ['EN10MB with 802.1Q', { packets: pk(), link: { vlans: [42] } }, {}],
    ['EN10MB with QinQ (802.1ad + 802.1Q)', { packets: pk(), link: { vlans: [100, 42] } }, {}],
    ['LINUX_SLL', { packets: pk() }, { linkType: 113 }],
    ['LINUX_SLL2', { packets: pk() }, { linkType: 276 }],
    ['RAW', { packets: pk() }, { linkType: 101 }],
    ['NULL', { packets: pk() }, { linkType: 0 }],
    ['pcapng EN10MB', { packets: pk(), interfaceName: 'eth0' }, { format: 'pcapng' }],
  ];
  for (const [name, flow, o] of cases) {
    it(`decodes TCP over ${name}`, async () => {
      const { conns, dec } = await run([flow], o);
      expect(conns).toHaveLength(1);
      expect(dec().text('c2s')).toBe(request);
    });
  }

  it('decodes TCP over IPv6 and formats addresses per RFC 5952', async () => {
    const p = tcpConversation([{ dir: 'c2s', bytes: enc(request) }], { client: { ip: 'fd00::1', port: 5555 }, server: { ip: 'fd00:0:0:1::2', port: 443 }, startMs: 1 });
    const { conns, dec } = await run([{ packets: p }]);
    expect(conns[0]!.client.ip).toBe('fd00::1');
    expect(conns[0]!.server.ip).toBe('fd00:0:0:1::2');
    expect(dec().text('c2s')).toBe(request);
  });

  it('walks IPv6 extension headers (hop-by-hop, destination options) to TCP', async () => {
    const p = tcpConversation([{ dir: 'c2s', bytes: enc('ext') }], { client: { ip: '2001:db8::1', port: 5555 }, server: { ip: '2001:db8::2', port: 80 }, startMs: 1 });
    for (const pkt of p) {
      const ip = Buffer.from(pkt.ip);
      const next = ip[6]!;
      // Insert hop-by-hop (8 bytes) → destination options (8 bytes) → TCP.
      const hbh = Buffer.from([60, 0, 1, 4, 0, 0, 0, 0]);
      const dst = Buffer.from([next, 0, 1, 4, 0, 0, 0, 0]);
      const out = Buffer.concat([ip.subarray(0, 40), hbh, dst, ip.subarray(40)]);
      out[6] = 0;
      out.writeUInt16BE(ip.readUInt16BE(4) + 16, 4);
      pkt.ip = out;
    }
    const { dec } = await run([{ packets: p }]);
    expect(dec().text('c2s')).toBe('ext');
  });

  it('reassembles IPv4 fragments of a TCP segment', async () => {
    const p = conv([{ dir: 'c2s', bytes: enc('F'.repeat(1000)) }], { mss: 1460 });
    const out: typeof p = [];
    for (const pkt of p) {
      const ip = Buffer.from(pkt.ip);
      if (ip.length < 600) {
        out.push(pkt);
        continue;
      }
      const ihl = (ip[0]! & 15) * 4;
      const payload = ip.subarray(ihl);
      const cut = 512;
      const mk = (off: number, bytes: Buffer, more: boolean) => {
        const h = Buffer.from(ip.subarray(0, ihl));
        h.writeUInt16BE(ihl + bytes.length, 2);
        h.writeUInt16BE((more ? 0x2000 : 0) | (off / 8), 6);
        return Buffer.concat([h, bytes]);
      };
      // second fragment first: reassembly must not depend on order
      out.push({ ...pkt, ip: mk(cut, payload.subarray(cut), false) });
      out.push({ ...pkt, ip: mk(0, payload.subarray(0, cut), true) });
    }
    const { dec, stats } = await run([{ packets: out }]);
    expect(dec().text('c2s')).toBe('F'.repeat(1000));
    expect(stats.decode.fragments).toMatchObject({ seen: 2, reassembled: 1, dropped: 0 });
  });

  it('reassembles IPv6 fragments (fragment extension header) of a TCP segment', async () => {
    const p = tcpConversation([{ dir: 'c2s', bytes: enc('G'.repeat(1200)) }], { client: { ip: 'fd00::1', port: 5555 }, server: { ip: 'fd00::2', port: 80 }, startMs: 1 });
    const out: typeof p = [];
    let id = 77;
    for (const pkt of p) {
      const ip = Buffer.from(pkt.ip);
      if (ip.length < 700) {
        out.push(pkt);
        continue;
      }
      const payload = ip.subarray(40); // TCP header + data
      const cut = 600; // multiple of 8
      const mk = (off: number, bytes: Buffer, more: boolean) => {
        const h = Buffer.from(ip.subarray(0, 40));
        h[6] = 44; // next header: fragment
        h.writeUInt16BE(8 + bytes.length, 4);
        const fh = Buffer.alloc(8);
        fh[0] = 6; // TCP after reassembly
        fh.writeUInt16BE(off | (more ? 1 : 0), 2);
        fh.writeUInt32BE(id, 4);
        return Buffer.concat([h, fh, bytes]);
      };
      out.push({ ...pkt, ip: mk(0, payload.subarray(0, cut), true) });
      out.push({ ...pkt, ip: mk(cut, payload.subarray(cut), false) });
      id++;
    }
    const { dec, stats } = await run([{ packets: out }]);
    expect(dec().text('c2s')).toBe('G'.repeat(1200));
    expect(stats.decode.fragments).toMatchObject({ seen: 2, reassembled: 1 });
  });

  it('warns once about an unsupported link type (with the first frame) and counts what it skipped', async () => {
    const w = new PcapWriter({ linkType: 147 });
    for (let i = 0; i < 3; i++) w.add({ timeNs: 1_000_000_000n * BigInt(i + 1), data: new Uint8Array(60) });
    const diags: Diagnostic[] = [];
    const stats = newCaptureStats('u');
    const segs: TcpSegment[] = [];
    for await (const b of readTcpSegments(captureBuffer('user0.pcap', w.toBuffer()), { onDiagnostic: (d) => diags.push(d) }, stats)) segs.push(...b);
    expect(segs).toEqual([]);
    expect(diags).toHaveLength(1);
    expect(diags[0]).toMatchObject({ severity: 'warning', location: { file: 'user0.pcap', frame: 1 } });
    expect(diags[0]!.message).toMatch(/unsupported link type 147/);
    expect(stats.decode.skipped['unsupported-link-type']).toBe(3);
  });
});
