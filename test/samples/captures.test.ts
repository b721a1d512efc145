/** The sample captures are well-formed `tcpdump -i any` files: checked by pcap-parser and, when present, tshark. */
import { execFileSync, spawnSync } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAMPLES } from './helpers.js';
import { SCENARIOS } from '../../src/samples/scenarios/index.js';

/** `<pod>.<namespace>` of every pod without an app → sidecar leg (gateways, pods without a sidecar). */
const noLoopback = new Set(SCENARIOS.flatMap((sc) => sc.pods.filter((p) => p.gateway || !p.sidecar).map((p) => `${p.name}.${p.namespace}`)));

const require = createRequire(import.meta.url);
const pcapParser = require('pcap-parser') as { parse(input: string): EventEmitter };

const captures: string[] = [];
for (const b of readdirSync(SAMPLES).filter((n) => !n.startsWith('_')))
  for (const f of (() => {
    try {
      return readdirSync(join(SAMPLES, b, 'captures'));
    } catch {
      return [];
    }
  })())
    captures.push(join(SAMPLES, b, 'captures', f));

function sum16(buf: Buffer, initial = 0): number {
  let s = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) s += buf.readUInt16BE(i);
  if (buf.length % 2) s += buf[buf.length - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

interface Pkt {
  header: { capturedLength: number; originalLength: number };
  data: Buffer;
}
function parse(path: string): Promise<{ linkType: number; packets: Pkt[] }> {
  return new Promise((resolve, reject) => {
    const packets: Pkt[] = [];
    let linkType = -1;
    const p = pcapParser.parse(path);
    p.on('globalHeader', (h: { linkLayerType: number }) => (linkType = h.linkLayerType));
    p.on('packet', (pk: Pkt) => packets.push(pk));
    p.on('end', () => resolve({ linkType, packets }));
    p.on('error', reject);
  });
}

describe('sample captures', () => {
  it('there is at least one capture per bundle', () => {
    expect(captures.length).toBeGreaterThanOrEqual(5);
  });

  for (const path of captures) {
    if (/\.geneve\.pcap$/.test(path)) continue;
    it(`${path.slice(SAMPLES.length + 1)}: SLL2 framing, IPv4/TCP checksums, loopback vs eth0 legs`, async () => {
      const { linkType, packets } = await parse(path);
      expect(linkType).toBe(276);
      expect(packets.length).toBeGreaterThan(10);
      let lo = 0;
      let eth = 0;
      for (const { header, data } of packets) {
        expect(header.capturedLength).toBe(header.originalLength);
        expect(data.readUInt16BE(0)).toBe(0x0800);
        const ifindex = data.readUInt32BE(4);
        const hatype = data.readUInt16BE(8);
        const pkttype = data[10]!;
        const ip = data.subarray(20);
        expect(ip[0]).toBe(0x45);
        expect(sum16(ip.subarray(0, 20))).toBe(0xffff);
        const tcp = ip.subarray(20, ip.readUInt16BE(2));
        const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 6, tcp.length >> 8, tcp.length & 0xff])]);
        expect(sum16(tcp, sum16(pseudo))).toBe(0xffff);
        const src = ip.subarray(12, 16).join('.');
        const dst = ip.subarray(16, 20).join('.');
        const local = src.startsWith('127.') || dst.startsWith('127.');
        if (hatype === 772) {
          lo++;
          expect(ifindex).toBe(1);
          expect(pkttype).toBe(0);
        } else {
          eth++;
          expect(hatype).toBe(1);
          expect(local).toBe(false);
          expect([0, 4]).toContain(pkttype);
        }
      }
      // a gateway pod has no app beside its Envoy, a pod without a sidecar no proxy, and a node capture (ambient)
      // sees the pods' veths: no loopback leg
      if (!noLoopback.has(basename(path).replace(/\.pcap$/, '')) && !path.endsWith('.node.pcap')) expect(lo).toBeGreaterThan(0);
      expect(eth).toBeGreaterThan(0);
    });
  }

  // node captures: the overlay uplink of a transport node, every pod packet inside Geneve
  for (const path of captures.filter((p) => /\.geneve\.pcap$/.test(p))) {
    it(`${path.slice(SAMPLES.length + 1)}: Ethernet/IPv4/UDP 6081/Geneve (TEB, VNI, option) around Ethernet/IPv4/TCP, every checksum valid`, async () => {
      const { linkType, packets } = await parse(path);
      expect(linkType).toBe(1);
      expect(packets.length).toBeGreaterThan(10);
      for (const { header, data } of packets) {
        expect(header.capturedLength).toBe(header.originalLength);
        expect(data.readUInt16BE(12)).toBe(0x0800);
        const outer = data.subarray(14);
        expect(outer[0]).toBe(0x45);
        expect(outer[9]).toBe(17);
        expect(sum16(outer.subarray(0, 20))).toBe(0xffff);
        const udp = outer.subarray(20);
        expect(udp.readUInt16BE(2)).toBe(6081);
        expect(udp.readUInt16BE(4)).toBe(outer.readUInt16BE(2) - 20);
        const geneve = udp.subarray(8);
        expect(geneve[0]! >> 6).toBe(0); // version 0
        expect(geneve.readUInt16BE(2)).toBe(0x6558);
        const optLen = (geneve[0]! & 0x3f) * 4;
        expect(optLen).toBeGreaterThan(0);
        const inner = geneve.subarray(8 + optLen);
        expect(inner.readUInt16BE(12)).toBe(0x0800);
        const ip = inner.subarray(14);
        expect(ip[0]).toBe(0x45);
        expect(sum16(ip.subarray(0, 20))).toBe(0xffff);
        const tcp = ip.subarray(20, ip.readUInt16BE(2));
        const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 6, tcp.length >> 8, tcp.length & 0xff])]);
        expect(sum16(tcp, sum16(pseudo))).toBe(0xffff);
      }
    });
  }

  const tshark = spawnSync('tshark', ['-v']).status === 0;
  it.skipIf(!tshark)('tshark reads every capture without malformed packets, bad checksums or TCP warnings other than the intended resets (needs /usr/bin/tshark)', () => {
    for (const path of captures) {
      const out = execFileSync('tshark', ['-r', path, '-o', 'tcp.check_checksum:TRUE', '-Y', '(_ws.malformed || _ws.expert.severity >= warning || tcp.checksum.status == 2) && !tcp.flags.reset', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(out.trim(), path).toBe('');
    }
  });
  void readFileSync;
});
