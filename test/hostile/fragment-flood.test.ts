/**
 * IP fragment floods: duplicates and overlaps are rejected on arrival, parts and bytes are capped
 * per datagram and in total, and every fragment not used is counted by reason.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { tcpConversation, type TcpPacket } from '../../src/synth/tcp.js';
import { http1Conversation } from '../../src/synth/http.js';
import { PcapWriter } from '../../src/synth/pcap-writer.js';
import { frame } from '../../src/synth/link.js';
import { ipFragment } from '../../src/synth/hostile.js';
import { FragmentTable, newDecodeStats } from '../../src/readers/capture/index.js';

const fragment = ipFragment;

function httpFlow(port: number, startMs: number): TcpPacket[] {
  const app = http1Conversation([{ request: { path: '/x', host: 'h' }, response: { status: 200, body: 'y'.repeat(600) } }]);
  return tcpConversation(
    app.map((m) => ({ dir: m.dir, bytes: m.bytes })),
    { client: { ip: '10.0.0.1', port }, server: { ip: '10.0.0.2', port: 8080 }, startMs, mss: 1460 },
  );
}

describe('IP fragment duplicate flood', () => {
  it(
    '40k duplicates of a never-completed fragment: completes, the flow beside it kept, the duplicates counted',
    async () => {
      const w = new PcapWriter({ linkType: 1 });
      const flow = httpFlow(40000, 1_700_000_000_000);
      // The response (the biggest packet) travels in three fragments, the middle one twice, then a
      // fragment lying inside bytes already held (nothing new: rejected as overlapping).
      const big = flow.reduce((a, p) => (p.ip.length > a.ip.length ? p : a));
      const payloadLen = big.ip.length - 20;
      for (const p of flow) {
        if (p !== big) {
          w.add({ timeNs: p.timeNs, data: frame(p.ip, { linkType: 1 }) });
          continue;
        }
        for (const f of [fragment(p.ip, 0, 200, true), fragment(p.ip, 200, 200, true), fragment(p.ip, 200, 200, true), fragment(p.ip, 96, 200, true), fragment(p.ip, 400, payloadLen - 400, false)]) {
          w.add({ timeNs: p.timeNs, data: frame(f, { linkType: 1 }) });
        }
      }
      // The flood: another datagram's first fragment, 40 000 times, never completed.
      const other = httpFlow(40001, 1_700_000_000_100).reduce((a, p) => (p.ip.length > a.ip.length ? p : a));
      const dup = frame(fragment(other.ip, 0, 24, true), { linkType: 1 });
      for (let i = 0; i < 40_000; i++) w.add({ timeNs: other.timeNs + BigInt(i) * 1000n, data: dup });
      const f = join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-frag-')), 'flood.pcap');
      writeFileSync(f, w.toBuffer());

      const r = await runCli(['flows', f]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/10\.0\.0\.1:40000\s+10\.0\.0\.2:8080\s+plaintext/);
      expect(r.stderr).toContain('40002 IP fragment(s) could not be reassembled (40000 duplicate, 1 overlapping, 1 incomplete at the end of the capture; 1 datagram(s) reassembled from 40005 fragments)');
      expect(r.stderr).toMatch(/IP fragment not reassembled \(40000× duplicate IP fragment, 1× overlapping IP fragment\)/);
    },
    120_000,
  );
});

describe('FragmentTable limits', () => {
  const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

  it('caps the parts of one datagram and counts the rest as too-many-parts', () => {
    const t = new FragmentTable(4096, 32 << 20, 60, 256);
    const stats = newDecodeStats();
    for (let i = 0; i < 300; i++) t.add('d', i * 16, true, bytes(8), 0, stats);
    expect(stats.fragments.droppedBy).toEqual({ 'too-many-parts': 44 });
    expect(t.heldBytes).toBe(256 * 8);
  });

  it('caps the bytes held in total: the oldest datagrams are given up (table-full)', () => {
    const t = new FragmentTable(4096, 64 * 1024, 60);
    const stats = newDecodeStats();
    for (let i = 0; i < 100; i++) expect(t.add(`d${i}`, 0, true, bytes(1024), 0, stats)).toBeNull();
    expect(t.heldBytes).toBeLessThanOrEqual(64 * 1024);
    expect(stats.fragments.droppedBy['table-full']).toBeGreaterThan(0);
    expect(stats.fragments.dropped).toBe(100 - t.pending);
  });

  it('rejects duplicates, data past the end and a second different end; an overlap adds only new bytes (first data wins)', () => {
    const t = new FragmentTable();
    const stats = newDecodeStats();
    expect(t.add('d', 16, false, bytes(8, 3), 0, stats)).toBeNull();
    expect(t.add('d', 24, true, bytes(8), 0, stats)).toBe('inconsistent');
    expect(t.add('d', 8, false, bytes(8), 0, stats)).toBe('inconsistent');
    expect(t.add('d', 12, true, bytes(8, 7), 0, stats)).toBeNull(); // adds [12, 16) only
    expect(t.add('d', 16, false, bytes(8, 9), 0, stats)).toBe('duplicate');
    expect(t.add('d', 14, true, bytes(4, 9), 0, stats)).toBe('overlap'); // nothing new
    expect(t.add('d', 0, true, bytes(8, 1), 0, stats)).toBeNull();
    const out = t.add('d', 4, true, bytes(16, 2), 0, stats); // adds [8, 12) only
    expect(Array.from(out as Uint8Array)).toEqual([...bytes(8, 1), ...bytes(4, 2), ...bytes(4, 7), ...bytes(8, 3)]);
    expect(stats.fragments).toMatchObject({ seen: 8, reassembled: 1, dropped: 4, droppedBy: { inconsistent: 2, overlap: 1, duplicate: 1 } });
    expect(t.pending).toBe(0);
    expect(t.heldBytes).toBe(0);
  });
});
