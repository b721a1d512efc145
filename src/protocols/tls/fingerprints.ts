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

/**
 * The 16-bit values of a vector with a 2-byte length, GREASE dropped. Plain loops, no intermediate arrays: a capture
 * fingerprints every ClientHello, and the array-method version of these functions cost ~40 µs a ClientHello
 * (~5% of `flows` on a capture of short TLS connections).
 */
function u16listNoGrease(data: Uint8Array): number[] {
  const out: number[] = [];
  if (data.length < 2) return out;
  const end = Math.min(data.length, 2 + ((data[0]! << 8) | data[1]!));
  for (let i = 2; i + 1 < end; i += 2) {
    const v = (data[i]! << 8) | data[i + 1]!;
    if (!isGrease(v)) out.push(v);
  }
  return out;
}

function ext(ch: ClientHello, type: number): Uint8Array | null {
  const es = ch.extensions;
  for (let i = 0; i < es.length; i++) if (es[i]!.type === type) return es[i]!.data;
  return null;
}

function withoutGrease(vs: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < vs.length; i++) if (!isGrease(vs[i]!)) out.push(vs[i]!);
  return out;
}

function extensionTypes(ch: ClientHello): number[] {
  const out: number[] = [];
  const es = ch.extensions;
  for (let i = 0; i < es.length; i++) if (!isGrease(es[i]!.type)) out.push(es[i]!.type);
  return out;
}

/** The JA3 string ("771,4865-4866,0-23-65281,29-23,0"). */
export function ja3String(ch: ClientHello): string {
  const groupsExt = ext(ch, EXT_SUPPORTED_GROUPS);
  const pfExt = ext(ch, EXT_EC_POINT_FORMATS);
  const pf: number[] = [];
  if (pfExt && pfExt.length >= 1) {
    const end = Math.min(pfExt.length, 1 + pfExt[0]!);
    for (let i = 1; i < end; i++) pf.push(pfExt[i]!);
  }
  // (join builds flat strings: a string grown by += is a rope, which the digest memo's Map lookup must flatten
  // before it can hash it)
  const groups = groupsExt ? u16listNoGrease(groupsExt) : [];
  return [ch.legacyVersion, withoutGrease(ch.cipherSuites).join('-'), extensionTypes(ch).join('-'), groups.join('-'), pf.join('-')].join(',');
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

const byValue = (a: number, b: number): number => a - b;

/** Two lower-case hex digits of each byte value. */
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * 4-digit lower-case hex of 16-bit values joined by ',', sorted first when asked. Fixed-width lower-case hex
 * sorts as its numbers do, so the numbers are sorted (JA4 sorts the hex strings).
 */
function hexList(vs: readonly number[], sorted: boolean): string {
  const xs = sorted ? vs.slice().sort(byValue) : vs;
  const out: string[] = new Array<string>(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = HEX2[xs[i]! >> 8]! + HEX2[xs[i]! & 0xff]!;
  return out.join(',');
}

const hash12 = (s: string) => memo(sha12Memo, s, (x) => createHash('sha256').update(x).digest('hex').slice(0, 12));
const two = (n: number) => (n >= 99 ? '99' : n < 10 ? `0${n}` : `${n}`);

function ja4Version(ch: ClientHello): string {
  let v = -1;
  const sv = ch.supportedVersions;
  if (sv) for (let i = 0; i < sv.length; i++) if (!isGrease(sv[i]!) && sv[i]! > v) v = sv[i]!;
  if (v < 0) v = ch.legacyVersion;
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

/** [0-9A-Za-z] */
function alnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function ja4Alpn(ch: ClientHello): string {
  const first = ch.alpn?.[0];
  if (!first) return '00';
  const a = first.charCodeAt(0);
  const z = first.charCodeAt(first.length - 1);
  if (alnum(a) && alnum(z)) return first[0]! + first[first.length - 1]!;
  // (the value's bytes are latin1 code units: the first hex digit of the first byte, the last of the last)
  return HEX2[a & 0xff]![0]! + HEX2[z & 0xff]![1]!;
}

/** JA4's three parts, raw (JA4_r: sorted lists instead of hashes) and hashed. */
export function ja4Parts(ch: ClientHello): { a: string; ciphers: string; extensions: string; sigalgs: string } {
  const ciphers = withoutGrease(ch.cipherSuites);
  const exts = extensionTypes(ch);
  const named: number[] = [];
  let sni = false;
  for (let i = 0; i < exts.length; i++) {
    const t = exts[i]!;
    if (t === EXT_SNI) sni = true;
    if (t !== EXT_SNI && t !== EXT_ALPN) named.push(t);
  }
  const a = `t${ja4Version(ch)}${sni ? 'd' : 'i'}${two(ciphers.length)}${two(exts.length)}${ja4Alpn(ch)}`;
  const sigExt = ext(ch, EXT_SIGNATURE_ALGORITHMS);
  return {
    a,
    ciphers: hexList(ciphers, true),
    extensions: hexList(named, true),
    sigalgs: sigExt ? hexList(u16listNoGrease(sigExt), false) : '',
  };
}

export function ja4(ch: ClientHello): string {
  const p = ja4Parts(ch);
  const b = p.ciphers ? hash12(p.ciphers) : '000000000000';
  const c = p.extensions ? hash12(p.sigalgs ? [p.extensions, p.sigalgs].join('_') : p.extensions) : '000000000000';
  return `${p.a}_${b}_${c}`;
}

/** Exported for the spec's worked examples. */
export const _internal = { hash12 };
