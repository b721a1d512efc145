/**
 * Capture reassembly stays bounded on hostile captures: connections that never close are handed
 * over (idle or least recently active), and a lost segment in a headers-only capture (`-s 54`)
 * is given up once the reorder cap's worth of sequence space is buffered.
 */
import { describe, expect, it } from 'vitest';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tcpConversation } from '../../src/synth/tcp.js';
import { buildCapture } from '../../src/synth/capture.js';
import { captureBuffer, readTcpSegments, TcpTable, newCaptureStats, type TcpConnection } from '../../src/readers/capture/index.js';
import { FakeDecoder } from '../readers/capture/fake-decoder.js';
import { REPO } from '../helpers/cli.js';
import { headersOnlyWithLoss } from '../../src/synth/hostile.js';

/** Runs the built CLI with stdout to a file (200k flows of NDJSON are not for a pipe into the test's heap). */
async function cliToFile(args: string[], out: string, heapMb: number): Promise<{ code: number; stderr: string }> {
  const fd = openSync(out, 'w');
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, join(REPO, 'dist/src/cli/main.js'), ...args], { cwd: REPO, stdio: ['ignore', fd, 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const [code] = (await once(child, 'close')) as [number | null];
  closeSync(fd);
  return { code: code ?? -1, stderr };
}

const T0 = 1_700_000_000_000;

/** `n` connections of which only the SYN was captured, one every 0.1 ms. */
function synOnly(n: number, startMs = T0, from = 0) {
  const packets = [];
  for (let i = from; i < n; i++) {
    const client = { ip: `10.${1 + ((i >> 16) & 0xff)}.${(i >> 8) & 0xff}.${i & 0xff}`, port: 40000 + (i % 20000) };
    const syn = tcpConversation([], { client, server: { ip: '10.0.0.2', port: 8080 }, startMs: startMs + i / 10, close: 'none', isnClient: i })[0]!;
    packets.push(syn);
  }
  return packets;
}

/** The capture of synOnly(n), built 25k connections at a time, yielding between (the test worker stays responsive). */
async function synOnlyCapture(n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let k = 0; k < n; k += 25_000) {
    // (each part is a classic pcap: the first keeps its file header, the others are their records only)
    parts.push(buildCapture([{ packets: synOnly(Math.min(n, k + 25_000), T0, k) }]).subarray(k === 0 ? 0 : 24));
    await new Promise((r) => setImmediate(r));
  }
  return Buffer.concat(parts);
}

let synFile: Promise<string> | undefined;
/** The capture of synOnly(200k), written once to a temporary file for the tests that run the CLI on it (4 s of CPU to build). */
function syn200kFile(): Promise<string> {
  synFile ??= (async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-syn-')), 'syn.pcap');
    writeFileSync(file, await synOnlyCapture(200_000));
    return file;
  })();
  return synFile;
}

async function table(buf: Buffer, o: { maxOpen?: number; idleSec?: number; releaseDecoders?: boolean }) {
  const conns: TcpConnection[] = [];
  const t = new TcpTable({ decoder: () => new FakeDecoder(), onClose: (c) => conns.push(c), releaseDecoders: true, ...o });
  let peak = 0;
  for await (const b of readTcpSegments(captureBuffer('t', buf), {}, newCaptureStats('t'))) {
    for (const s of b) {
      t.push(s);
      peak = Math.max(peak, t.open);
    }
  }
  t.finish();
  return { conns, t, peak };
}

