/**
 * TLS that starts after a cleartext step: STARTTLS in SMTP, IMAP, POP3 (STLS), LDAP (the StartTLS
 * extended operation) and XMPP, PostgreSQL's SSLRequest, MySQL's SSL capability switch, an HTTP
 * CONNECT tunnel, SOCKS 4/5. The client's ClientHello record is found where the cleartext
 * exchange stops; the preamble is named from its own bytes (never from the port) and becomes an
 * evidence item of the flow, while the verdict comes from the handshake.
 */

/** Bytes of a direction searched for a ClientHello before the stream counts as plain cleartext. */
export const UPGRADE_SCAN_LIMIT = 4096;

/**
 * Offset of a TLS record carrying a ClientHello in `b` (record type 22, version 3.x, a handshake
 * of type 1 whose length fits the record), or -1.
 */
export function clientHelloAt(b: Uint8Array): number {
  for (let i = b.indexOf(0x16); i >= 0 && i + 9 <= b.length; i = b.indexOf(0x16, i + 1)) {
    if (b[i + 1] !== 3 || b[i + 2]! > 4 || b[i + 5] !== 1) continue;
    const recLen = (b[i + 3]! << 8) | b[i + 4]!;
    const hsLen = (b[i + 6]! << 16) | (b[i + 7]! << 8) | b[i + 8]!;
    if (recLen < 4 || recLen > 16384 + 2048) continue;
    // the handshake fits the record, or continues in the next one (a fragmented ClientHello)
    if (hsLen + 4 < recLen || hsLen > 1 << 17) continue;
    return i;
  }
  return -1;
}

export type UpgradeKind =
  | 'smtp-starttls'
  | 'imap-starttls'
  | 'pop3-stls'
  | 'ldap-starttls'
  | 'xmpp-starttls'
  | 'postgresql-sslrequest'
  | 'mysql-ssl'
  | 'http-connect'
  | 'socks'
  | 'cleartext-preamble';

const latin1 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

/** LDAP's StartTLS extended operation OID (RFC 4511 §4.14). */
const LDAP_STARTTLS_OID = '1.3.6.1.4.1.1466.20037';

/** What the cleartext before the ClientHello was, from the client's and the server's first bytes. */
export function preambleKind(c2s: Uint8Array, s2c: Uint8Array): { kind: UpgradeKind; detail: string | null } {
  const c = latin1(c2s);
  const s = latin1(s2c);
  if (c2s.length >= 8 && c2s[0] === 0 && c2s[1] === 0 && c2s[2] === 0 && c2s[3] === 8 && c2s[4] === 0x04 && c2s[5] === 0xd2 && c2s[6] === 0x16 && c2s[7] === 0x2f) {
    return { kind: 'postgresql-sslrequest', detail: null };
  }
  const connect = /^CONNECT (\S+) HTTP\/1\.[01]\r?\n/.exec(c);
  if (connect) return { kind: 'http-connect', detail: connect[1]! };
  if (c.includes(LDAP_STARTTLS_OID)) return { kind: 'ldap-starttls', detail: null };
  if (/^[^\r\n]*STARTTLS\r?\n/im.test(c)) {
    if (/^(EHLO|HELO) /im.test(c) || /^220[ -]/.test(s)) return { kind: 'smtp-starttls', detail: null };
    if (/^\* OK/.test(s) || /^\S+ STARTTLS\r?\n/im.test(c)) return { kind: 'imap-starttls', detail: null };
  }
  if (/^STLS\r?\n/im.test(c)) return { kind: 'pop3-stls', detail: null };
  if (c.includes('<starttls') && c.includes('urn:ietf:params:xml:ns:xmpp-tls')) return { kind: 'xmpp-starttls', detail: null };
  // MySQL: the server's greeting (3-byte length, sequence 0, protocol version 10)
  if (s2c.length >= 5 && s2c[3] === 0 && s2c[4] === 10) return { kind: 'mysql-ssl', detail: null };
  // SOCKS5 greeting (version 5, n methods) or SOCKS4 CONNECT
  if ((c2s[0] === 5 && c2s.length >= 2 && c2s[1]! >= 1 && c2s[1]! <= 9) || (c2s[0] === 4 && c2s[1] === 1)) {
    return { kind: 'socks', detail: c2s[0] === 5 ? 'SOCKS5' : 'SOCKS4' };
  }
  return { kind: 'cleartext-preamble', detail: null };
}
