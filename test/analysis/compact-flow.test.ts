/**
 * A compact flow (what `report` keeps per captured connection) is the same record as the flow it was made
 * from: the same JSON, key for key; only the storage is shared (evidence lists, empty HTTP lists, repeated
 * strings), and the shared lists cannot be written through.
 */
import { expect, it } from 'vitest';
import { flowsFromCapture } from '../../src/analysis/flows.js';
import { FlowCompactor } from '../../src/analysis/compact-flow.js';
import { createStreamDecoder } from '../../src/protocols/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { captureBuffer, captureFile } from '../../src/readers/capture/index.js';
import { buildCapture as buildMixed } from '../../src/synth/mixed-capture.js';
import { buildCapture } from '../../src/synth/capture.js';
import { tcpConversation } from '../../src/synth/tcp.js';
import type { Flow } from '../../src/model/records.js';

const T0 = 1_700_000_000_000;
const enc = (s: string) => new TextEncoder().encode(s);

async function flowsOf(buf: Buffer, name: string): Promise<Flow[]> {
  const out: Flow[] = [];
  for await (const f of flowsFromCapture(captureBuffer(name, buf), { decoder: createStreamDecoder })) out.push(f);
  return out;
}

it('keeps every flow the same JSON while sharing evidence lists and empty HTTP lists', async () => {
  const server = { ip: '10.0.0.2', port: 8080 };
  const packets = [];
  for (let i = 0; i < 40; i++) {
    const client = { ip: `10.1.0.${i + 1}`, port: 40000 + i };
    // every third connection carries a cleartext exchange, the others only their SYN
    const msgs = i % 3 === 0 ? [{ dir: 'c2s' as const, bytes: enc(`GET /item/${i} HTTP/1.1\r\nhost: shop\r\n\r\n`) }, { dir: 's2c' as const, bytes: enc('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n') }] : [];
    const pk = tcpConversation(msgs, { client, server, startMs: T0 + i * 3, close: i % 3 === 0 ? 'fin' : 'none', seed: i + 1 });
    packets.push(...(i % 3 === 0 ? pk : pk.slice(0, 1)));
  }
  const flows = await flowsOf(buildCapture([{ packets }]), 'mixed.pcap');
  expect(flows).toHaveLength(40);
  const before = flows.map((f) => JSON.stringify(f));
  const c = new FlowCompactor();
  const compact = flows.map((f) => c.compact(f));
  expect(compact.map((f) => JSON.stringify(f))).toEqual(before);

  const synOnly = compact.filter((f) => f.http.length === 0);
  const withHttp = compact.filter((f) => f.http.length > 0);
  expect(synOnly.length).toBeGreaterThan(20);
  expect(withHttp.length).toBeGreaterThan(10);
  // one evidence list per distinct list, one empty HTTP list for all, all frozen
  expect(new Set(synOnly.map((f) => f.evidence)).size).toBe(1);
  expect(new Set(withHttp.map((f) => f.evidence)).size).toBe(1);
  expect(new Set(synOnly.map((f) => f.http)).size).toBe(1);
  expect(() => synOnly[0]!.evidence.push('x')).toThrow(TypeError);
  expect(() => synOnly[0]!.http.push(withHttp[0]!.http[0]!)).toThrow(TypeError);
  // one server endpoint object for all, one byte-count object per distinct pair, frozen
  expect(new Set(compact.map((f) => f.server)).size).toBe(1);
  expect(new Set(synOnly.map((f) => f.bytes)).size).toBe(1);
  expect(() => {
    (compact[0]!.server as { port: number }).port = 1;
  }).toThrow(TypeError);
  // per-flow lists stay per flow: the exchanges and the frames
  expect(new Set(withHttp.map((f) => f.http)).size).toBe(withHttp.length);
  expect(new Set(compact.map((f) => f.frames)).size).toBe(40);
  // a SYN-only flow's end is its start
  expect(synOnly.every((f) => f.end === f.start)).toBe(true);
});

it('keeps an id that is not file#stream as it was', () => {
  const c = new FlowCompactor();
  const f = {
    id: 'custom-id', file: 'a.pcap', client: { ip: '10.0.0.1', port: 1 }, server: { ip: '10.0.0.2', port: 2 }, start: 's', end: 'e', startMs: 0, endMs: 1,
    packets: 1, bytes: { clientToServer: 0, serverToClient: 0 }, frames: [1], security: 'unknown', evidence: ['no-payload'], tls: null, protocol: 'tcp', http: [], sidecarLocal: false, notes: ['n'],
  } satisfies Flow;
  const json = JSON.stringify(f);
  expect(JSON.stringify(c.compact(f))).toBe(json);
  expect(f.id).toBe('custom-id');
});

it('keeps TLS sessions, HTTP exchanges and database/cache statements the same JSON when their strings are shared', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-compact-flow-'));
  try {
    const path = join(dir, 'mixed.pcap');
    await buildMixed(path, 3e6);
    const flows: Flow[] = [];
    for await (const f of flowsFromCapture(captureFile(path), { decoder: createStreamDecoder })) flows.push(f);
    // the mix has every kind the compactor shares strings of
    expect(flows.filter((f) => f.tls?.sni && f.tls.ja4).length).toBeGreaterThan(5);
    expect(flows.filter((f) => (f.app?.statements.length ?? 0) > 0).length).toBeGreaterThan(1);
    expect(flows.filter((f) => f.http.some((x) => x.method)).length).toBeGreaterThan(5);
    const before = flows.map((f) => JSON.stringify(f));
    const c = new FlowCompactor();
    expect(flows.map((f) => JSON.stringify(c.compact(f)))).toEqual(before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
