/**
 * Assembles TCP packets of one or more connections into a capture file (classic pcap µs/ns or
 * pcapng), framed for the chosen link type, merged by time.
 */
import { DEFAULT_DST_MAC, DEFAULT_SRC_MAC, frame, LINKTYPE, type LinkOptions } from './link.js';
import { PcapWriter, type CapturedPacket } from './pcap-writer.js';
import { PcapngWriter } from './pcapng-writer.js';
import type { TcpPacket } from './tcp.js';
import { wrap, type WrapKind } from './encap.js';

export type CaptureFormat = 'pcap' | 'pcap-ns' | 'pcapng';

export interface CaptureFlow {
  packets: TcpPacket[];
  /** Link framing for this flow (pcapng: flows with different link types / interface names get their own IDB). */
  link?: Partial<LinkOptions>;
  /**
   * Per-direction overrides, e.g. SLL2 packet type 4 (outgoing) for c2s and 0 (host) for s2c as
   * `tcpdump -i any` in the client's pod records them. EN10MB MAC addresses are swapped for s2c
   * unless given here.
   */
  linkByDir?: Partial<Record<'c2s' | 's2c', Partial<LinkOptions>>>;
  /** pcapng interface name (e.g. "eth0", "lo"). */
  interfaceName?: string;
  /** Write the flow's packets inside this encapsulation (./encap.ts) instead of plain framing. */
  encap?: WrapKind;
}

export interface CaptureOptions {
  format?: CaptureFormat;
  linkType?: number;
  snaplen?: number;
  bigEndian?: boolean;
  /** pcapng: timestamp resolution (default 9) and if_tsoffset written into every interface block. */
  tsresol?: number;
  tsoffset?: bigint;
}

function linkFor(f: CaptureFlow, dir: 'c2s' | 's2c', linkType: number): LinkOptions {
  const base: LinkOptions = { ...f.link, linkType };
  if (dir === 's2c') {
    base.srcMac = f.link?.dstMac ?? DEFAULT_DST_MAC;
    base.dstMac = f.link?.srcMac ?? DEFAULT_SRC_MAC;
  }
  return { ...base, ...f.linkByDir?.[dir], linkType };
}

export function buildCapture(flows: readonly CaptureFlow[], o: CaptureOptions = {}): Buffer {
  const format = o.format ?? 'pcap';
  const defaultLink = o.linkType ?? LINKTYPE.EN10MB;
  const all: Array<{ pkt: CapturedPacket; key: string; linkType: number; name: string | undefined; order: number }> = [];
  let order = 0;
  for (const f of flows) {
    const linkType = f.encap === 'nflog' ? 239 : f.encap ? 1 : (f.link?.linkType ?? defaultLink);
    if (format !== 'pcapng' && linkType !== defaultLink) {
      throw new Error('synth: classic pcap has one link type per file');
    }
    for (const p of f.packets) {
      all.push({
        pkt: { timeNs: p.timeNs, data: f.encap ? wrap(p.ip, f.encap, p.dir).frame : frame(p.ip, linkFor(f, p.dir, linkType)) },
        key: `${linkType}/${f.interfaceName ?? ''}`,
        linkType,
        name: f.interfaceName,
        order: order++,
      });
    }
  }
  all.sort((a, b) => (a.pkt.timeNs < b.pkt.timeNs ? -1 : a.pkt.timeNs > b.pkt.timeNs ? 1 : a.order - b.order));
  if (format === 'pcapng') {
    const w = new PcapngWriter({ ...(o.bigEndian !== undefined ? { bigEndian: o.bigEndian } : {}) });
    const ids = new Map<string, number>();
    for (const a of all) {
      let id = ids.get(a.key);
      if (id === undefined) {
        id = w.addInterface({
          linkType: a.linkType,
          ...(a.name !== undefined ? { name: a.name } : {}),
          ...(o.snaplen !== undefined ? { snaplen: o.snaplen } : {}),
          tsresol: o.tsresol ?? 9,
          ...(o.tsoffset !== undefined ? { tsoffset: o.tsoffset } : {}),
        });
        ids.set(a.key, id);
      }
      w.addPacket(id, a.pkt);
    }
    return w.toBuffer();
  }
  const w = new PcapWriter({
    linkType: defaultLink,
    nanos: format === 'pcap-ns',
    ...(o.snaplen !== undefined ? { snaplen: o.snaplen } : {}),
    ...(o.bigEndian !== undefined ? { bigEndian: o.bigEndian } : {}),
  });
  for (const a of all) w.add(a.pkt);
  return w.toBuffer();
}
