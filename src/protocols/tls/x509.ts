/**
 * X.509 certificate facts (subject, issuer, validity, URI/DNS/IP SANs) from DER, using Node's
 * crypto.X509Certificate. Pure: no verification, no I/O.
 */
import { X509Certificate } from 'node:crypto';
import type { CertificateInfo } from '../../model/records.js';

/**
 * Splits Node's `subjectAltName` string ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4"). Since
 * Node 17.3 values with special characters are JSON-quoted ("URI:\"a, b\""), so a plain split on
 * ", " would be wrong.
 */
export function splitSubjectAltName(s: string): Array<{ type: string; value: string }> {
  const out: Array<{ type: string; value: string }> = [];
  let i = 0;
  while (i < s.length) {
    const colon = s.indexOf(':', i);
    if (colon < 0) break;
    const type = s.slice(i, colon).trim();
    let j = colon + 1;
    let value: string;
    if (s[j] === '"') {
      // JSON string
      let k = j + 1;
      while (k < s.length && s[k] !== '"') k += s[k] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(s.slice(j, k + 1)) as string;
      } catch {
        value = s.slice(j + 1, k);
      }
      j = k + 1;
    } else {
      const end = s.indexOf(', ', j);
      value = s.slice(j, end < 0 ? s.length : end);
      j = end < 0 ? s.length : end;
    }
    out.push({ type, value });
    // skip separator
    while (j < s.length && (s[j] === ',' || s[j] === ' ')) j++;
    i = j;
  }
  return out;
}

/** Node prints names one attribute per line, most significant first; RFC 2253 reverses and joins with commas. */
export function rfc2253(name: string): string {
  if (!name) return '';
  return name
    .split('\n')
    .filter((l) => l.length > 0)
    .reverse()
    .map((l) => l.replace(/([,+"\\<>;])/g, '\\$1'))
    .join(',');
}

function toIso(d: string): string {
  const t = Date.parse(d);
  return Number.isNaN(t) ? d : new Date(t).toISOString().replace('.000Z', 'Z');
}

/**
 * Parsing a certificate with X509Certificate costs ~0.6 ms, and a capture repeats the same few
 * workload certificates in every handshake: results are memoised by DER content (bounded).
 */
const cache = new Map<string, CertificateInfo | Error>();
const CACHE_MAX = 4096;

/** Parses one DER certificate; throws Error with a reason when it is not a certificate. */
export function certificateInfo(der: Uint8Array): CertificateInfo {
  const key = Buffer.from(der.buffer, der.byteOffset, der.length).toString('latin1');
  let v = cache.get(key);
  if (v === undefined) {
    try {
      v = parseCertificate(der);
    } catch (err) {
      v = err instanceof Error ? err : new Error(String(err));
    }
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, v);
  }
  if (v instanceof Error) throw v;
  // callers may keep or mutate the result: hand out copies of the arrays
  return { ...v, uriSans: [...v.uriSans], dnsSans: [...v.dnsSans], ...(v.ipSans ? { ipSans: [...v.ipSans] } : {}) };
}

function parseCertificate(der: Uint8Array): CertificateInfo {
  const c = new X509Certificate(Buffer.from(der.buffer, der.byteOffset, der.length));
  const sans = c.subjectAltName ? splitSubjectAltName(c.subjectAltName) : [];
  const ipSans = sans.filter((x) => x.type === 'IP Address').map((x) => x.value);
  return {
    subject: rfc2253(c.subject),
    issuer: rfc2253(c.issuer),
    serialNumber: c.serialNumber,
    validFrom: toIso(c.validFrom),
    validTo: toIso(c.validTo),
    uriSans: sans.filter((x) => x.type === 'URI').map((x) => x.value),
    dnsSans: sans.filter((x) => x.type === 'DNS').map((x) => x.value),
    ...(ipSans.length ? { ipSans } : {}),
    fingerprint256: c.fingerprint256,
    size: der.length,
  };
}
