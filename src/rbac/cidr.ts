/**
 * IP addresses and envoy.config.core.v3.CidrRange (source/common/network/cidr_range.cc, lc_trie.h):
 * families never mix (no IPv4-mapped folding), unset prefix_len = 0, oversize prefix lengths are
 * clamped to 32/128, host bits are masked, and a non-IP address never matches.
 */
import { RbacConfigError } from './errors.js';
import { asObj, jp, optInt, optStr } from './cfg.js';

export interface IpAddr {
  family: 4 | 6;
  bytes: Uint8Array;
}

/** inet_pton(AF_INET): four decimal octets, no leading zeros. */
function parseV4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === '0')) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** inet_pton(AF_INET6), including `::` compression and a trailing dotted IPv4. No zone ids. */
function parseV6(s: string): Uint8Array | null {
  if (s.length === 0 || s.includes('%')) return null;
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return null;
  const groups: number[] = [];
  const parseSide = (side: string, allowV4: boolean): number[] | null => {
    if (side === '') return [];
    const items = side.split(':');
    const out: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (allowV4 && i === items.length - 1 && it.includes('.')) {
        const v4 = parseV4(it);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return null;
      out.push(parseInt(it, 16));
    }
    return out;
  };
  if (dbl === -1) {
    const g = parseSide(s, true);
    if (!g || g.length !== 8) return null;
    groups.push(...g);
  } else {
    const left = parseSide(s.slice(0, dbl), false);
    const right = parseSide(s.slice(dbl + 2), true);
    if (!left || !right || left.length + right.length > 7) return null;
    groups.push(...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** Parses an IP literal (IPv6 may be bracketed in request JSON). Returns null for anything else. */
export function parseIp(s: string): IpAddr | null {
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4 };
  let t = s;
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const v6 = parseV6(t);
  return v6 ? { family: 6, bytes: v6 } : null;
}

/** Strict form used for config (`address_prefix`): no brackets. */
export function parseIpStrict(s: string): IpAddr | null {
  const v4 = parseV4(s);
  if (v4) return { family: 4, bytes: v4 };
  const v6 = parseV6(s);
  return v6 ? { family: 6, bytes: v6 } : null;
}

export function formatIp(ip: IpAddr): string {
  if (ip.family === 4) return Array.from(ip.bytes).join('.');
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((ip.bytes[2 * i]! << 8) | ip.bytes[2 * i + 1]!);
  // RFC 5952: compress the longest run (≥2) of zero groups.
  let bestS = -1;
  let bestL = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestL && j - i >= 2) {
      bestS = i;
      bestL = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestS === -1) return hex.join(':');
  return `${hex.slice(0, bestS).join(':')}::${hex.slice(bestS + bestL).join(':')}`;
}

export class CidrRange {
  readonly family: 4 | 6;
  readonly prefixLen: number;
  /** Network address with host bits masked. */
  readonly network: Uint8Array;

  constructor(ip: IpAddr, prefixLen: number) {
    this.family = ip.family;
    const max = ip.family === 4 ? 32 : 128;
    this.prefixLen = Math.min(Math.max(prefixLen, 0), max);
    this.network = maskBytes(ip.bytes, this.prefixLen);
  }

  /** Parses envoy.config.core.v3.CidrRange `{address_prefix, prefix_len}`. */
  static parse(v: unknown, path: string): CidrRange {
    const o = asObj(v, path);
    const addr = optStr(o, 'address_prefix', path) ?? '';
    const len = optInt(o, 'prefix_len', path) ?? 0;
    if (len < 0 || len > 4294967295) throw new RbacConfigError(jp(path, 'prefix_len'), 'CidrRangeValidationError.PrefixLen: value must be inside range [0, 4294967295]');
    if (len > 128) throw new RbacConfigError(jp(path, 'prefix_len'), 'CidrRangeValidationError.PrefixLen: value must be less than or equal to 128');
    if (addr.length === 0) throw new RbacConfigError(jp(path, 'address_prefix'), 'CidrRangeValidationError.AddressPrefix: value length must be at least 1 characters');
    const ip = parseIpStrict(addr);
    if (!ip) throw new RbacConfigError(jp(path, 'address_prefix'), `Failed to create CIDR range: malformed IP address: ${addr}`);
    return new CidrRange(ip, len);
  }

  contains(ip: IpAddr | null): boolean {
    if (!ip || ip.family !== this.family) return false;
    const full = this.prefixLen >> 3;
    for (let i = 0; i < full; i++) if (ip.bytes[i] !== this.network[i]) return false;
    const rem = this.prefixLen & 7;
    if (rem === 0) return true;
    const mask = (0xff << (8 - rem)) & 0xff;
    return (ip.bytes[full]! & mask) === this.network[full];
  }

  toString(): string {
    return `${formatIp({ family: this.family, bytes: this.network })}/${this.prefixLen}`;
  }
}

function maskBytes(b: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) {
    const bitsHere = Math.min(Math.max(len - i * 8, 0), 8);
    out[i] = bitsHere === 0 ? 0 : b[i]! & ((0xff << (8 - bitsHere)) & 0xff);
  }
  return out;
}
