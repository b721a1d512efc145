/**
 * `x-forwarded-client-cert` (XFCC), the header Envoy adds to a request it received over mutual TLS
 * (HCM `forward_client_cert_details` APPEND_FORWARD / SANITIZE_SET, `set_current_client_cert_details`).
 * Pure: no I/O, no Istio knowledge, never throws.
 *
 * Format (Envoy's "x-forwarded-client-cert" header documentation and
 * source/common/http/conn_manager_utility.cc `mutateXfccRequestHeader`):
 *  - the value is a `,`-separated list of elements; each proxy APPENDS its own element, so the last
 *    element is the one the nearest proxy added for its direct peer;
 *  - an element is a `;`-separated list of `key=value` pairs; keys are case-insensitive
 *    (By, Hash, Cert, Chain, Subject, URI, DNS), values case-sensitive;
 *  - a value containing `,` `;` or `=` is double-quoted, with `"` inside written as `\"`
 *    (Envoy always quotes Subject, Cert and Chain; Cert/Chain are URL-encoded PEM);
 *  - URI and DNS repeat once per SAN of the client certificate; `Subject=""` and `URI=` are written
 *    even when empty.
 * Envoy itself does not quote By / URI values, so an unquoted value may contain `=` (it ends at the
 * next `;` or `,`).
 */
export interface XfccPair {
  /** The key as written. */
  key: string;
  /** The value, unquoted and unescaped. */
  value: string;
}

export interface XfccElement {
  /** `By`: the URI SAN of the certificate of the proxy that added the element (first one). */
  by?: string;
  /** `Hash`: hex SHA-256 of the client certificate (DER). */
  hash?: string;
  /** `Cert`: URL-encoded PEM of the client certificate, as written. */
  cert?: string;
  /** `Chain`: URL-encoded PEM of the client certificate chain, as written. */
  chain?: string;
  /** `Subject`: the client certificate's subject (RFC 2253), "" when empty. */
  subject?: string;
  /** Every non-empty `URI` value (URI SANs of the client certificate), in order. */
  uri: string[];
  /** Every non-empty `DNS` value (DNS SANs of the client certificate), in order. */
  dns: string[];
  /** Keys present in the element (lower-case), so "absent" can be told from "empty". */
  keys: string[];
  /** Every pair as written, unknown keys included. */
  pairs: XfccPair[];
}

/** Longest header value parsed (Envoy's default header-size limit is 60 KiB; Cert/Chain can be large). */
export const MAX_XFCC_LENGTH = 256 * 1024;

/**
 * Parses an XFCC header value (several header lines may be joined with `,`). Returns the elements
 * in order, or null when the value is empty or malformed (unterminated quote, a pair without `=`,
 * an empty key, text after a closing quote, an empty element, a stray `"` inside an unquoted value).
 */
export function parseXfcc(value: string | null | undefined): XfccElement[] | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_XFCC_LENGTH) return null;
  const elements: XfccElement[] = [];
  let pairs: XfccPair[] = [];
  let i = 0;
  const n = value.length;
  const isOws = (c: string | undefined): boolean => c === ' ' || c === '\t';
  for (;;) {
    while (i < n && isOws(value[i])) i++;
    // key
    const keyStart = i;
    while (i < n && value[i] !== '=' && value[i] !== ';' && value[i] !== ',' && value[i] !== '"') i++;
    const key = value.slice(keyStart, i).trim();
    if (key.length === 0 || value[i] !== '=') return null;
    i++; // '='
    let v: string;
    if (value[i] === '"') {
      i++;
      let out = '';
      let closed = false;
      while (i < n) {
        const c = value[i]!;
        if (c === '\\' && i + 1 < n) {
          out += value[i + 1];
          i += 2;
          continue;
        }
        if (c === '"') {
          closed = true;
          i++;
          break;
        }
        out += c;
        i++;
      }
      if (!closed) return null;
      while (i < n && isOws(value[i])) i++;
      if (i < n && value[i] !== ';' && value[i] !== ',') return null;
      v = out;
    } else {
      const start = i;
      while (i < n && value[i] !== ';' && value[i] !== ',') {
        if (value[i] === '"') return null;
        i++;
      }
      v = value.slice(start, i).trim();
    }
    pairs.push({ key, value: v });
    if (i >= n) {
      elements.push(toElement(pairs));
      break;
    }
    const sep = value[i];
    i++;
    if (sep === ',') {
      elements.push(toElement(pairs));
      pairs = [];
    }
    // After a separator another pair must follow (no trailing `;` / `,`, no empty element).
    let j = i;
    while (j < n && isOws(value[j])) j++;
    if (j >= n) return null;
  }
  return elements;
}

function toElement(pairs: XfccPair[]): XfccElement {
  const el: XfccElement = { uri: [], dns: [], keys: [], pairs };
  for (const { key, value } of pairs) {
    const k = key.toLowerCase();
    if (!el.keys.includes(k)) el.keys.push(k);
    switch (k) {
      case 'by':
        if (el.by === undefined) el.by = value;
        break;
      case 'hash':
        if (el.hash === undefined) el.hash = value;
        break;
      case 'cert':
        if (el.cert === undefined) el.cert = value;
        break;
      case 'chain':
        if (el.chain === undefined) el.chain = value;
        break;
      case 'subject':
        if (el.subject === undefined) el.subject = value;
        break;
      case 'uri':
        if (value !== '') el.uri.push(value);
        break;
      case 'dns':
        if (value !== '') el.dns.push(value);
        break;
    }
  }
  return el;
}

/** The element the nearest proxy appended (the last one), or null when the value does not parse. */
export function lastXfccElement(value: string | null | undefined): XfccElement | null {
  const els = parseXfcc(value);
  return els && els.length > 0 ? els[els.length - 1]! : null;
}
