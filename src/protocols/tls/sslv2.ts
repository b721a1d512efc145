/**
 * SSL 2.0 record and hello formats (draft-hickman-netscape-ssl-00; RFC 5246 Appendix E.2 for the
 * SSLv2-format ClientHello that SSLv3/TLS clients used for compatibility). Wire format only: a
 * 2-byte header with the high bit set (no padding), CLIENT-HELLO (type 1) and SERVER-HELLO
 * (type 4). ./analyzer.ts turns them into hello facts.
 */
import { emptyClientHello, type ClientHello } from './handshake.js';

export const SSL2_CLIENT_HELLO = 1;
export const SSL2_SERVER_HELLO = 4;

/** Length of the SSLv2 record at the start of `b` (2-byte header, high bit set), or null. */
function recordLength(b: Uint8Array): number | null {
  if (b.length < 2 || (b[0]! & 0x80) === 0) return null;
  return ((b[0]! & 0x7f) << 8) | b[1]!;
}

/**
 * Whether `b` starts with an SSLv2-format CLIENT-HELLO (as far as it goes): true, false, or
 * undefined when too few bytes to tell. Checks the type, a version of SSL 2.0 or SSL 3.0/TLS, and
 * that the cipher-spec, session-id and challenge lengths add up to the record length.
 */
export function looksLikeSslv2ClientHello(b: Uint8Array): boolean | undefined {
  if (b.length === 0) return undefined;
  if ((b[0]! & 0x80) === 0) return false;
  if (b.length < 3) return undefined;
  if (b[2] !== SSL2_CLIENT_HELLO) return false;
  if (b.length < 11) return undefined;
  const len = recordLength(b)!;
  const major = b[3]!;
  const minor = b[4]!;
  if (!((major === 0 && minor === 2) || (major === 3 && minor <= 4))) return false;
  const cs = (b[5]! << 8) | b[6]!;
  const sid = (b[7]! << 8) | b[8]!;
  const ch = (b[9]! << 8) | b[10]!;
  return cs > 0 && cs % 3 === 0 && (sid === 0 || sid === 16 || sid === 32) && ch >= 16 && ch <= 32 && 9 + cs + sid + ch === len;
}

/** The whole SSLv2 record length including its header, once the header is there. */
export function sslv2RecordSize(b: Uint8Array): number | null {
  const n = recordLength(b);
  return n === null ? null : n + 2;
}

/**
 * An SSLv2-format CLIENT-HELLO as a ClientHello: the offered version, the TLS cipher suites among
 * the 3-byte cipher specs (those whose first byte is 0), and the challenge right-aligned in a
 * 32-byte random (RFC 5246 E.2). No extensions exist in this format: no SNI, no ALPN.
 */
export function parseSslv2ClientHello(rec: Uint8Array): { hello: ClientHello; sslv2Ciphers: number } {
  const cs = (rec[5]! << 8) | rec[6]!;
  const sid = (rec[7]! << 8) | rec[8]!;
  const ch = (rec[9]! << 8) | rec[10]!;
  let o = 11;
  const suites: number[] = [];
  let sslv2Ciphers = 0;
  for (let i = 0; i < cs; i += 3, o += 3) {
    if (rec[o] === 0) suites.push((rec[o + 1]! << 8) | rec[o + 2]!);
    else sslv2Ciphers++;
  }
  const sessionId = rec.subarray(o, o + sid);
  o += sid;
  const challenge = rec.subarray(o, o + ch);
  const random = new Uint8Array(32);
  random.set(challenge, 32 - challenge.length);
  return {
    // An SSLv2-format hello carries no extensions: no SNI, no ALPN, no supported_versions.
    hello: { ...emptyClientHello(), legacyVersion: (rec[3]! << 8) | rec[4]!, random, sessionId, cipherSuites: suites },
    sslv2Ciphers,
  };
}

/** An SSL 2.0 SERVER-HELLO: the version, whether the session was resumed, and the certificate (DER). */
export function parseSslv2ServerHello(rec: Uint8Array): { version: number; sessionIdHit: boolean; certificate: Uint8Array | null } | null {
  if (rec.length < 13 || rec[2] !== SSL2_SERVER_HELLO) return null;
  const certType = rec[4]!;
  const version = (rec[5]! << 8) | rec[6]!;
  const certLen = (rec[7]! << 8) | rec[8]!;
  if (version !== 0x0002) return null;
  const cert = certType === 1 && certLen > 0 && 13 + certLen <= rec.length ? rec.subarray(13, 13 + certLen) : null;
  return { version, sessionIdHit: rec[3] !== 0, certificate: cert };
}
