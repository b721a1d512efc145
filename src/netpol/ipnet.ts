/**
 * IP ranges as integer intervals (IPv4 and IPv6 kept apart), for ipBlock `cidr`/`except`, Calico
 * `nets`/`notNets` and the external ranges of the connectivity map.
 */
import { formatIp, parseIpStrict } from '../rbac/cidr.js';

export interface IpRange {
  family: 4 | 6;
  lo: bigint;
  hi: bigint;
}

export interface ParsedCidr extends IpRange {
  prefixLen: number;
  /** The canonical text (host bits cleared). */
  canonical: string;
  /** True when the written form had host bits set (e.g. 10.10.1.12/24). */
  hostBitsSet: boolean;
}

function toBig(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBig(v: bigint, family: 4 | 6): string {
  const n = family === 4 ? 4 : 16;
  const bytes = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return formatIp({ family, bytes });
}

export function parseIpValue(s: string): { family: 4 | 6; value: bigint } | null {
  let t = s.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(t);
  if (m) t = m[1]!;
  const ip = parseIpStrict(t);
  return ip ? { family: ip.family, value: toBig(ip.bytes) } : null;
}

/** Parses `a.b.c.d/n` or `x::/n`; a bare address is a /32 or /128. Null when malformed. */
export function parseCidr(s: string): ParsedCidr | null {
  const [addr, len, extra] = s.trim().split('/');
  if (extra !== undefined || addr === undefined) return null;
  const ip = parseIpStrict(addr);
  if (!ip) return null;
  const bits = ip.family === 4 ? 32 : 128;
  const prefixLen = len === undefined ? bits : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > bits) return null;
  const v = toBig(ip.bytes);
  const hostBits = BigInt(bits - prefixLen);
  const lo = (v >> hostBits) << hostBits;
  const hi = lo | ((1n << hostBits) - 1n);
  return { family: ip.family, lo, hi, prefixLen, canonical: `${fromBig(lo, ip.family)}/${prefixLen}`, hostBitsSet: lo !== v };
}

export function rangeContains(r: IpRange, ip: { family: 4 | 6; value: bigint }): boolean {
  return r.family === ip.family && ip.value >= r.lo && ip.value <= r.hi;
}

export function rangeCovers(outer: IpRange, inner: IpRange): boolean {
  return outer.family === inner.family && inner.lo >= outer.lo && inner.hi <= outer.hi;
}

/** `lo-hi` as np-guard prints ranges; a single CIDR-aligned range prints as the CIDR. */
export function formatRange(r: IpRange): string {
  return `${fromBig(r.lo, r.family)}-${fromBig(r.hi, r.family)}`;
}

export function formatRangeAsCidrIfExact(r: IpRange): string {
  const size = r.hi - r.lo + 1n;
  if ((size & (size - 1n)) === 0n && r.lo % size === 0n) {
    const bits = r.family === 4 ? 32 : 128;
    let len = bits;
    for (let s = size; s > 1n; s >>= 1n) len--;
    return `${fromBig(r.lo, r.family)}/${len}`;
  }
  return formatRange(r);
}

export const ALL_V4: IpRange = { family: 4, lo: 0n, hi: (1n << 32n) - 1n };
export const ALL_V6: IpRange = { family: 6, lo: 0n, hi: (1n << 128n) - 1n };

/** Splits `space` into maximal intervals at every boundary of the given ranges (atoms: each is inside or outside every range). */
export function atomize(space: IpRange, ranges: IpRange[]): IpRange[] {
  const cuts = new Set<bigint>([space.lo]);
  for (const r of ranges) {
    if (r.family !== space.family) continue;
    if (r.lo > space.lo && r.lo <= space.hi) cuts.add(r.lo);
    if (r.hi + 1n > space.lo && r.hi + 1n <= space.hi) cuts.add(r.hi + 1n);
  }
  const sorted = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted.map((lo, i) => ({ family: space.family, lo, hi: i + 1 < sorted.length ? sorted[i + 1]! - 1n : space.hi }));
}
