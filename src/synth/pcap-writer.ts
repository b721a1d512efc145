/**
 * Classic libpcap file writer (for tests and bundled sample captures). Writes the global header
 * and one record per packet: microsecond (magic a1b2c3d4) or nanosecond (a1b23c4d) precision,
 * little- or big-endian. Packets longer than the snap length are cut to it (caplen < origlen),
 * exactly as tcpdump `-s` does.
 */
import { LINKTYPE } from './link.js';

export interface CapturedPacket {
  /** Capture time, nanoseconds since the Unix epoch. */
  timeNs: bigint;
  /** The frame as it would be on the wire, link-layer header included. */
  data: Uint8Array;
  /** Original length on the wire; defaults to data.length. */
  origLen?: number;
}

export interface PcapWriterOptions {
  linkType?: number;
  snaplen?: number;
  /** Nanosecond-resolution magic (tcpdump --time-stamp-precision=nano). */
  nanos?: boolean;
  bigEndian?: boolean;
}

/** The 24-byte global header of a little-endian microsecond pcap (magic a1b2c3d4), for writers that stream records themselves. */
export function pcapGlobalHeader(snaplen = 262144, linkType: number = LINKTYPE.EN10MB): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(linkType, 20);
  return h;
}

export class PcapWriter {
  readonly linkType: number;
  readonly snaplen: number;
  readonly nanos: boolean;
  readonly bigEndian: boolean;
  private readonly chunks: Buffer[] = [];
  private count = 0;

  constructor(opts: PcapWriterOptions = {}) {
    this.linkType = opts.linkType ?? LINKTYPE.EN10MB;
    this.snaplen = opts.snaplen ?? 262144;
    this.nanos = opts.nanos ?? false;
    this.bigEndian = opts.bigEndian ?? false;
    const h = Buffer.alloc(24);
    const le = !this.bigEndian;
    const u32 = (v: number, off: number) => (le ? h.writeUInt32LE(v >>> 0, off) : h.writeUInt32BE(v >>> 0, off));
    const u16 = (v: number, off: number) => (le ? h.writeUInt16LE(v, off) : h.writeUInt16BE(v, off));
    u32(this.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    u16(2, 4);
    u16(4, 6);
    u32(0, 8); // thiszone
    u32(0, 12); // sigfigs
    u32(this.snaplen, 16);
    u32(this.linkType, 20);
    this.chunks.push(h);
  }

  get packets(): number {
    return this.count;
  }

  add(pkt: CapturedPacket): void {
    const origLen = pkt.origLen ?? pkt.data.length;
    const capLen = Math.min(pkt.data.length, this.snaplen);
    const h = Buffer.alloc(16);
    const le = !this.bigEndian;
    const u32 = (v: number, off: number) => (le ? h.writeUInt32LE(v >>> 0, off) : h.writeUInt32BE(v >>> 0, off));
    const sec = pkt.timeNs / 1_000_000_000n;
    const subNs = pkt.timeNs % 1_000_000_000n;
    u32(Number(sec), 0);
    u32(this.nanos ? Number(subNs) : Number(subNs / 1000n), 4);
    u32(capLen, 8);
    u32(origLen, 12);
    this.chunks.push(h, Buffer.from(pkt.data.buffer, pkt.data.byteOffset, capLen));
    this.count++;
  }

  addAll(pkts: Iterable<CapturedPacket>): this {
    for (const p of pkts) this.add(p);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** One-shot helper: a complete classic pcap file. */
export function writePcap(pkts: Iterable<CapturedPacket>, opts: PcapWriterOptions = {}): Buffer {
  return new PcapWriter(opts).addAll(pkts).toBuffer();
}
