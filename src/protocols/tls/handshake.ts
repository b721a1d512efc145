/**
 * TLS handshake protocol, wire format only (RFC 5246 §7.4, RFC 8446 §4): reassembles handshake
 * messages over records (a message may span many records, a record may hold many messages) with
 * gaps of known length, and parses the messages we need into plain structures. Judging what the
 * messages mean is done in ./analyzer.ts.
 */
import { ByteReader, latin1, ParseError } from '../bytes.js';

export const HS = {
  hello_request: 0,
  client_hello: 1,
  server_hello: 2,
  new_session_ticket: 4,
  end_of_early_data: 5,
  encrypted_extensions: 8,
  certificate: 11,
  server_key_exchange: 12,
  certificate_request: 13,
  server_hello_done: 14,
  certificate_verify: 15,
  client_key_exchange: 16,
  finished: 20,
  key_update: 24,
} as const;

export const EXT = {
  server_name: 0,
  status_request: 5,
  supported_groups: 10,
  signature_algorithms: 13,
  alpn: 16,
  extended_master_secret: 23,
  session_ticket: 35,
  pre_shared_key: 41,
  early_data: 42,
  supported_versions: 43,
  psk_key_exchange_modes: 45,
  key_share: 51,
} as const;

/** Largest handshake message we buffer; bigger ones are skipped (their header still counts). */
export const MAX_HANDSHAKE_MESSAGE = 256 * 1024;

export interface HandshakeMessage {
  type: number;
  length: number;
  /** Complete body, or only the bytes before the first gap when `missing` > 0. */
  body: Uint8Array;
  /** Bytes of the body that were not captured (gap) or not buffered (oversize). */
  missing: number;
  /** Frame of the packet carrying the message's first byte. */
  frame: number;
}

export type HandshakeEvent =
  | { kind: 'message'; message: HandshakeMessage }
  | { kind: 'desync'; reason: string; frame: number };

export class HandshakeReader {
  private head = new Uint8Array(4);
  private headLen = 0;
  private headFrame = 0;
  private cur: { type: number; length: number; parts: Uint8Array[]; got: number; missing: number; frame: number; skip: boolean } | null = null;
  private dead = false;

  get lost(): boolean {
    return this.dead;
  }

  /** True when no message is partly read (between messages). */
  get idle(): boolean {
    return !this.cur && this.headLen === 0;
  }

  push(bytes: Uint8Array, frame: number, out: HandshakeEvent[]): void {
    let off = 0;
    while (off < bytes.length && !this.dead) {
      if (!this.cur) {
        if (this.headLen === 0) this.headFrame = frame;
        const take = Math.min(4 - this.headLen, bytes.length - off);
        this.head.set(bytes.subarray(off, off + take), this.headLen);
        this.headLen += take;
        off += take;
        if (this.headLen < 4) return;
        this.headLen = 0;
        const length = (this.head[1]! << 16) | (this.head[2]! << 8) | this.head[3]!;
        this.cur = { type: this.head[0]!, length, parts: [], got: 0, missing: 0, frame: this.headFrame, skip: length > MAX_HANDSHAKE_MESSAGE };
        if (length === 0) this.finish(out);
        continue;
      }
      const c = this.cur;
      const take = Math.min(c.length - c.got - c.missing, bytes.length - off);
      // bytes after a gap are not kept: the parsers read the prefix before the first gap only
      if (!c.skip && c.missing === 0) c.parts.push(bytes.subarray(off, off + take));
      c.got += take;
      off += take;
      if (c.got + c.missing === c.length) this.finish(out);
    }
  }

  gap(length: number, frame: number, out: HandshakeEvent[]): void {
    let left = length;
    while (left > 0 && !this.dead) {
      if (!this.cur) {
        this.dead = true;
        out.push({ kind: 'desync', reason: 'gap in a handshake message header: message boundaries lost', frame });
        return;
      }
      const c = this.cur;
      const take = Math.min(c.length - c.got - c.missing, left);
      c.missing += take;
      left -= take;
      if (c.got + c.missing === c.length) this.finish(out);
    }
  }

  private finish(out: HandshakeEvent[]): void {
    const c = this.cur!;
    this.cur = null;
    // (pieces are the record layer's own copies, never the caller's buffer: one piece is used as it is)
    const one = c.parts.length === 1 && Buffer.isBuffer(c.parts[0]) ? c.parts[0] : null;
    const body = c.skip ? new Uint8Array(0) : (one ?? Buffer.concat(c.parts));
    // bytes after a gap were counted in `got` but not kept: report everything not in body as missing
    out.push({ kind: 'message', message: { type: c.type, length: c.length, body, missing: c.length - body.length, frame: c.frame } });
  }
}

