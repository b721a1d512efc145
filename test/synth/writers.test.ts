import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
// @ts-expect-error pcap-parser ships no types
import pcapp from 'pcap-parser';
import { buildCapture } from '../../src/synth/capture.js';
import { LINKTYPE } from '../../src/synth/link.js';
import { tcpConversation } from '../../src/synth/tcp.js';

const hasTshark = existsSync('/usr/bin/tshark');

function conversation(opts: Partial<Parameters<typeof tcpConversation>[1]> = {}) {
  return tcpConversation(
    [
      { dir: 'c2s', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n') },
      { dir: 's2c', bytes: Buffer.alloc(4000, 0x41) },
    ],
    { client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 80 }, startMs: 1_700_000_000_000, ...opts },
  );
}

interface ParsedPacket {
  header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
  data: Buffer;
}

function parseWithPcapParser(buf: Buffer): Promise<{ linkType: number; packets: ParsedPacket[] }> {
  return new Promise((resolve, reject) => {
    const p = pcapp.parse(Readable.from([buf]));
    const packets: ParsedPacket[] = [];
    let linkType = -1;
    p.on('globalHeader', (h: { linkLayerType: number }) => (linkType = h.linkLayerType));
    p.on('packet', (pk: ParsedPacket) => packets.push({ header: { ...pk.header }, data: Buffer.from(pk.data) }));
    p.on('end', () => resolve({ linkType, packets }));
    p.on('error', reject);
  });
}

function tshark(buf: Buffer, name: string, fields: string[]): string[][] {
  const dir = mkdtempSync(join(tmpdir(), 'synth-'));
  const f = join(dir, name);
  writeFileSync(f, buf);
  const out = execFileSync('tshark', ['-n', '-r', f, '-T', 'fields', ...fields.flatMap((x) => ['-e', x])], { encoding: 'utf8' });
  return out.trim().split('\n').map((l) => l.split('\t'));
}

