/**
 * TLS client fingerprints of a ClientHello: JA3 (Salesforce) and JA4 (FoxIO, technical_details/
 * JA4.md). Both ignore GREASE values (RFC 8701) everywhere.
 *
 * JA3 = MD5 of "version,ciphers,extensions,groups,point formats" (decimal, '-' within a field, the
 * ClientHello's legacy version, extensions in the order sent).
 *
 * JA4 = a_b_c:
 *  a: "t" (TLS over TCP), the version (highest supported_versions value, else the legacy version:
 *     13, 12, 11, 10, s3, s2, s1, 00 unknown), "d" with SNI / "i" without, the cipher and extension
 *     counts (2 digits, at most 99; the extension count includes SNI and ALPN), and the first and
 *     last characters of the first ALPN value ("00" without ALPN; the first and last hex digits of
 *     the value when either character is not alphanumeric);
 *  b: the first 12 hex digits of SHA-256 over the cipher suites as 4-digit lower-case hex, sorted,
 *     comma-separated ("000000000000" when there are none);
 *  c: the same over the extensions sorted without SNI (0000) and ALPN (0010), then "_" and the
 *     signature algorithms in the order sent (no "_" when there are none).
 */
import { createHash } from 'node:crypto';
import type { ClientHello } from './handshake.js';
import { isGrease } from './cipher-suites.js';

const EXT_SNI = 0x0000;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_GROUPS = 0x000a;
const EXT_EC_POINT_FORMATS = 0x000b;
const EXT_SIGNATURE_ALGORITHMS = 0x000d;
const EXT_SUPPORTED_VERSIONS = 0x002b;

function u16list(data: Uint8Array, lenBytes: 1 | 2): number[] {
  if (data.length < lenBytes) return [];
  const len = lenBytes === 2 ? (data[0]! << 8) | data[1]! : data[0]!;
  const out: number[] = [];
  for (let i = lenBytes; i + 1 < Math.min(data.length, lenBytes + len); i += 2) out.push((data[i]! << 8) | data[i + 1]!);
  return out;
}

function ext(ch: ClientHello, type: number): Uint8Array | null {
  return ch.extensions.find((e) => e.type === type)?.data ?? null;
}

/** The JA3 string ("771,4865-4866,0-23-65281,29-23,0"). */
export function ja3String(ch: ClientHello): string {
  const ciphers = ch.cipherSuites.filter((c) => !isGrease(c));
  const exts = ch.extensions.map((e) => e.type).filter((t) => !isGrease(t));
  const groupsExt = ext(ch, EXT_SUPPORTED_GROUPS);
  const groups = groupsExt ? u16list(groupsExt, 2).filter((g) => !isGrease(g)) : [];
  const pfExt = ext(ch, EXT_EC_POINT_FORMATS);
  const pf = pfExt && pfExt.length >= 1 ? [...pfExt.subarray(1, 1 + pfExt[0]!)] : [];
  return [String(ch.legacyVersion), ciphers.join('-'), exts.join('-'), groups.join('-'), pf.join('-')].join(',');
}

/**
 * Digests by input: a capture holds few distinct clients and thousands of ClientHellos each, and a hash
 * object per fingerprint cost more than everything else the fingerprints do. Bounded: cleared when full.
 */
const MEMO_MAX = 4096;
const md5Memo = new Map<string, string>();
const sha12Memo = new Map<string, string>();

function memo(m: Map<string, string>, s: string, f: (s: string) => string): string {
  let v = m.get(s);
  if (v === undefined) {
    if (m.size >= MEMO_MAX) m.clear();
    v = f(s);
    m.set(s, v);
  }
  return v;
}

export function ja3(ch: ClientHello): string {
  return memo(md5Memo, ja3String(ch), (s) => createHash('md5').update(s).digest('hex'));
}

/** 4-digit lower-case hex of a 16-bit value (cached: the same few code points again and again). */
const hex4s: string[] = [];
const hex4 = (v: number): string => hex4s[v] ?? (hex4s[v] = v.toString(16).padStart(4, '0'));
const hash12 = (s: string) => memo(sha12Memo, s, (x) => createHash('sha256').update(x).digest('hex').slice(0, 12));
const two = (n: number) => String(Math.min(n, 99)).padStart(2, '0');

function ja4Version(ch: ClientHello): string {
  const sv = ch.supportedVersions?.filter((v) => !isGrease(v)) ?? [];
  const v = sv.length ? Math.max(...sv) : ch.legacyVersion;
  switch (v) {
    case 0x0304:
      return '13';
    case 0x0303:
      return '12';
    case 0x0302:
      return '11';
    case 0x0301:
      return '10';
    case 0x0300:
      return 's3';
    case 0x0200:
      return 's2';
    case 0x0100:
      return 's1';
    default:
      return '00';
  }
}

function ja4Alpn(ch: ClientHello): string {
  const first = ch.alpn?.[0];
  if (!first) return '00';
  const a = first[0]!;
  const z = first[first.length - 1]!;
  const alnum = (c: string) => /^[0-9A-Za-z]$/.test(c);
  if (alnum(a) && alnum(z)) return a + z;
  const hex = Buffer.from(first, 'latin1').toString('hex');
  return hex[0]! + hex[hex.length - 1]!;
}

/** JA4's three parts, raw (JA4_r: sorted lists instead of hashes) and hashed. */
export function ja4Parts(ch: ClientHello): { a: string; ciphers: string; extensions: string; sigalgs: string } {
  const ciphers = ch.cipherSuites.filter((c) => !isGrease(c));
  const exts = ch.extensions.map((e) => e.type).filter((t) => !isGrease(t));
  const a = `t${ja4Version(ch)}${exts.includes(EXT_SNI) ? 'd' : 'i'}${two(ciphers.length)}${two(exts.length)}${ja4Alpn(ch)}`;
  const sigExt = ext(ch, EXT_SIGNATURE_ALGORITHMS);
  const sig = sigExt ? u16list(sigExt, 2).filter((s) => !isGrease(s)) : [];
  return {
    a,
    ciphers: ciphers.map(hex4).sort().join(','),
    extensions: exts.filter((t) => t !== EXT_SNI && t !== EXT_ALPN).map(hex4).sort().join(','),
    sigalgs: sig.map(hex4).join(','),
  };
}

export function ja4(ch: ClientHello): string {
  const p = ja4Parts(ch);
  const b = p.ciphers ? hash12(p.ciphers) : '000000000000';
  const c = p.extensions ? hash12(p.sigalgs ? `${p.extensions}_${p.sigalgs}` : p.extensions) : '000000000000';
  return `${p.a}_${b}_${c}`;
}

/** Exported for the spec's worked examples. */
export const _internal = { hash12 };
