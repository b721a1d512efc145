/**
 * What a capture held besides TCP flows, so nothing is dropped silently: every frame that gave no
 * TCP segment counted by reason (UDP, ICMP, ARP, other IP protocols and ethertypes, unsupported
 * link types, unknown encapsulations, damage), the tunnels that were decapsulated, and the UDP
 * conversations, listed like Zeek's conn.log.
 */
import type { TunnelLayer } from '../model/records.js';
import { SKIP_REASONS, LINKTYPE_NAMES, type CaptureStats, type FragmentDropReason, type SkipReason, type UdpConversation } from '../readers/capture/index.js';
import { rfc3339 } from './flows.js';

/** A UDP conversation (Zeek conn.log fields under meshsleuth's names). */
export interface UdpConversationRecord {
  file: string;
  proto: 'udp';
  /** Originator (first sender) and responder. */
  client: { ip: string; port: number };
  server: { ip: string; port: number };
  start: string;
  end: string;
  /** Seconds from the first to the last datagram. */
  duration: number;
  packets: { clientToServer: number; serverToClient: number };
  bytes: { clientToServer: number; serverToClient: number };
  /** Zeek's UDP conn_state: SF (both sides sent), S0 (only the originator), SHR (only the responder). */
  connState: 'SF' | 'S0' | 'SHR';
  service: string | null;
  /** First and last frame numbers (the full list is bounded). */
  frames: number[];
  tunnel: TunnelLayer[] | null;
}

export interface CaptureAccounting {
  file: string;
  frames: number;
  /** Frames that gave a TCP segment. */
  tcpFrames: number;
  /** Frames not analysed, by reason; `udpDatagrams` are in `skipped.udp` too. */
  skipped: Partial<Record<SkipReason, number>>;
  /** Details of what was skipped ("ethertype 0x88cc (LLDP)", "GRE protocol 0x880b", ...). */
  skippedDetail: { what: string; reason: SkipReason; frames: number; firstFrame: number }[];
  unsupportedLinkTypes: { linkType: number; name: string | null; firstFrame: number }[];
  /** Frames decapsulated, by encapsulation. */
  tunnels: Record<string, number>;
  udp: { datagrams: number; conversations: number; notListed: number };
  fragments: { seen: number; reassembled: number; dropped: number; droppedBy: Partial<Record<FragmentDropReason, number>> };
  truncatedFrames: number;
}

export function udpRecords(file: string, stats: CaptureStats): UdpConversationRecord[] {
  return stats.udp.conversations().map((c) => udpRecord(file, c));
}

function udpRecord(file: string, c: UdpConversation): UdpConversationRecord {
  const startMs = c.startSec * 1000 + c.startNsec / 1e6;
  const endMs = c.endSec * 1000 + c.endNsec / 1e6;
  return {
    file,
    proto: 'udp',
    client: { ...c.client },
    server: { ...c.server },
    start: rfc3339(c.startSec, c.startNsec, c.precision),
    end: rfc3339(c.endSec, c.endNsec, c.precision),
    duration: Math.round(endMs - startMs) / 1000,
    packets: { ...c.packets },
    bytes: { ...c.bytes },
    connState: c.connState,
    service: c.service,
    frames: c.frames.length > 2 ? [c.frames[0]!, c.frames[c.frames.length - 1]!] : [...c.frames],
    tunnel: c.tunnel,
  };
}

export function captureAccounting(file: string, stats: CaptureStats): CaptureAccounting {
  const d = stats.decode;
  const skipped: Partial<Record<SkipReason, number>> = {};
  for (const r of SKIP_REASONS) if (d.skipped[r] > 0) skipped[r] = d.skipped[r];
  return {
    file,
    frames: d.frames,
    tcpFrames: d.tcp,
    skipped,
    skippedDetail: [...d.skippedDetail].map(([what, v]) => ({ what, reason: v.reason, frames: v.frames, firstFrame: v.firstFrame })).sort((a, b) => b.frames - a.frames),
    unsupportedLinkTypes: [...d.unsupportedLinkTypes].map(([linkType, firstFrame]) => ({ linkType, name: LINKTYPE_NAMES[linkType] ?? null, firstFrame })),
    tunnels: { ...d.tunnels } as Record<string, number>,
    udp: { datagrams: stats.udp.datagrams, conversations: stats.udp.size, notListed: stats.udp.overflowDatagrams },
    fragments: { ...d.fragments, droppedBy: { ...d.fragments.droppedBy } },
    truncatedFrames: d.truncatedFrames,
  };
}

const REASON_TEXT: Record<SkipReason, string> = {
  udp: 'UDP',
  icmp: 'ICMP',
  arp: 'ARP',
  'non-tcp': 'other IP protocol',
  'non-ip': 'not IP',
  'unsupported-link-type': 'unsupported link type',
  'unknown-encapsulation': 'unknown encapsulation',
  'truncated-header': 'truncated header',
  'bad-ip-header': 'bad IP/TCP header',
  'fragment-pending': 'IP fragment (part of a reassembled datagram)',
  'fragment-dropped': 'IP fragment not reassembled',
  'too-deep': 'encapsulation nested too deep',
};

/**
 * One line for stderr: "f.pcap: 120 frames, 100 TCP; not analysed: 12 UDP (3 conversations), 8 ARP,
 * ...; decapsulated: 100 vxlan". Null when every frame was TCP and nothing was decapsulated.
 */
export function accountingLine(a: CaptureAccounting): string | null {
  const parts: string[] = [];
  for (const r of SKIP_REASONS) {
    const n = a.skipped[r];
    if (!n || r === 'fragment-pending') continue;
    let s = `${n} ${REASON_TEXT[r]}`;
    if (r === 'udp') s += ` (${a.udp.conversations} conversation${a.udp.conversations === 1 ? '' : 's'})`;
    const details = a.skippedDetail.filter((x) => x.reason === r);
    if (details.length) s += ` (${details.slice(0, 3).map((x) => `${x.frames}× ${x.what}`).join(', ')}${details.length > 3 ? ', …' : ''})`;
    parts.push(s);
  }
  const tunnels = Object.entries(a.tunnels).map(([k, v]) => `${v} ${k}`);
  if (!parts.length && !tunnels.length && !a.fragments.reassembled) return null;
  let line = `${a.file}: ${a.frames} frame${a.frames === 1 ? '' : 's'}, ${a.tcpFrames} TCP`;
  if (tunnels.length) line += `; decapsulated: ${tunnels.join(', ')}`;
  if (parts.length) line += `; not analysed: ${parts.join(', ')}`;
  if (a.fragments.reassembled) line += `; ${a.fragments.seen} IP fragments reassembled into ${a.fragments.reassembled} datagrams`;
  return line;
}