describe('synthetic capture writers', () => {
  it('classic µs pcap is read back by pcap-parser with the same packets', async () => {
    const pkts = conversation();
    const buf = buildCapture([{ packets: pkts }], { format: 'pcap', linkType: LINKTYPE.EN10MB });
    const parsed = await parseWithPcapParser(buf);
    expect(parsed.linkType).toBe(1);
    expect(parsed.packets.length).toBe(pkts.length);
    expect(parsed.packets[0]!.header.timestampSeconds).toBe(1_700_000_000);
    // 3-way handshake, 1 request segment + ack, 3 response segments + ack, FIN/FIN/ACK
    expect(pkts.length).toBe(3 + 2 + 4 + 3);
    expect(parsed.packets[3]!.data.subarray(14 + 20 + 20).toString('latin1')).toContain('GET / HTTP/1.1');
  });

  it('EN10MB addresses swap with the direction; SLL2 packet type per direction', async () => {
    const buf = buildCapture([{ packets: conversation() }], { format: 'pcap' });
    const parsed = await parseWithPcapParser(buf);
    const syn = parsed.packets[0]!.data;
    const synAck = parsed.packets[1]!.data;
    expect(syn.subarray(6, 12)).toEqual(synAck.subarray(0, 6));
    expect(syn.subarray(0, 6)).toEqual(synAck.subarray(6, 12));
    const sll2 = await parseWithPcapParser(
      buildCapture([{ packets: conversation(), linkByDir: { c2s: { packetType: 4 }, s2c: { packetType: 0 } } }], { format: 'pcap', linkType: LINKTYPE.LINUX_SLL2 }),
    );
    expect(sll2.linkType).toBe(276);
    expect([sll2.packets[0]!.data[10], sll2.packets[1]!.data[10]]).toEqual([4, 0]);
  });

  it('snaplen truncation keeps the original length', async () => {
    const buf = buildCapture([{ packets: conversation() }], { format: 'pcap', snaplen: 60 });
    const parsed = await parseWithPcapParser(buf);
    const big = parsed.packets.find((p) => p.header.originalLength > 60)!;
    expect(big.header.capturedLength).toBe(60);
    expect(big.data.length).toBe(60);
  });

  it('big-endian pcap has the swapped magic', () => {
    const buf = buildCapture([{ packets: conversation() }], { format: 'pcap', bigEndian: true });
    expect(buf.readUInt32BE(0)).toBe(0xa1b2c3d4);
    const ns = buildCapture([{ packets: conversation() }], { format: 'pcap-ns' });
    expect(ns.readUInt32LE(0)).toBe(0xa1b23c4d);
  });

  it('pcapng holds one IDB per link type / interface name', () => {
    const a = conversation();
    const b = tcpConversation([{ dir: 'c2s', bytes: Buffer.from('hello') }], {
      client: { ip: '127.0.0.6', port: 50000 }, server: { ip: '127.0.0.1', port: 9080 }, startMs: 1_700_000_000_500,
    });
    const buf = buildCapture(
      [
        { packets: a, interfaceName: 'eth0' },
        { packets: b, interfaceName: 'lo', link: { linkType: LINKTYPE.LINUX_SLL2 } },
      ],
      { format: 'pcapng' },
    );
    expect(buf.readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(buf.readUInt32LE(8)).toBe(0x1a2b3c4d);
  });

  describe.skipIf(!hasTshark)('checked by tshark (needs /usr/bin/tshark)', () => {
    it('IPv4/TCP checksums are valid and the stream reassembles', () => {
      const buf = buildCapture([{ packets: conversation({ outOfOrder: [1], retransmit: [2] }) }], { format: 'pcap' });
      const rows = tshark(buf, 'a.pcap', ['tcp.stream', 'tcp.checksum.status', 'ip.checksum.status', 'tcp.analysis.flags']);
      for (const r of rows) {
        expect(r[1]).not.toBe('0'); // 0 = bad
      }
      expect(rows.some((r) => r[3] !== '')).toBe(true); // out-of-order / retransmission noticed
    });

    it('pcapng with EN10MB and SLL2 interfaces, ns resolution, IPv6', () => {
      const v6 = tcpConversation([{ dir: 'c2s', bytes: Buffer.from('PING\r\n') }], {
        client: { ip: 'fd00::1', port: 50000 }, server: { ip: 'fd00::2:1', port: 6379 }, startMs: 1_700_000_000_123.456789,
      });
      const buf = buildCapture(
        [
          { packets: conversation(), interfaceName: 'eth0' },
          { packets: v6, interfaceName: 'any', link: { linkType: LINKTYPE.LINUX_SLL2 } },
        ],
        { format: 'pcapng' },
      );
      const rows = tshark(buf, 'b.pcapng', ['frame.interface_name', 'frame.protocols', 'ipv6.dst', 'tcp.checksum.status', 'frame.time_epoch']);
      expect(rows.length).toBe(12 + 3 + 2 + 3);
      expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(['eth0', 'any']));
      expect(rows.some((r) => r[1]!.startsWith('sll:ethertype:ipv6:tcp') && r[2] === 'fd00::2:1')).toBe(true);
      expect(rows.some((r) => r[4]!.startsWith('1700000000.12345'))).toBe(true);
    });
  });
});

describe('SLL2 framing follows Linux', () => {
  it('pod traffic is ARPHRD_ETHER with a MAC; loopback traffic ARPHRD_LOOPBACK with a zero address', async () => {
    const lo = tcpConversation([{ dir: 'c2s', bytes: Buffer.from('x') }], { client: { ip: '127.0.0.6', port: 40000 }, server: { ip: '127.0.0.1', port: 9080 }, startMs: 1_700_000_000_000 });
    const buf = buildCapture([{ packets: conversation() }, { packets: lo }], { format: 'pcap', linkType: LINKTYPE.LINUX_SLL2 });
    const parsed = await parseWithPcapParser(buf);
    const arphrd = (d: Buffer) => d.readUInt16BE(8);
    expect(arphrd(parsed.packets[0]!.data)).toBe(1);
    expect(parsed.packets[0]!.data.subarray(12, 18).some((x) => x !== 0)).toBe(true);
    const loPkt = parsed.packets.find((p) => p.data[20 + 12] === 127)!;
    expect(arphrd(loPkt.data)).toBe(772);
    expect(loPkt.data.subarray(12, 18).every((x) => x === 0)).toBe(true);
  });
});
