import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { EventEmitter } from 'node:events';
import { captureBuffer, captureFile, readCaptureFrames, newFrameReaderState, type RawFrame, type FrameReaderState } from '../../../src/readers/capture/index.js';
import { readFrames } from '../../../src/readers/capture/frames.js';
import type { Diagnostic } from '../../../src/model/errors.js';
import { InputError } from '../../../src/model/errors.js';
import { PcapWriter } from '../../../src/synth/pcap-writer.js';
import { PcapngWriter } from '../../../src/synth/pcapng-writer.js';
import { SHARED, hasShared, describeShared } from '../../helpers/cli.js';

const require = createRequire(import.meta.url);
// pcap-parser is CommonJS: parse(pathOrStream) → EventEmitter of globalHeader/packet/end/error.
const pcapParser = require('pcap-parser') as { parse(input: string | NodeJS.ReadableStream): EventEmitter };

interface RefPacket {
  sec: number;
  usec: number;
  caplen: number;
  origLen: number;
  data: Buffer;
}

function referencePackets(bytes: Buffer): Promise<{ packets: RefPacket[]; linkType: number; error?: string }> {
  return new Promise((resolve) => {
    const packets: RefPacket[] = [];
    let linkType = -1;
    let error: string | undefined;
    const p = pcapParser.parse(Readable.from([bytes]));
    p.on('globalHeader', (h: { linkLayerType: number }) => (linkType = h.linkLayerType));
    p.on('packet', (pk: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }; data: Buffer }) =>
      packets.push({ sec: pk.header.timestampSeconds, usec: pk.header.timestampMicroseconds, caplen: pk.header.capturedLength, origLen: pk.header.originalLength, data: Buffer.from(pk.data) }),
    );
    p.on('error', (e: Error) => (error = e.message));
    p.on('end', () => resolve({ packets, linkType, ...(error ? { error } : {}) }));
  });
}

async function frames(bytes: Uint8Array, chunk?: number): Promise<{ frames: RawFrame[]; state: FrameReaderState; diags: Diagnostic[] }> {
  const state = newFrameReaderState();
  const diags: Diagnostic[] = [];
  const out: RawFrame[] = [];
  for await (const f of readCaptureFrames(captureBuffer('t.pcap', bytes, chunk), { onDiagnostic: (d) => diags.push(d) }, state)) {
    out.push({ ...f, data: Uint8Array.from(f.data) });
  }
  return { frames: out, state, diags };
}

function samplePackets(n: number, seed = 1): { timeNs: bigint; data: Uint8Array; origLen?: number }[] {
  const out = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    const len = 14 + (x % 1500);
    const data = new Uint8Array(len).map((_, j) => (j * 7 + i) & 0xff);
    out.push({ timeNs: 1_700_000_000_123_456_789n + BigInt(i) * 1_000_001_003n, data });
  }
  return out;
}

describe('classic pcap agrees with pcap-parser (independent reference)', () => {
  for (const bigEndian of [false, true]) {
    it(`generated ${bigEndian ? 'big' : 'little'}-endian µs pcap: same packets, timestamps and bytes`, async () => {
      const w = new PcapWriter({ bigEndian, snaplen: 1000 });
      for (const p of samplePackets(200)) w.add(p);
      const buf = w.toBuffer();
      const ref = await referencePackets(buf);
      const ours = await frames(buf, 4096);
      expect(ref.packets.length).toBe(200);
      expect(ours.frames.length).toBe(ref.packets.length);
      ours.frames.forEach((f, i) => {
        const r = ref.packets[i]!;
        expect([f.sec, Math.floor(f.nsec / 1000), f.data.length, f.origLen]).toEqual([r.sec, r.usec, r.caplen, r.origLen]);
        expect(Buffer.from(f.data).equals(r.data)).toBe(true);
        expect(f.frame).toBe(i + 1);
      });
      // snaplen 1000 cut the long ones
      expect(ours.frames.some((f) => f.data.length < f.origLen)).toBe(true);
    });
  }

  describeShared('every classic µs pcap in ../shared/captures (needs ../shared)', () => {
    const dir = SHARED + 'captures/';
    const files = hasShared ? readdirSync(dir).filter((f) => f.endsWith('.pcap')) : [];
    for (const f of files) {
      it(f, async () => {
        const bytes = readFileSync(dir + f);
        const magic = bytes.readUInt32BE(0);
        const ours = await frames(bytes);
        if (magic === 0x4d3cb2a1 || magic === 0xa1b23c4d || magic === 0x0a0d0d0a) {
          // pcap-parser rejects the nanosecond magic and pcapng (derived-snaplen160 is pcapng despite its name); we read them.
          const ref = await referencePackets(bytes);
          expect(ref.error).toMatch(/unknown magic/);
          expect(ours.frames.length).toBeGreaterThan(0);
          if (magic !== 0x0a0d0d0a) expect(ours.frames[0]!.precision).toBe(9);
          return;
        }
        const ref = await referencePackets(bytes);
        expect(ours.frames.length).toBe(ref.packets.length);
        ours.frames.forEach((fr, i) => {
          const r = ref.packets[i]!;
          expect([fr.sec, fr.nsec / 1000, fr.data.length, fr.origLen]).toEqual([r.sec, r.usec, r.caplen, r.origLen]);
          expect(Buffer.from(fr.data).equals(r.data)).toBe(true);
        });
        expect(ours.frames[0]?.linkType ?? (ref.linkType & 0xffff)).toBe(ref.linkType & 0xffff);
      });
    }
  });
});