describe('connections that never close', () => {
  it('hands over the least recently active once maxOpen are open, keeping every connection as S0', async () => {
    const buf = buildCapture([{ packets: synOnly(1000) }]);
    const { conns, t, peak } = await table(buf, { maxOpen: 100 });
    expect(peak).toBeLessThanOrEqual(100);
    expect(conns).toHaveLength(1000);
    expect(new Set(conns.map((c) => c.client.ip + ':' + c.client.port)).size).toBe(1000);
    expect(conns.every((c) => c.zeek.connState(0, 0) === 'S0')).toBe(true);
    expect(t.evictedOverCap).toBeGreaterThan(800);
    expect(conns[0]!.notes.join(' ')).toMatch(/more than 100 connections open at once/);
  });

  it('hands over a connection idle for idleSec of capture time; a later packet starts a new flow', async () => {
    const client = { ip: '10.0.0.1', port: 40000 };
    const server = { ip: '10.0.0.2', port: 8080 };
    const first = tcpConversation([{ dir: 'c2s', bytes: new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n') }], { client, server, startMs: T0, close: 'none' });
    // the same connection continues 10 minutes later (capture time), after other traffic
    const other = synOnly(1, T0 + 5 * 60_000 + 1000);
    const late = tcpConversation([{ dir: 's2c', bytes: new TextEncoder().encode('HTTP/1.1 200 OK\r\n\r\n') }], { client, server, startMs: T0 + 10 * 60_000, handshake: false, close: 'fin' });
    const buf = buildCapture([{ packets: first }, { packets: other }, { packets: late }]);
    const { conns, t } = await table(buf, { idleSec: 300 });
    t.sweep();
    expect(t.evictedIdle).toBe(1);
    const mine = conns.filter((c) => c.server.port === 8080 && c.client.ip === '10.0.0.1');
    expect(mine).toHaveLength(2);
    expect(mine[0]!.zeek.connState(mine[0]!.c2s.wireBytes, 0)).toBe('S1');
    expect(mine[0]!.notes.join(' ')).toMatch(/no packet for more than 300 s of capture time/);
    expect(mine[1]!.notes.join(' ')).not.toMatch(/no packet/);
  });

  it('200k SYN-only connections list every flow within a 192 MB heap', async () => {
    const file = await syn200kFile();
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-syn-flows-'));
    const r = await cliToFile(['flows', file, '-o', 'ndjson'], join(dir, 'flows.ndjson'), 192);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const seen = new Set<string>();
    let s0 = 0;
    for await (const line of createInterface({ input: createReadStream(join(dir, 'flows.ndjson')) })) {
      const f = JSON.parse(line) as { client: { ip: string; port: number }; connState: string };
      seen.add(`${f.client.ip}:${f.client.port}`);
      if (f.connState === 'S0') s0++;
    }
    expect(seen.size).toBe(200_000);
    expect(s0).toBe(200_000);
    expect(r.stderr).toMatch(/TCP connection\(s\) listed unfinished to bound memory \(\d+ least recently active while more than 50,000 were open\)/);
  }, 300_000);
});

describe('report on connections that never close', () => {
  it('250k SYN-only connections from as many clients: every one counted, exemplars listed, within a 192 MB heap', async () => {
    // Before compact flows (analysis/compact-flow.ts) and the compact timeline rows this needed ~600 MB of heap;
    // with a compact flow kept per attempt it runs out of 192 MB at 250k (the heap grew with the capture); with
    // the attempts summarised as they are read (analysis/attempts.ts) it needs what the TCP table's 50,000 open
    // connections need (more than 160 MB), whatever the capture holds: 1M fit in the same heap (bench/connections.bench.ts).
    const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-report-syn-'));
    const file = join(dir, 'syn.pcap');
    writeFileSync(file, await synOnlyCapture(250_000));
    const out = join(dir, 'report.json');
    const r = await cliToFile(['report', file, '--out', out], join(dir, 'stdout'), 192);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const m = JSON.parse(readFileSync(out, 'utf8')) as {
      summary: { flows: { total: number; unknown: number }; timelineEvents: number; aggregated?: { flows: { listed: number; total: number }; timeline: { listed: number; total: number } } };
      flows: { notes: string[]; more?: { count: number } }[];
      timeline: { more?: { count: number } }[];
    };
    expect(m.summary.flows.total).toBe(250_000);
    expect(m.summary.flows.unknown).toBe(250_000);
    expect(m.summary.aggregated?.flows.total).toBe(250_000);
    expect(m.summary.aggregated?.timeline.total).toBe(250_000);
    // bounded listings (FLOW_LIMITS.max, TIMELINE_LIMITS.max)
    expect(m.flows.length).toBeLessThanOrEqual(2000);
    expect(m.timeline.length).toBeLessThanOrEqual(5000);
    expect(m.timeline.length).toBeGreaterThan(0);
    // the listed connections say they were handed over unfinished to bound memory
    expect(m.flows.some((f) => f.notes.some((n) => /more than 50000 connections open at once/.test(n)))).toBe(true);
    // and `report` says so on stderr in the words `flows` uses
    expect(r.stderr).toMatch(/syn\.pcap: \d+ TCP connection\(s\) listed unfinished to bound memory \(\d+ least recently active while more than 50,000 were open\): a later packet of one starts a new flow/);
  }, 900_000);
});

describe('a lost segment in a headers-only capture', () => {
  it('is given up as a gap once the reorder cap of sequence space is buffered; every byte is accounted for', async () => {
    const body = new Uint8Array(20_000 * 1400).fill(0x61);
    const pkts = tcpConversation([{ dir: 'c2s', bytes: body }], { client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 8080 }, startMs: T0, mss: 1400, lose: [3] });
    const buf = buildCapture([{ packets: pkts }], { snaplen: 54 });
    const { conns } = await table(buf, { releaseDecoders: false });
    expect(conns).toHaveLength(1);
    // the hole is given up where ~1 MiB of sequence space (750 segments) waited behind it, not at the end of the capture
    // (segments 0-2 arrive as uncaptured payload, then the hole of segment 3)
    const hole = (conns[0]!.decoder as FakeDecoder).rec.chunks.c2s[3]!;
    expect(hole.kind).toBe('gap');
    expect(hole.frame).toBeLessThan(1000);
    const d = conns[0]!.c2s;
    expect(d.wireBytes).toBe(body.length - 1400);
    expect(d.lost).toBe(1400);
    expect(d.notCaptured).toBe(body.length - 1400);
    expect(d.pending.length).toBe(0);
  }, 120_000);

  it('at the issue\'s size (a 70 MB -s 54 capture of 1M segments, one lost): the CLI lists the flow with all its bytes in a 128 MB heap, single-threaded and in the two-thread pipeline', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-s54-')), 's54.pcap');
    const segments = 1_000_000;
    writeFileSync(file, headersOnlyWithLoss(segments, 3));
    for (const threads of ['1', '2']) {
      const r = await cliToFile(['flows', file, '-o', 'ndjson', '--threads', threads], join(file + threads + '.ndjson'), 128);
      expect(r.code, `--threads ${threads}: ${r.stderr.slice(-2000)}`).toBe(0);
      const flows = readFileSync(file + threads + '.ndjson', 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { bytes: { clientToServer: number }; connState: string; notes: string[] });
      expect(flows).toHaveLength(1);
      expect(flows[0]!.bytes.clientToServer).toBe((segments - 1) * 1400);
      expect(flows[0]!.connState).toBe('SF');
      // the holes before any captured byte are one hole, said once
      expect(flows[0]!.notes.filter((n) => /decoding starts after them/.test(n))).toEqual([`payload not captured: the first ${segments * 1400} byte(s) client→server (frame 4); decoding starts after them`]);
    }
  }, 400_000);
});