// ---------------------------------------------------------------------------------------------
// Message parsers. Each takes the body (possibly a prefix when truncated) and returns what it
// could read; `truncated` says the message ended before its declared length.

export interface Extension {
  type: number;
  data: Uint8Array;
}

export interface ClientHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: number[];
  extensions: Extension[];
  sni: string | null;
  alpn: string[] | null;
  supportedVersions: number[] | null;
  /** session_ticket extension present; `ticketLength` > 0 means a ticket is offered for resumption. */
  sessionTicket: { length: number } | null;
  preSharedKey: boolean;
  earlyData: boolean;
  /** Parsing stopped early: the message was cut or malformed at this point. */
  truncated: string | null;
}

export interface ServerHello {
  legacyVersion: number;
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuite: number | null;
  extensions: Extension[];
  selectedVersion: number | null;
  alpn: string | null;
  /** TLS 1.3 pre_shared_key selected_identity (PSK resumption accepted). */
  pskSelected: number | null;
  /** Empty session_ticket extension: the server will send a NewSessionTicket. */
  sessionTicket: boolean;
  helloRetryRequest: boolean;
  truncated: string | null;
}

/** SHA-256("HelloRetryRequest"), the ServerHello.random that marks a HelloRetryRequest (RFC 8446 §4.1.3). */
export const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

function parseExtensions(r: ByteReader, onExt: (e: Extension) => void): void {
  if (r.remaining === 0) return; // pre-TLS-1.0-style hello without extensions
  const list = r.vec(2, 'extensions');
  while (list.remaining > 0) {
    const type = list.u16();
    const data = list.bytes(list.u16());
    onExt({ type, data });
  }
}

function alpnList(data: Uint8Array): string[] {
  const r = new ByteReader(data, 'ALPN extension');
  const list = r.vec(2);
  const out: string[] = [];
  while (list.remaining > 0) out.push(latin1(list.vec(1).buf));
  return out;
}

/** A ClientHello with no field read yet (no extensions, nothing offered). */
export function emptyClientHello(): ClientHello {
  return {
    legacyVersion: 0,
    random: new Uint8Array(0),
    sessionId: new Uint8Array(0),
    cipherSuites: [],
    extensions: [],
    sni: null,
    alpn: null,
    supportedVersions: null,
    sessionTicket: null,
    preSharedKey: false,
    earlyData: false,
    truncated: null,
  };
}

export function parseClientHello(body: Uint8Array): ClientHello {
  const ch: ClientHello = emptyClientHello();
  const r = new ByteReader(body, 'ClientHello');
  try {
    ch.legacyVersion = r.u16();
    ch.random = r.bytes(32);
    ch.sessionId = r.vec(1).buf;
    const cs = r.vec(2);
    while (cs.remaining >= 2) ch.cipherSuites.push(cs.u16());
    r.vec(1); // compression methods
    parseExtensions(r, (e) => {
      ch.extensions.push(e);
      switch (e.type) {
        case EXT.server_name: {
          const er = new ByteReader(e.data, 'server_name extension');
          if (er.remaining === 0) break;
          const list = er.vec(2);
          while (list.remaining > 0) {
            const nameType = list.u8();
            const name = list.vec(2).buf;
            if (nameType === 0 && ch.sni === null) ch.sni = latin1(name);
          }
          break;
        }
        case EXT.alpn:
          ch.alpn = alpnList(e.data);
          break;
        case EXT.supported_versions: {
          const vr = new ByteReader(e.data, 'supported_versions extension').vec(1);
          const vs: number[] = [];
          while (vr.remaining >= 2) vs.push(vr.u16());
          ch.supportedVersions = vs;
          break;
        }
        case EXT.session_ticket:
          ch.sessionTicket = { length: e.data.length };
          break;
        case EXT.pre_shared_key:
          ch.preSharedKey = true;
          break;
        case EXT.early_data:
          ch.earlyData = true;
          break;
      }
    });
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    ch.truncated = err.message;
  }
  return ch;
}

