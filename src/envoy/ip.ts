/** IPv4/IPv6 parsing and CIDR containment for filter-chain selection (no I/O, no dependencies). */
import { isIP } from 'node:net';

export interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

export function parseIp(addr: string): ParsedIp | null {
  let a = addr.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const fam = isIP(a);
  if (fam === 4) {
    const p = a.split('.').map(Number);
    return { family: 4, value: BigInt(((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!) };
  }
  if (fam === 6) {
    let head = a;
    let v4tail: number[] | null = null;
    const lastColon = a.lastIndexOf(':');
    if (a.slice(lastColon + 1).includes('.')) {
      v4tail = a.slice(lastColon + 1).split('.').map(Number);
      head = a.slice(0, lastColon + 1) + '0:0';
    }
    const [l, r] = head.split('::') as [string, string | undefined];
    const left = l ? l.split(':') : [];
    const right = r !== undefined && r !== '' ? r.split(':') : [];
    const groups = r === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
    let v = 0n;
    for (const g of groups) v = (v << 16n) + BigInt(parseInt(g || '0', 16));
    if (v4tail) v = (v & ~0xffffffffn) | BigInt(((v4tail[0]! << 24) >>> 0) + (v4tail[1]! << 16) + (v4tail[2]! << 8) + v4tail[3]!);
    return { family: 6, value: v };
  }
  return null;
}

/** True when `ip` lies in `prefix/len` (families must agree; IPv4-mapped IPv6 is not unmapped, as in Envoy's trie). */
export function cidrContains(prefix: string, len: number, ip: ParsedIp): boolean {
  const p = parseIp(prefix);
  if (!p || p.family !== ip.family) return false;
  const bits = p.family === 4 ? 32 : 128;
  const l = Math.max(0, Math.min(len, bits));
  if (l === 0) return true;
  const shift = BigInt(bits - l);
  return p.value >> shift === ip.value >> shift;
}

export function isLoopback(ip: ParsedIp): boolean {
  return ip.family === 4 ? ip.value >> 24n === 127n : ip.value === 1n;
}

/** Normalised `addr/len` key (host bits cleared), as Envoy's CidrRange::asString does. */
export function cidrKey(prefix: string, len: number): string {
  const p = parseIp(prefix);
  if (!p) return `${prefix}/${len}`;
  const bits = p.family === 4 ? 32 : 128;
  const l = Math.max(0, Math.min(len, bits));
  const shift = BigInt(bits - l);
  const v = l === 0 ? 0n : (p.value >> shift) << shift;
  return `${p.family}:${v.toString(16)}/${l}`;
}