describe('pcap variants', () => {
  it('reads nanosecond pcap in both byte orders with full precision', async () => {
    for (const bigEndian of [false, true]) {
      const w = new PcapWriter({ nanos: true, bigEndian });
      for (const p of samplePackets(5)) w.add(p);
      const { frames: fr, state } = await frames(w.toBuffer());
      expect(state.format).toBe('pcap-ns');
      expect(fr[0]).toMatchObject({ sec: 1_700_000_000, nsec: 123_456_789, precision: 9 });
      expect(fr[1]).toMatchObject({ sec: 1_700_000_001, nsec: 123_457_792 });
    }
  });

  it('masks the FCS bits off the link type (tcpdump fuzz files carry 0x30000001)', async () => {
    const w = new PcapWriter({ linkType: 1 });
    for (const p of samplePackets(2)) w.add(p);
    const buf = w.toBuffer();
    buf.writeUInt32LE(0x30000001, 20);
    const { frames: fr } = await frames(buf);
    expect(fr.map((f) => f.linkType)).toEqual([1, 1]);
  });

  it('gives the same frames whatever the chunk size (records split across reads)', async () => {
    const w = new PcapWriter();
    for (const p of samplePackets(50)) w.add(p);
    const buf = w.toBuffer();
    const a = await frames(buf, 7);
    const b = await frames(buf, 1 << 20);
    expect(a.frames.length).toBe(50);
    expect(a.frames.map((f) => [f.offset, f.data.length, Buffer.from(f.data).toString('hex')])).toEqual(b.frames.map((f) => [f.offset, f.data.length, Buffer.from(f.data).toString('hex')]));
  });

  it('reads a file ahead (readInto): the same frames whatever the read sizes, one read at a time and in order, and a batch still intact when the next one arrives', async () => {
    const w = new PcapWriter();
    const packets = samplePackets(400, 7);
    // records longer than a read (the reader's fallback buffer) among the usual ones
    for (const i of [3, 150, 151, 399]) packets[i] = { ...packets[i]!, data: new Uint8Array(9000 + i).map((_, j) => (j * 13 + i) & 0xff) };
    for (const p of packets) w.add(p);
    const file = w.toBuffer();
    const expected = (await frames(file, 1 << 20)).frames.map((f) => [f.offset, Buffer.from(f.data).toString('hex')]);
    for (const [chunk, seed] of [
      [4096, 1],
      [4096, 2],
      [65536, 3],
      [1 << 20, 4],
    ] as const) {
      let pos = 0;
      let inFlight = 0;
      let maxInFlight = 0;
      const offsets: number[] = [];
      let x = seed;
      const src = {
        readInto: async (buf: Buffer, offset: number, length: number): Promise<number> => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          offsets.push(pos);
          await new Promise((r) => setImmediate(r));
          x = (x * 1103515245 + 12345) >>> 0;
          // short reads, as from a pipe
          const n = Math.min(length, file.length - pos, 1 + (x % length));
          file.copy(buf, offset, pos, pos + n);
          pos += n;
          inFlight--;
          return n;
        },
      };
      const got: (string | number)[][] = [];
      let previous: { view: Uint8Array; copy: string }[] = [];
      for await (const batch of readFrames(src, { name: 't.pcap', chunkBytes: chunk })) {
        for (const p of previous) expect(Buffer.from(p.view).toString('hex')).toBe(p.copy);
        previous = batch.map((f) => ({ view: f.data, copy: Buffer.from(f.data).toString('hex') }));
        for (const f of batch) got.push([f.offset, Buffer.from(f.data).toString('hex')]);
      }
      expect(got).toEqual(expected);
      expect(maxInFlight).toBe(1);
      expect(pos).toBe(file.length);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }
  });
});