export function parseServerHello(body: Uint8Array): ServerHello {
  const sh: ServerHello = {
    legacyVersion: 0,
    random: new Uint8Array(0),
    sessionId: new Uint8Array(0),
    cipherSuite: null,
    extensions: [],
    selectedVersion: null,
    alpn: null,
    pskSelected: null,
    sessionTicket: false,
    helloRetryRequest: false,
    truncated: null,
  };
  const r = new ByteReader(body, 'ServerHello');
  try {
    sh.legacyVersion = r.u16();
    sh.random = r.bytes(32);
    sh.helloRetryRequest = Buffer.from(sh.random).equals(HRR_RANDOM);
    // TLS 1.3 drafts before 22 (version 0x7f00 + draft) had no session id and no compression method
    const earlyDraft = sh.legacyVersion >> 8 === 0x7f && (sh.legacyVersion & 0xff) < 22;
    if (!earlyDraft) sh.sessionId = r.vec(1).buf;
    sh.cipherSuite = r.u16();
    if (!earlyDraft) r.u8(); // compression method
    parseExtensions(r, (e) => {
      sh.extensions.push(e);
      switch (e.type) {
        case EXT.supported_versions:
          sh.selectedVersion = new ByteReader(e.data, 'supported_versions extension').u16();
          break;
        case EXT.alpn: {
          const l = alpnList(e.data);
          sh.alpn = l[0] ?? null;
          break;
        }
        case EXT.pre_shared_key:
          sh.pskSelected = new ByteReader(e.data, 'pre_shared_key extension').u16();
          break;
        case EXT.session_ticket:
          sh.sessionTicket = true;
          break;
      }
    });
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    sh.truncated = err.message;
  }
  return sh;
}

/** TLS 1.3 EncryptedExtensions (RFC 8446 §4.3.1): what of it matters here, the selected ALPN. */
export function parseEncryptedExtensions(body: Uint8Array): { alpn: string | null; truncated: string | null } {
  const out: { alpn: string | null; truncated: string | null } = { alpn: null, truncated: null };
  try {
    parseExtensions(new ByteReader(body, 'EncryptedExtensions'), (e) => {
      if (e.type === EXT.alpn) out.alpn = alpnList(e.data)[0] ?? null;
    });
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    out.truncated = err.message;
  }
  return out;
}

export interface CertificateMessage {
  /** DER certificates, leaf first. */
  certificates: Uint8Array[];
  truncated: string | null;
}

/** Certificate message; `tls13` adds the request context and per-entry extensions. */
export function parseCertificate(body: Uint8Array, tls13: boolean): CertificateMessage {
  const out: CertificateMessage = { certificates: [], truncated: null };
  const r = new ByteReader(body, 'Certificate');
  try {
    if (tls13) r.vec(1);
    const list = r.vec(3, 'certificate_list');
    while (list.remaining > 0) {
      out.certificates.push(list.vec(3, 'certificate').buf);
      if (tls13) list.vec(2);
    }
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    out.truncated = err.message;
  }
  return out;
}

export interface CertificateRequest {
  certificateTypes: number[];
  /** Number of acceptable CA distinguished names listed (TLS ≤ 1.2). */
  authorities: number;
  truncated: string | null;
}

/** TLS ≤ 1.2 CertificateRequest (the 1.2 form has signature algorithms; `tls12` selects it). */
export function parseCertificateRequest(body: Uint8Array, tls12: boolean): CertificateRequest {
  const out: CertificateRequest = { certificateTypes: [], authorities: 0, truncated: null };
  const r = new ByteReader(body, 'CertificateRequest');
  try {
    const types = r.vec(1);
    while (types.remaining > 0) out.certificateTypes.push(types.u8());
    if (tls12) r.vec(2);
    const cas = r.vec(2);
    while (cas.remaining > 0) {
      cas.vec(2);
      out.authorities++;
    }
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    out.truncated = err.message;
  }
  return out;
}

export function versionName(v: number | null): string | null {
  switch (v) {
    case null:
      return null;
    case 0x0002:
      return 'SSLv2';
    case 0x0300:
      return 'SSLv3';
    case 0x0301:
      return 'TLSv1';
    case 0x0302:
      return 'TLSv1.1';
    case 0x0303:
      return 'TLSv1.2';
    case 0x0304:
      return 'TLSv1.3';
    default:
      if ((v & 0xff00) === 0x7f00) return `TLSv1.3-draft${v & 0xff}`;
      return `0x${v.toString(16).padStart(4, '0')}`;
  }
}
