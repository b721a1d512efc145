/** HPACK amplification: a 1 MB h2c capture whose header blocks decode to gigabytes is read in bounded memory. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCapture, tcpConversation, type Message } from '../../src/synth/index.js';
import { MAX_HEADER_LIST_SIZE } from '../../src/protocols/http2/decoder.js';
import { runCli } from '../helpers/cli.js';
import { h2Frame } from '../helpers/h2.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

const frame = h2Frame;

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1), first byte's high bits from `mask`. */
function hpackInt(value: number, prefix: number, mask: number): Buffer {
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

function literalIndexed(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40]), hpackInt(name.length, 7, 0), Buffer.from(name), hpackInt(value.length, 7, 0), Buffer.from(value)]);
}

/** A header block sent as HEADERS + CONTINUATION frames of at most 16 KiB. */
function headerFrames(stream: number, block: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let off = 0; off < block.length; off += 16384) {
    const chunk = block.subarray(off, off + 16384);
    const last = off + 16384 >= block.length;
    const flags = (last ? 0x4 : 0) | (off === 0 ? 0x1 : 0); // END_HEADERS on the last, END_STREAM on HEADERS
    parts.push(frame(off === 0 ? 0x1 : 0x9, flags, stream, chunk));
  }
  return Buffer.concat(parts);
}

function amplificationCapture(): Buffer {
  const settings = frame(0x4, 0, 0, Buffer.from([0x00, 0x01, 0x01, 0x00, 0x00, 0x00])); // HEADER_TABLE_SIZE 16 MiB
  const first = Buffer.concat([
    hpackInt(16 * 1024 * 1024, 5, 0x20), // dynamic table size update to 16 MiB
    Buffer.from([0x82, 0x86, 0x84]), // :method GET, :scheme http, :path /
    literalIndexed(':authority', 'victim'),
    literalIndexed('x-big', 'a'.repeat(16 * 1024)),
  ]);
  const refs = Buffer.concat([Buffer.from([0x82, 0x86, 0x84]), Buffer.alloc(1_000_000, 0x80 | 62)]); // 1M copies of x-big
  const c2s: Message[] = [
    { dir: 'c2s', bytes: Buffer.concat([PREFACE, settings, headerFrames(1, first)]), timeMs: 1_700_000_000_000 },
    { dir: 'c2s', bytes: headerFrames(3, refs), timeMs: 1_700_000_000_010 },
  ];
  const packets = tcpConversation(c2s, { client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 8080 }, startMs: 1_700_000_000_000 - 5 });
  return buildCapture([{ packets }]);
}

describe('HPACK amplification', () => {
  it(`a header block decoding to ~16 GB keeps at most ${MAX_HEADER_LIST_SIZE} bytes, marks the exchange truncated, and flows/report finish in 512 MB`, async () => {
    const f = join(mkdtempSync(join(tmpdir(), 'meshsleuth-hostile-hpack-')), 'h2c.pcap');
    const cap = amplificationCapture();
    expect(cap.length).toBeLessThan(1_200_000);
    writeFileSync(f, cap);
    const env = { NODE_OPTIONS: '--max-old-space-size=512' };
    const r = await runCli(['flows', f, '-o', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const flows = JSON.parse(r.stdout) as { flows?: { http: { path?: string; headersTruncated?: boolean; headers: Record<string, string[]> }[] }[] } | { http: { path?: string; headersTruncated?: boolean; headers: Record<string, string[]> }[] }[];
    const list = Array.isArray(flows) ? flows : flows.flows!;
    const http = list.flatMap((x) => x.http);
    expect(http).toHaveLength(2);
    expect(http[0]!.headersTruncated).toBeUndefined();
    expect(http[1]!.headersTruncated).toBe(true);
    expect(http[1]!.path).toBe('/');
    const kept = (http[1]!.headers['x-big'] ?? []).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept * (16 * 1024 + 37)).toBeLessThanOrEqual(MAX_HEADER_LIST_SIZE + 16 * 1024 + 37);
    const rep = await runCli(['report', f], { env });
    expect(rep.code, rep.stderr).not.toBe(3);
  });
});