function ngBlock(le: boolean, type: number, body: Buffer): Buffer {
  const len = 12 + body.length + ((4 - (body.length % 4)) % 4);
  const b = Buffer.alloc(len);
  const w = (v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  w(type, 0);
  w(len, 4);
  body.copy(b, 8);
  w(len, len - 4);
  return b;
}

describe('pcapng', () => {
  it('reads several sections and interfaces with their own link types, names and if_tsresol', async () => {
    const w = new PcapngWriter();
    const eth = w.addInterface({ linkType: 1, name: 'eth0', tsresol: 9 });
    const lo = w.addInterface({ linkType: 276, name: 'lo', tsresol: 6 });
    const pk = samplePackets(4);
    w.addPacket(eth, pk[0]!).addPacket(lo, pk[1]!);
    w.section();
    const raw = w.addInterface({ linkType: 101, name: 'tun0' });
    w.addPacket(raw, pk[2]!).addSimplePacket(pk[3]!);
    const { frames: fr, state, diags } = await frames(w.toBuffer(), 100);
    expect(diags).toEqual([]);
    expect(state.format).toBe('pcapng');
    expect(state.interfaces.map((i) => [i.index, i.linkType, i.name, i.precision])).toEqual([
      [0, 1, 'eth0', 9],
      [1, 276, 'lo', 6],
      [2, 101, 'tun0', 6],
    ]);
    expect(fr.map((f) => [f.frame, f.iface, f.linkType])).toEqual([
      [1, 0, 1],
      [2, 1, 276],
      [3, 2, 101],
      [4, 2, 101],
    ]);
    expect(fr[0]).toMatchObject({ sec: 1_700_000_000, nsec: 123_456_789 });
    expect(fr[1]).toMatchObject({ sec: 1_700_000_001, nsec: 123_457_000 }); // µs interface
    expect(Buffer.from(fr[3]!.data).equals(Buffer.from(pk[3]!.data))).toBe(true);
  });

  it('reads big-endian sections, the obsolete Packet Block, binary if_tsresol and if_tsoffset', async () => {
    for (const le of [true, false]) {
      const u32 = (v: number) => {
        const b = Buffer.alloc(4);
        if (le) b.writeUInt32LE(v);
        else b.writeUInt32BE(v);
        return b;
      };
      const u16 = (v: number) => {
        const b = Buffer.alloc(2);
        if (le) b.writeUInt16LE(v);
        else b.writeUInt16BE(v);
        return b;
      };
      const shb = ngBlock(le, 0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.alloc(8, 0xff)]));
      // IDB: EN10MB, snaplen 0, if_tsresol = 0x83 (2^-3 s units), end of options
      const off = Buffer.alloc(8);
      if (le) off.writeBigInt64LE(100n);
      else off.writeBigInt64BE(100n);
      // ... plus if_tsoffset = 100 s
      const idb = ngBlock(le, 1, Buffer.concat([u16(1), u16(0), u32(0), u16(9), u16(1), Buffer.from([0x83, 0, 0, 0]), u16(14), u16(8), off, u16(0), u16(0)]));
      const data = Buffer.from('00112233445566778899aabb0800', 'hex');
      // obsolete PB: if id (16), drops (16), ts hi, ts lo, caplen, len, data
      const pb = ngBlock(le, 2, Buffer.concat([u16(0), u16(0), u32(0), u32(8 * 1000 + 5), u32(data.length), u32(60), data]));
      const { frames: fr, diags } = await frames(Buffer.concat([shb, idb, pb]));
      expect(diags).toEqual([]);
      expect(fr).toHaveLength(1);
      expect(fr[0]).toMatchObject({ sec: 1100, nsec: 625_000_000, origLen: 60, linkType: 1 });
      expect(Buffer.from(fr[0]!.data).equals(data)).toBe(true);
    }
  });

  it.skipIf(!hasShared)('reads the zeek multi-interface pcapng with ns and µs interfaces (needs ../shared)', async () => {
    const bytes = readFileSync(SHARED + 'captures/zeek-pcapng-multi-interface.pcapng');
    const { frames: fr, state } = await frames(bytes);
    expect(fr).toHaveLength(6);
    expect(state.interfaces.map((i) => i.precision)).toEqual([9, 6]);
    expect(new Set(fr.map((f) => f.iface))).toEqual(new Set([0, 1]));
  });

  it.skipIf(!hasShared)('reads a 0-packet pcapng without complaint (needs ../shared)', async () => {
    const { frames: fr, diags, state } = await frames(readFileSync(SHARED + 'captures/tcpdump-empty.pcapng'));
    expect(fr).toEqual([]);
    expect(diags).toEqual([]);
    expect(state.interfaces).toHaveLength(1);
  });
});

