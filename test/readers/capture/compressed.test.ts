/**
 * Compressed captures are read transparently, decided by their first bytes: gzip (one or several
 * members, file or stdin) and Zstandard (the fixture was written by the zstd 1.5 command-line tool
 * from a generated VXLAN capture); damaged compressed data is an InputError naming the file.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { flowsFromCapture } from '../../../src/analysis/flows.js';
import { captureFile, maybeDecompressed, sniffCompression } from '../../../src/readers/capture/index.js';
import { createStreamDecoder } from '../../../src/protocols/index.js';
import { InputError } from '../../../src/model/errors.js';
import type { Flow } from '../../../src/model/records.js';
import { buildCapture } from '../../../src/synth/capture.js';
import { tcpConversation } from '../../../src/synth/tcp.js';
import { http1Conversation } from '../../../src/synth/http.js';
import { SHARED, hasShared } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'meshsleuth-compressed-'));

async function flows(path: string): Promise<Flow[]> {
  const out: Flow[] = [];
  for await (const f of flowsFromCapture(captureFile(path), { decoder: createStreamDecoder })) out.push(f);
  return out;
}

function capture(): Buffer {
  const app = http1Conversation([{ request: { path: '/gz', host: 'h' }, response: { status: 200, body: 'x'.repeat(20000) } }]);
  return buildCapture([{ packets: tcpConversation(app.map((m) => ({ dir: m.dir, bytes: m.bytes })), { client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 80 }, startMs: 1_700_000_000_000 }) }]);
}

describe('compressed captures', () => {
  it('recognises gzip and Zstandard by their magic bytes', () => {
    expect(sniffCompression(Uint8Array.from([0x1f, 0x8b, 8, 0]))).toBe('gzip');
    expect(sniffCompression(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(sniffCompression(Uint8Array.from([0xd4, 0xc3, 0xb2, 0xa1]))).toBeNull();
  });

  it('.pcap.gz gives the same flows as the plain file; several gzip members are one stream', async () => {
    const raw = capture();
    writeFileSync(join(dir, 'a.pcap'), raw);
    writeFileSync(join(dir, 'a.pcap.gz'), gzipSync(raw));
    writeFileSync(join(dir, 'multi.gz'), Buffer.concat([gzipSync(raw.subarray(0, 1000)), gzipSync(raw.subarray(1000))]));
    const plain = await flows(join(dir, 'a.pcap'));
    expect(plain).toHaveLength(1);
    const strip = (f: Flow) => ({ ...f, id: '', file: '' });
    expect((await flows(join(dir, 'a.pcap.gz'))).map(strip)).toEqual(plain.map(strip));
    expect((await flows(join(dir, 'multi.gz'))).map(strip)).toEqual(plain.map(strip));
  });

  it('a gzip stream (stdin) is decompressed too', async () => {
    const gz = gzipSync(capture());
    async function* chunks() {
      for (let i = 0; i < gz.length; i += 7) yield gz.subarray(i, i + 7);
    }
    const parts: Uint8Array[] = [];
    for await (const c of maybeDecompressed(chunks(), '-')) parts.push(c);
    expect(Buffer.concat(parts).equals(capture())).toBe(true);
  });

  it('.pcapng.zst (zstd CLI output): the VXLAN-wrapped HTTP flow', async () => {
    const f = await flows(new URL('../../fixtures/capture/overlay-http.pcapng.zst', import.meta.url).pathname);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ security: 'plaintext', protocol: 'http/1.1', tunnel: { kind: 'vxlan', vni: 4096 } });
    expect(f[0]!.http[0]).toMatchObject({ method: 'GET', path: '/zstd', status: 200 });
  });

  it('damaged or cut compressed data is an InputError naming the file', async () => {
    const gz = gzipSync(capture());
    writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, 300));
    await expect(flows(join(dir, 'cut.gz'))).rejects.toThrow(InputError);
    await expect(flows(join(dir, 'cut.gz'))).rejects.toThrow(/cut\.gz.*damaged or cut-short gzip stream/);
    // (fzstd does not verify the optional content checksum, so a zstd stream cut short is the
    // damage it can report; flipped bytes inside a block surface as a damaged capture instead)
    const zst = readFileSync(new URL('../../fixtures/capture/overlay-http.pcapng.zst', import.meta.url));
    writeFileSync(join(dir, 'cut.zst'), zst.subarray(0, 300));
    await expect(flows(join(dir, 'cut.zst'))).rejects.toThrow(/cut\.zst.*damaged or cut-short zstd stream \(unexpected EOF\)/);
  });

  it.skipIf(!hasShared)('a real capture gzipped agrees with the original (needs ../shared)', async () => {
    const src = SHARED + 'captures/zeek-tls-client-certificate.pcap';
    writeFileSync(join(dir, 'z.pcap.gz'), gzipSync(readFileSync(src)));
    const a = await flows(src);
    const b = await flows(join(dir, 'z.pcap.gz'));
    expect(b.map((f) => [f.security, f.tls?.ja3, f.connState])).toEqual(a.map((f) => [f.security, f.tls?.ja3, f.connState]));
  });
});
