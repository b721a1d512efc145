/**
 * Packet analysis in the manner of Zeek's packet-analysis framework: every layer (a link type,
 * Ethernet, VLAN, MPLS, IP, GRE, UDP, VXLAN, Geneve, ...) is a small analyzer that reads its own
 * header from the packet context, moves the offset past it and names the next analyzer by the
 * identifier it read (an ethertype, an IP protocol number, a GRE protocol type, a UDP port or the
 * payload's own shape). Tunnels are analyzers like any other: they record the outer header as a
 * `TunnelLayer` (kept as context) and hand the inner packet back to the dispatcher.
 *
 * This file holds what the analyzers share: the context, the analyzer ids and the skip reasons.
 */

import type { TunnelKind, TunnelLayer } from '../../../model/records.js';

export type { TunnelKind, TunnelLayer };

/** Why a frame produced no TCP segment (counted per reason; never silent). */
export type SkipReason =
  | 'unsupported-link-type'
  /** An ethertype (or LLC SAP) that carries neither IP nor an encapsulation we decode. */
  | 'non-ip'
  | 'arp'
  /** An IP protocol other than TCP, UDP, ICMP and the tunnel protocols. */
  | 'non-tcp'
  | 'udp'
  | 'icmp'
  /** A tunnel or encapsulation whose payload we cannot decode (unknown protocol type, encrypted PPP, ...). */
  | 'unknown-encapsulation'
  | 'truncated-header'
  | 'bad-ip-header'
  | 'fragment-pending'
  | 'fragment-dropped'
  /** Encapsulations nested deeper than MAX_DEPTH (a loop in hostile data). */
  | 'too-deep';

export const SKIP_REASONS: readonly SkipReason[] = [
  'unsupported-link-type',
  'non-ip',
  'arp',
  'non-tcp',
  'udp',
  'icmp',
  'unknown-encapsulation',
  'truncated-header',
  'bad-ip-header',
  'fragment-pending',
  'fragment-dropped',
  'too-deep',
];

/** Analyzer ids (the "identifiers" of Zeek's dispatch tables, resolved to analyzers). */
export const A = {
  STOP: 0,
  TCP: 1,
  ETHERNET: 2,
  IPV4: 3,
  IPV6: 4,
  /** IPv4 or IPv6 by the version nibble. */
  IP: 5,
  VLAN: 6,
  MPLS: 7,
  LLC: 8,
  PBB: 9,
  PPPOE: 10,
  PPP: 11,
  GRE: 12,
  UDP: 13,
  VXLAN: 14,
  GENEVE: 15,
  ERSPAN_II: 16,
  ERSPAN_III: 17,
  VXLAN_GPE: 18,
  NSH: 19,
  TEREDO: 20,
  WCCP: 21,
  GRE_IN_UDP: 22,
  MPLS_IN_UDP: 23,
  ERSPAN_I: 24,
} as const;

export type AnalyzerId = (typeof A)[keyof typeof A];

/** Nested encapsulations followed at most (a deeper stack is hostile or broken). */
export const MAX_DEPTH = 32;

/**
 * The mutable context one frame is decoded in (one object reused for every frame: the plain path
 * allocates nothing beyond the segment it returns).
 */
export interface PacketCtx {
  /** Buffer being read (the frame, or a reassembled IP datagram). */
  d: Uint8Array;
  /** Offset of the current layer in `d`. */
  o: number;
  /** End of the captured bytes that belong to the current layer (outer length fields applied). */
  end: number;
  sec: number;
  frame: number;
  loopback: boolean;
  /** Interface index from the link header (SLL2), 0 when none. */
  ifIndex: number;
  /** Set by the IP analyzers. */
  family: 4 | 6;
  src: string;
  dst: string;
  /** Transport header: buffer, offset, end per the IP header (may exceed the captured bytes). */
  t: Uint8Array;
  to: number;
  tEnd: number;
  /** Set by the UDP analyzer: ports and payload length (per the UDP header, else the IP length). */
  sport: number;
  dport: number;
  udpPayload: number;
  /** Encapsulations passed so far, outermost first; null on the plain path. */
  tunnels: TunnelLayer[] | null;
  /** Layers passed (guards against loops). */
  depth: number;
  /** Why the frame stopped (when an analyzer returns STOP). */
  skip: SkipReason | null;
  /** What exactly was not decoded, e.g. "ethertype 0x88cc" or "GRE protocol 0x880b". */
  detail: string | null;
}

export function newPacketCtx(): PacketCtx {
  return {
    d: new Uint8Array(0),
    o: 0,
    end: 0,
    sec: 0,
    frame: 0,
    loopback: false,
    ifIndex: 0,
    family: 4,
    src: '',
    dst: '',
    t: new Uint8Array(0),
    to: 0,
    tEnd: 0,
    sport: 0,
    dport: 0,
    udpPayload: 0,
    tunnels: null,
    depth: 0,
    skip: null,
    detail: null,
  };
}

/** Stops decoding the frame for `reason` (with an optional detail for the per-kind counters). */
export function stop(ctx: PacketCtx, reason: SkipReason, detail: string | null = null): 0 {
  ctx.skip = reason;
  ctx.detail = detail;
  return A.STOP;
}

/** Enters a tunnel: records the outer header (the IP addresses the context holds now). */
export function enterTunnel(ctx: PacketCtx, layer: TunnelLayer): void {
  (ctx.tunnels ??= []).push(layer);
}

export const hex4 = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`;

/** Names of ethertypes and IP protocols that show up in the skip details. */
export const ETHERTYPE_NAMES: Record<number, string> = {
  0x0806: 'ARP',
  0x8035: 'RARP',
  0x88cc: 'LLDP',
  0x8809: 'slow protocols (LACP)',
  0x888e: 'EAPOL',
  0x8863: 'PPPoE discovery',
  0x88f7: 'PTP',
  0x8100: '802.1Q',
  0x9000: 'loopback (CTP)',
  0x0842: 'Wake-on-LAN',
  0x88e5: 'MACsec',
  0x8914: 'FIP',
  0x8906: 'FCoE',
};

export const IP_PROTOCOL_NAMES: Record<number, string> = {
  0: 'IPv6 hop-by-hop',
  1: 'ICMP',
  2: 'IGMP',
  6: 'TCP',
  17: 'UDP',
  41: 'IPv6',
  47: 'GRE',
  50: 'ESP',
  51: 'AH',
  58: 'ICMPv6',
  59: 'no next header',
  89: 'OSPF',
  103: 'PIM',
  112: 'VRRP',
  132: 'SCTP',
  136: 'UDP-Lite',
};
