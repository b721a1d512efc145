/**
 * pcapng writer: Section Header Block, Interface Description Blocks (if_name, if_tsresol,
 * per-interface link type and snap length) and Enhanced Packet Blocks; optionally Simple Packet
 * Blocks and several sections, so readers can be tested on the variants real files contain.
 */
import type { CapturedPacket } from './pcap-writer.js';

export interface PcapngInterface {
  linkType: number;
  name?: string;
  snaplen?: number;
  /** Decimal exponent of the timestamp unit: 6 = µs (default), 9 = ns, 0 = seconds. */
  tsresol?: number;
  /** if_tsoffset: seconds the reader adds to every timestamp (signed 64-bit; timestamps are written without it). */
  tsoffset?: bigint;
}

export interface PcapngWriterOptions {
  bigEndian?: boolean;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

export class PcapngWriter {
  private readonly le: boolean;
  private readonly chunks: Buffer[] = [];
  private interfaces: PcapngInterface[] = [];

  constructor(opts: PcapngWriterOptions = {}) {
    this.le = !opts.bigEndian;
    this.section();
  }

  /** Starts a new section (SHB); interfaces of earlier sections are forgotten, as the spec says. */
  section(): this {
    const body = Buffer.alloc(16);
    this.u32(body, 0x1a2b3c4d, 0);
    this.u16(body, 1, 4);
    this.u16(body, 0, 6);
    // section length -1 (unknown)
    body.writeInt32LE(-1, 8);
    body.writeInt32LE(-1, 12);
    this.block(0x0a0d0d0a, body, this.options([[4, Buffer.from('meshsleuth synth')]]));
    this.interfaces = [];
    return this;
  }

  /** Adds an Interface Description Block; returns its interface id within the current section. */
  addInterface(iface: PcapngInterface): number {
    const body = Buffer.alloc(8);
    this.u16(body, iface.linkType, 0);
    this.u16(body, 0, 2);
    this.u32(body, iface.snaplen ?? 262144, 4);
    const opts: Array<[number, Buffer]> = [];
    if (iface.name !== undefined) opts.push([2, Buffer.from(iface.name, 'utf8')]);
    if (iface.tsresol !== undefined && iface.tsresol !== 6) opts.push([9, Buffer.from([iface.tsresol])]);
    if (iface.tsoffset !== undefined) {
      const v = Buffer.alloc(8);
      if (this.le) v.writeBigInt64LE(iface.tsoffset);
      else v.writeBigInt64BE(iface.tsoffset);
      opts.push([14, v]);
    }
    this.block(1, body, this.options(opts));
    this.interfaces.push(iface);
    return this.interfaces.length - 1;
  }

  /** Enhanced Packet Block on interface `ifId`. */
  addPacket(ifId: number, pkt: CapturedPacket): this {
    const iface = this.interfaces[ifId];
    if (!iface) throw new Error(`pcapng writer: no interface ${ifId} in this section`);
    const snap = iface.snaplen ?? 262144;
    const capLen = Math.min(pkt.data.length, snap === 0 ? pkt.data.length : snap);
    const units = (iface.tsresol === 9 ? pkt.timeNs : pkt.timeNs / 10n ** BigInt(9 - (iface.tsresol ?? 6))) & 0xffffffffffffffffn;
    const body = Buffer.alloc(20 + capLen + pad4(capLen));
    this.u32(body, ifId, 0);
    this.u32(body, Number(units >> 32n), 4);
    this.u32(body, Number(units & 0xffffffffn), 8);
    this.u32(body, capLen, 12);
    this.u32(body, pkt.origLen ?? pkt.data.length, 16);
    Buffer.from(pkt.data.buffer, pkt.data.byteOffset, capLen).copy(body, 20);
    this.block(6, body, Buffer.alloc(0));
    return this;
  }

  /** Simple Packet Block (always interface 0, no timestamp). */
  addSimplePacket(pkt: CapturedPacket): this {
    const iface = this.interfaces[0];
    if (!iface) throw new Error('pcapng writer: SPB needs interface 0');
    const snap = iface.snaplen ?? 262144;
    const capLen = Math.min(pkt.data.length, snap === 0 ? pkt.data.length : snap);
    const body = Buffer.alloc(4 + capLen + pad4(capLen));
    this.u32(body, pkt.origLen ?? pkt.data.length, 0);
    Buffer.from(pkt.data.buffer, pkt.data.byteOffset, capLen).copy(body, 4);
    this.block(3, body, Buffer.alloc(0));
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }

  private options(opts: Array<[number, Buffer]>): Buffer {
    if (opts.length === 0) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for (const [code, value] of opts) {
      const h = Buffer.alloc(4);
      this.u16(h, code, 0);
      this.u16(h, value.length, 2);
      parts.push(h, value, Buffer.alloc(pad4(value.length)));
    }
    parts.push(Buffer.alloc(4)); // opt_endofopt
    return Buffer.concat(parts);
  }

  private block(type: number, body: Buffer, opts: Buffer): void {
    const total = 12 + body.length + opts.length;
    const head = Buffer.alloc(8);
    this.u32(head, type, 0);
    this.u32(head, total, 4);
    const tail = Buffer.alloc(4);
    this.u32(tail, total, 0);
    this.chunks.push(head, body, opts, tail);
  }

  private u32(b: Buffer, v: number, off: number): void {
    if (this.le) b.writeUInt32LE(v >>> 0, off);
    else b.writeUInt32BE(v >>> 0, off);
  }

  private u16(b: Buffer, v: number, off: number): void {
    if (this.le) b.writeUInt16LE(v, off);
    else b.writeUInt16BE(v, off);
  }
}