describe('bad input', () => {
  it('rejects a file that is not a capture with the offset and what was found', async () => {
    await expect(frames(Buffer.from('{"configs": []}\n'))).rejects.toThrow(InputError);
    await expect(frames(Buffer.from('{"configs": []}\n'))).rejects.toThrow(/t\.pcap, offset 0: expected a pcap or pcapng capture.*found bytes 7b22636f/);
    await expect(frames(Buffer.alloc(0))).rejects.toThrow(/found an empty file/);
  });

  it('keeps every complete packet of a file cut mid-record and warns with offset and frame', async () => {
    const w = new PcapWriter();
    for (const p of samplePackets(10)) w.add(p);
    const buf = w.toBuffer();
    const { frames: fr, diags, state } = await frames(buf.subarray(0, buf.length - 10), 64);
    expect(fr).toHaveLength(9);
    expect(diags).toHaveLength(1);
    expect(diags[0]!.severity).toBe('warning');
    expect(diags[0]!.location.frame).toBe(10);
    expect(diags[0]!.location.offset).toBe(fr[8]!.offset + 16 + fr[8]!.data.length);
    expect(diags[0]!.message).toMatch(/cut short in the middle of frame 10/);
    expect(state.stoppedEarly).toBe(true);
  });

  it('stops at a corrupt record length with an error, keeps what came before, and does not read on', async () => {
    const w = new PcapWriter();
    for (const p of samplePackets(20)) w.add(p);
    const buf = Buffer.from(w.toBuffer());
    // Corrupt the 6th record's caplen.
    let off = 24;
    for (let i = 0; i < 5; i++) off += 16 + buf.readUInt32LE(off + 8);
    buf.writeUInt32LE(0x7fffff00, off + 8);
    // Feed it from a source that would go on forever: a corrupt length must not make us read it all.
    let served = 0;
    const endless = {
      name: 'corrupt.pcap',
      async *open() {
        yield buf;
        for (;;) {
          served++;
          if (served > 100) throw new Error('reader kept reading after a corrupt length');
          yield Buffer.alloc(1 << 20);
        }
      },
    };
    const diags: Diagnostic[] = [];
    const got: RawFrame[] = [];
    for await (const f of readCaptureFrames(endless, { onDiagnostic: (d) => diags.push(d) })) got.push(f);
    expect(got).toHaveLength(5);
    expect(diags).toHaveLength(1);
    expect(diags[0]).toMatchObject({ severity: 'error', location: { file: 'corrupt.pcap', offset: off, frame: 6 } });
    expect(diags[0]!.message).toMatch(/corrupt pcap record: captured length 2147483392/);
    expect(served).toBeLessThanOrEqual(2);
  });

  it('stops at a corrupt pcapng block length (not a multiple of 4 / trailer mismatch)', async () => {
    const w = new PcapngWriter();
    const id = w.addInterface({ linkType: 1 });
    for (const p of samplePackets(3)) w.addPacket(id, p);
    const good = w.toBuffer();
    const firstEpb = good.indexOf(Buffer.from([6, 0, 0, 0]), 28);
    const len1 = good.readUInt32LE(firstEpb + 4);
    const second = firstEpb + len1;
    const bad = Buffer.from(good);
    bad.writeUInt32LE(0x7ffffff3, second + 4);
    const r1 = await frames(bad);
    expect(r1.frames).toHaveLength(1);
    expect(r1.diags[0]).toMatchObject({ severity: 'error', location: { offset: second, frame: 2 } });
    const bad2 = Buffer.from(good);
    bad2.writeUInt32LE(len1 + 4, firstEpb + len1 - 4);
    const r2 = await frames(bad2);
    expect(r2.frames).toHaveLength(0);
    expect(r2.diags[0]!.message).toMatch(/trailing length/);
  });

  it.skipIf(!hasShared)('derived-cut-mid-packet.pcap: 14 frames kept, warning at offset 9079 frame 15 (needs ../shared)', async () => {
    const diags: Diagnostic[] = [];
    const got: RawFrame[] = [];
    for await (const f of readCaptureFrames(captureFile(SHARED + 'captures/derived-cut-mid-packet.pcap'), { onDiagnostic: (d) => diags.push(d) })) got.push(f);
    expect(got).toHaveLength(14); // tshark reads 14 too
    expect(diags).toHaveLength(1);
    expect(diags[0]).toMatchObject({ severity: 'warning', location: { offset: 9079, frame: 15 } });
  });

  it.skipIf(!hasShared)('zeek-trunc-hdr.pcap: the one 8-byte record is read (its Ethernet header is cut) (needs ../shared)', async () => {
    const { frames: fr, diags } = await frames(readFileSync(SHARED + 'captures/zeek-trunc-hdr.pcap'));
    expect(diags).toEqual([]);
    expect(fr).toHaveLength(1);
    expect(fr[0]).toMatchObject({ origLen: 78 });
    expect(fr[0]!.data.length).toBe(8);
  });
});
