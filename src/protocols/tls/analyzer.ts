/**
 * What a TLS handshake means, from the messages ./records.ts and ./handshake.ts take apart: the
 * version actually negotiated, SNI and ALPN, whether the server asked for a client certificate
 * and whether one (non-empty) was sent, the identities in both chains, HelloRetryRequest and
 * session resumption. One `proc*` method per handshake message, as Zeek does. Facts only: the
 * mTLS verdict is made by the capture pipeline from these facts.
 */
import { cipherSuiteName } from './cipher-suites.js';
import { ja3, ja4 } from './fingerprints.js';
import type { FlowTls, TlsDecryption } from '../../model/records.js';
import type { KeyLog, SessionSecrets } from './keylog.js';
import { nextTrafficSecret, RecordCipher, suiteParams, tls12Keys, tls13Keys, type SuiteParams } from './decrypt.js';
import type { Direction, SegmentMeta } from '../stream.js';
import {
  HS,
  HandshakeReader,
  parseCertificate,
  parseCertificateRequest,
  parseClientHello,
  parseEncryptedExtensions,
  parseServerHello,
  versionName,
  type ClientHello,
  type HandshakeEvent,
  type HandshakeMessage,
  type ServerHello,
} from './handshake.js';
import { CONTENT_TYPE, looksLikeTlsRecord, RecordReader, type RecordEvent, type TlsRecord } from './records.js';
import { looksLikeSslv2ClientHello, parseSslv2ClientHello, parseSslv2ServerHello, sslv2RecordSize } from './sslv2.js';
import { certificateInfo } from './x509.js';
import type { CertificateInfo } from '../../model/records.js';

const ALERTS: Record<number, string> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  40: 'handshake_failure',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

interface DirState {
  records: RecordReader;
  handshake: HandshakeReader;
  /** Records seen in this direction. */
  recordCount: number;
  ccs: boolean;
  /** Handshake records from here on are encrypted (or we stopped following the direction). */
  encrypted: boolean;
  /** The first bytes were not a TLS record (e.g. a plaintext server answering a ClientHello). */
  notTls: string | null;
  /** Record or handshake boundaries lost after a gap. */
  lost: boolean;
  appData: number;
  /** Bytes were seen in this direction (a hole before any is a "leading hole"). */
  started: boolean;
  /** A leading hole: the next bytes must start with a record header, or the boundaries are unknown. */
  afterLeadingHole: boolean;
  /** First bytes held while telling an SSLv2-format hello from a TLS record; null once decided. */
  v2: Buffer[] | null;
}

export interface TlsAnalyzerOptions {
  /** Key-log secrets: records are decrypted when the session's ClientHello.random is in it. */
  keys?: KeyLog;
  /** Decrypted application data, in order per direction. */
  onPlaintext?: (dir: Direction, bytes: Uint8Array, meta: SegmentMeta) => void;
}

/** One direction's record protection once keys are known. */
interface DirCrypto {
  cipher: RecordCipher;
  /** TLS 1.3: the current traffic secret (for KeyUpdate). */
  secret: Buffer | null;
}

export class TlsAnalyzer {
  private readonly dirs: Record<Direction, DirState>;
  private readonly keys: KeyLog | null;
  private readonly onPlaintext: TlsAnalyzerOptions['onPlaintext'];
  /** Decryption state: keys per direction (null until that direction is protected and keyed). */
  private readonly crypto: Record<Direction, DirCrypto | null> = { c2s: null, s2c: null };
  private suite: SuiteParams | null = null;
  private secrets: SessionSecrets | null = null;
  /** TLS 1.2 write keys, switched on by each direction's ChangeCipherSpec. */
  private pending12: { c2s: RecordCipher; s2c: RecordCipher } | null = null;
  private decryption: TlsDecryption | null = null;
  /** TLS 1.3 Finished seen (decrypted), per direction: that side's handshake is complete and visible. */
  private readonly finished: Record<Direction, boolean> = { c2s: false, s2c: false };
  private readonly lastTime: Record<Direction, number> = { c2s: 0, s2c: 0 };

  constructor(opts: TlsAnalyzerOptions = {}) {
    this.keys = opts.keys ?? null;
    this.onPlaintext = opts.onPlaintext;
    this.dirs = { c2s: this.newDir(), s2c: this.newDir() };
  }
  readonly notes: string[] = [];
  private readonly clientHellos: ClientHello[] = [];
  private serverHello: ServerHello | null = null;
  private hrr: ServerHello | null = null;
  private certificateRequested = false;
  private serverHelloDone = false;
  private serverCertSeen = false;
  private clientCertMessage: { certificates: CertificateInfo[]; count: number } | null = null;
  private clientKeyExchange = false;
  private serverChain: CertificateInfo[] = [];
  private abbreviated = false;
  private readonly frames: NonNullable<FlowTls['frames']> = {};
  private truncatedHello = false;
  /** The ClientHello came in the SSLv2 format (RFC 5246 E.2): no extensions, no fingerprints. */
  private sslv2Hello = false;
  /** Real SSL 2.0: the server answered with an SSLv2 SERVER-HELLO; nothing after it is followed. */
  private sslv2Server: { version: number } | null = null;
  /** TLS 1.3 ALPN selected by the server (EncryptedExtensions, seen when decrypted). */
  private alpn13: string | null = null;

  private newDir(): DirState {
    return {
      // with keys, application_data bodies are kept to be decrypted
      records: new RecordReader(this.keys !== null),
      handshake: new HandshakeReader(),
      recordCount: 0,
      ccs: false,
      encrypted: false,
      notTls: null,
      lost: false,
      appData: 0,
      started: false,
      afterLeadingHole: false,
      v2: [],
    };
  }

  /** The negotiated version number, when the ServerHello (or HRR) said. */
  private get version(): number | null {
    if (this.sslv2Server) return this.sslv2Server.version;
    const sh = this.serverHello ?? this.hrr;
    if (!sh) return null;
    return sh.selectedVersion ?? (sh.truncated && sh.random.length < 32 ? null : sh.legacyVersion);
  }

  private get tls13(): boolean {
    return this.version === 0x0304 || (this.version !== null && (this.version & 0xff00) === 0x7f00);
  }

  data(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): void {
    const d = this.dirs[dir];
    if (d.notTls || d.lost || this.sslv2Server) return;
    this.lastTime[dir] = meta.timeMs;
    if (d.v2 && !d.afterLeadingHole) {
      const rest = this.sslv2(dir, bytes, meta);
      if (rest === null) return;
      bytes = rest;
      if (bytes.length === 0 || this.sslv2Server) return;
    }
    if (!d.started) {
      d.started = true;
      if (d.afterLeadingHole && looksLikeTlsRecord(bytes) === false) {
        d.lost = true;
        this.notes.push(`${dir}: payload not captured before frame ${meta.frame} and no TLS record starts after the hole: record boundaries unknown`);
        return;
      }
    }
    const ev: RecordEvent[] = [];
    d.records.push(bytes, meta.frame, ev);
    this.onRecordEvents(dir, ev);
  }

  gap(dir: Direction, length: number, meta: SegmentMeta): void {
    const d = this.dirs[dir];
    if (d.v2?.length) {
      d.v2 = null;
      d.lost = true;
      this.notes.push(`${dir}: payload not captured at frame ${meta.frame} inside the first record`);
      return;
    }
    d.v2 = null;
    if (d.notTls || d.lost) return;
    if (!d.started) {
      d.afterLeadingHole = true;
      this.notes.push(`${dir}: the first ${length} byte(s) were not captured (frame ${meta.frame})`);
      return;
    }
    const ev: RecordEvent[] = [];
    d.records.gap(length, meta.frame, ev);
    this.onRecordEvents(dir, ev);
  }

  wants(dir: Direction): boolean {
    const d = this.dirs[dir];
    if (d.notTls || d.lost || this.sslv2Server) return false;
    // with keys: every record until decryption is known to be impossible for this session
    if (this.keys && this.decryptable(dir)) return true;
    return !d.encrypted;
  }

  /** Records of `dir` may still be decrypted (keys in hand, or the handshake has not said yet). */
  private decryptable(dir: Direction): boolean {
    if (this.crypto[dir]) return true;
    const st = this.decryption;
    if (!st) return true;
    // TLS 1.2 keys switch on at the direction's ChangeCipherSpec
    return st.status === 'decrypted' && this.pending12 !== null && !this.dirs[dir].ccs;
  }

  /**
   * A direction's first record may be in the SSL 2.0 format: the client's SSLv2-format
   * CLIENT-HELLO (answered in TLS by a TLS server, or in SSLv2 by an SSLv2 one), the server's
   * SSLv2 SERVER-HELLO. Returns the bytes left for the TLS record layer, or null while the first
   * record is still incomplete.
   */
  private sslv2(dir: Direction, bytes: Uint8Array, meta: SegmentMeta): Uint8Array | null {
    const d = this.dirs[dir];
    const held = d.v2!;
    // `bytes` is the caller's (reused after this call): copied only when held for the next segment or parsed
    let buf = held.length === 0 ? bytes : Buffer.concat([...held, bytes]);
    const v2 = dir === 'c2s' ? looksLikeSslv2ClientHello(buf) : buf.length < 3 ? ((buf[0] ?? 0) & 0x80 ? undefined : false) : (buf[0]! & 0x80) !== 0 && buf[2] === 4;
    if (v2 === undefined && buf.length < 64) {
      held.push(Buffer.from(bytes));
      return null;
    }
    if (v2 !== true) {
      d.v2 = null;
      return buf;
    }
    const size = sslv2RecordSize(buf)!;
    if (buf.length < size) {
      if (buf.length > 1 << 15) {
        d.v2 = null;
        d.lost = true;
      } else held.push(Buffer.from(bytes));
      return null;
    }
    // the parsed hello keeps views of its record
    if (buf === bytes) buf = Buffer.from(bytes);
    d.v2 = null;
    d.recordCount++;
    const rec = buf.subarray(0, size);
    if (dir === 'c2s') {
      const { hello, sslv2Ciphers } = parseSslv2ClientHello(rec);
      this.clientHellos.push(hello);
      this.sslv2Hello = true;
      this.frames.clientHello = meta.frame;
      this.notes.push(`SSLv2-format ClientHello at frame ${meta.frame} offering ${versionName(hello.legacyVersion)} (${hello.cipherSuites.length} TLS cipher suite(s)${sslv2Ciphers ? `, ${sslv2Ciphers} SSL 2.0 cipher spec(s)` : ''}; no extensions: no SNI or ALPN)`);
    } else {
      const sh = parseSslv2ServerHello(rec);
      if (!sh) return buf;
      this.sslv2Server = { version: sh.version };
      this.frames.serverHello = meta.frame;
      if (sh.certificate) {
        this.serverCertSeen = true;
        this.frames.serverCertificate = meta.frame;
        this.serverChain = this.certInfos([sh.certificate], 'server');
      }
      this.notes.push(`SSL 2.0 negotiated at frame ${meta.frame} (SERVER-HELLO${sh.sessionIdHit ? ', session resumed' : ''}): obsolete and insecure (RFC 6176); the rest of the connection is not followed`);
    }
    return buf.subarray(size);
  }

  /** The direction's first bytes were not TLS: the caller may decode them as something else. */
  notTls(dir: Direction): string | null {
    return this.dirs[dir].notTls;
  }

  private onRecordEvents(dir: Direction, ev: RecordEvent[]): void {
    const d = this.dirs[dir];
    for (const e of ev) {
      if (e.kind === 'invalid') {
        if (d.recordCount === 0 && !d.afterLeadingHole) d.notTls = e.reason;
        else {
          d.lost = true;
          this.notes.push(`${dir}: TLS record stream broke at frame ${e.frame} (${e.reason}); stopped following it`);
        }
        continue;
      }
      if (e.kind === 'desync') {
        d.lost = true;
        this.notes.push(`${dir}: payload not captured at frame ${e.frame}: ${e.reason}`);
        continue;
      }
      d.recordCount++;
      this.onRecord(dir, e.record);
    }
  }

  private onRecord(dir: Direction, r: TlsRecord): void {
    const d = this.dirs[dir];
    // protected records: TLS 1.3 carries them all as application_data; in TLS ≤ 1.2 everything
    // after the direction's ChangeCipherSpec is protected
    if (this.crypto[dir] && r.type !== CONTENT_TYPE.change_cipher_spec && (r.type === CONTENT_TYPE.application_data || !this.tls13)) {
      if (r.type === CONTENT_TYPE.application_data) {
        d.appData++;
        d.encrypted = true;
      }
      this.decryptRecord(dir, r);
      return;
    }
    switch (r.type) {
      case CONTENT_TYPE.handshake: {
        if (d.encrypted || d.handshake.lost) return;
        if (d.ccs && !this.plaintextHandshakeAfterCcs(dir)) {
          d.encrypted = true;
          return;
        }
        const hev: HandshakeEvent[] = [];
        for (const p of r.pieces) {
          if (typeof p === 'number') d.handshake.gap(p, r.frame, hev);
          else d.handshake.push(p, r.frame, hev);
        }
        if (r.missing > 0) this.notes.push(`${dir}: TLS handshake record at frame ${r.frame}: ${r.missing} of ${r.length} bytes not captured`);
        for (const h of hev) {
          if (h.kind === 'desync') {
            this.notes.push(`${dir}: payload not captured at frame ${h.frame}: ${h.reason}`);
          } else {
            this.onHandshake(dir, h.message);
          }
        }
        return;
      }
      case CONTENT_TYPE.change_cipher_spec:
        this.procChangeCipherSpec(dir);
        return;
      case CONTENT_TYPE.alert:
        if (r.fragment && r.fragment.length === 2 && !(d.ccs && !this.tls13)) {
          const level = r.fragment[0] === 2 ? 'fatal' : r.fragment[0] === 1 ? 'warning' : `level ${r.fragment[0]}`;
          const desc = r.fragment[1]!;
          this.notes.push(`${dir === 'c2s' ? 'client' : 'server'} sent alert: ${level} ${ALERTS[desc] ?? 'unknown'} (${desc}) at frame ${r.frame}`);
        }
        return;
      case CONTENT_TYPE.application_data:
        d.appData++;
        d.encrypted = true;
        return;
      default:
        return;
    }
  }

  /**
   * After a ChangeCipherSpec, TLS ≤ 1.2 handshake records are encrypted (Finished). In TLS 1.3
   * the CCS is a compatibility dummy (RFC 8446 D.4) and every handshake-type record is plaintext
   * (encrypted handshake messages travel in application_data records) — e.g. the ServerHello and
   * second ClientHello after a HelloRetryRequest. Unknown version: treated as encrypted.
   */
  private plaintextHandshakeAfterCcs(_dir: Direction): boolean {
    return this.tls13;
  }

  private onHandshake(dir: Direction, m: HandshakeMessage): void {
    if (dir === 'c2s') {
      switch (m.type) {
        case HS.client_hello:
          return this.procClientHello(m);
        case HS.certificate:
          return this.procClientCertificate(m);
        case HS.client_key_exchange:
          this.clientKeyExchange = true;
          return;
        case HS.finished:
          return this.procFinished(dir);
        case HS.key_update:
          return this.procKeyUpdate(dir, m);
        default:
          return;
      }
    }
    switch (m.type) {
      case HS.encrypted_extensions: {
        const ee = parseEncryptedExtensions(m.body);
        if (ee.alpn !== null) this.alpn13 = ee.alpn;
        return;
      }
      case HS.finished:
        return this.procFinished(dir);
      case HS.key_update:
        return this.procKeyUpdate(dir, m);
      case HS.server_hello:
        return this.procServerHello(m);
      case HS.certificate:
        return this.procServerCertificate(m);
      case HS.certificate_request:
        return this.procCertificateRequest(m);
      case HS.server_hello_done:
        this.serverHelloDone = true;
        return;
      default:
        return;
    }
  }

  private procClientHello(m: HandshakeMessage): void {
    const ch = parseClientHello(m.body);
    this.clientHellos.push(ch);
    if (this.clientHellos.length === 1) this.frames.clientHello = m.frame;
    if (m.missing > 0) {
      this.truncatedHello = true;
      this.notes.push(`ClientHello truncated at frame ${m.frame}: ${m.missing} of ${m.length} bytes not captured (payload not captured: SNI/ALPN may be missing)`);
    } else if (ch.truncated) {
      this.notes.push(`ClientHello malformed at frame ${m.frame}: ${ch.truncated}`);
    }
  }

  private procServerHello(m: HandshakeMessage): void {
    const sh = parseServerHello(m.body);
    if (m.missing > 0) this.notes.push(`ServerHello truncated at frame ${m.frame}: ${m.missing} of ${m.length} bytes not captured`);
    else if (sh.truncated) this.notes.push(`ServerHello malformed at frame ${m.frame}: ${sh.truncated}`);
    if (sh.helloRetryRequest) {
      this.hrr = sh;
      this.notes.push(`HelloRetryRequest at frame ${m.frame}`);
      return;
    }
    this.serverHello = sh;
    this.frames.serverHello = m.frame;
    // TLS 1.3: everything the server sends after its ServerHello is encrypted.
    if (this.tls13) this.dirs.s2c.encrypted = true;
    if (this.keys) this.setUpKeys(sh);
  }

  // ---------------------------------------------------------------------------------------------
  // Decryption with key-log secrets

  private newDecryption(status: TlsDecryption['status'], reason?: string): TlsDecryption {
    const ch = this.clientHellos[0];
    return {
      status,
      ...(reason ? { reason } : {}),
      ...(ch && ch.random.length === 32 ? { clientRandom: Buffer.from(ch.random).toString('hex') } : {}),
      records: { c2s: 0, s2c: 0 },
      plaintextBytes: { c2s: 0, s2c: 0 },
      failed: 0,
      notCaptured: 0,
    };
  }

  /** At the ServerHello: the session's secrets from the key log, and the record keys they give. */
  private setUpKeys(sh: ServerHello): void {
    const ch = this.clientHellos[0];
    if (!ch || ch.random.length !== 32) {
      this.decryption = this.newDecryption('no-key', 'ClientHello not seen: no client random to look the key log up by');
      return;
    }
    const secrets = this.keys!.get(ch.random);
    if (!secrets) {
      this.decryption = this.newDecryption('no-key', 'no key for client_random');
      return;
    }
    if (sh.cipherSuite === null || sh.random.length !== 32) {
      this.decryption = this.newDecryption('unsupported', 'ServerHello incomplete: cipher suite or server random unknown');
      return;
    }
    const p = suiteParams(sh.cipherSuite);
    if ('unsupported' in p) {
      this.decryption = this.newDecryption('unsupported', p.unsupported);
      return;
    }
    this.suite = p;
    this.secrets = secrets;
    if (this.tls13) {
      if (!secrets.clientHandshake || !secrets.serverHandshake) {
        this.decryption = this.newDecryption('no-key', 'the key log has no TLS 1.3 handshake traffic secrets for this client_random');
        return;
      }
      this.decryption = this.newDecryption('decrypted');
      this.crypto.s2c = { cipher: new RecordCipher(p, tls13Keys(p, secrets.serverHandshake), true), secret: secrets.serverHandshake };
      this.crypto.c2s = { cipher: new RecordCipher(p, tls13Keys(p, secrets.clientHandshake), true), secret: secrets.clientHandshake };
      return;
    }
    if (!secrets.master) {
      this.decryption = this.newDecryption('no-key', 'the key log has no CLIENT_RANDOM master secret for this client_random');
      return;
    }
    if (this.version !== 0x0303) {
      this.decryption = this.newDecryption('unsupported', `${versionName(this.version)} records are not decrypted (TLS 1.2 and 1.3 only)`);
      return;
    }
    const k = tls12Keys(p, secrets.master, ch.random, sh.random);
    this.decryption = this.newDecryption('decrypted');
    this.pending12 = { c2s: new RecordCipher(p, k.client, false), s2c: new RecordCipher(p, k.server, false) };
  }

  private decryptRecord(dir: Direction, r: TlsRecord): void {
    const c = this.crypto[dir]!;
    const st = this.decryption!;
    if (r.fragment === null) {
      c.cipher.skip();
      st.notCaptured++;
      return;
    }
    const res = c.cipher.open(r.type, r.version, r.fragment);
    if (!res.ok) {
      st.failed++;
      if (st.records[dir] === 0) {
        // the very first protected record does not open: these are not this session's keys
        this.crypto[dir] = null;
        if (st.records.c2s + st.records.s2c === 0) {
          st.status = 'failed';
          st.reason = `${dir === 'c2s' ? 'client' : 'server'} record at frame ${r.frame}: ${res.reason}`;
        }
        this.notes.push(`${dir}: decryption failed at frame ${r.frame}: ${res.reason}; stopped decrypting this direction`);
      } else if (st.failed <= 3) {
        this.notes.push(`${dir}: record at frame ${r.frame} did not decrypt: ${res.reason}`);
      }
      return;
    }
    st.records[dir]++;
    switch (res.type) {
      case CONTENT_TYPE.handshake: {
        if (this.dirs[dir].handshake.lost) return;
        // TLS ≤ 1.2: Finished (and renegotiation), nothing the verdict needs
        if (!this.tls13) return;
        const hev: HandshakeEvent[] = [];
        this.dirs[dir].handshake.push(res.plaintext, r.frame, hev);
        for (const h of hev) {
          if (h.kind === 'desync') this.notes.push(`${dir}: payload not captured at frame ${h.frame}: ${h.reason}`);
          else this.onHandshake(dir, h.message);
        }
        return;
      }
      case CONTENT_TYPE.application_data:
        st.plaintextBytes[dir] += res.plaintext.length;
        if (res.plaintext.length) this.onPlaintext?.(dir, res.plaintext, { frame: r.frame, timeMs: this.lastTime[dir] });
        return;
      case CONTENT_TYPE.alert:
        if (res.plaintext.length === 2) {
          const level = res.plaintext[0] === 2 ? 'fatal' : res.plaintext[0] === 1 ? 'warning' : `level ${res.plaintext[0]}`;
          const desc = res.plaintext[1]!;
          this.notes.push(`${dir === 'c2s' ? 'client' : 'server'} sent alert (decrypted): ${level} ${ALERTS[desc] ?? 'unknown'} (${desc}) at frame ${r.frame}`);
        }
        return;
      default:
        return;
    }
  }

  /** TLS 1.3 Finished: that side's handshake keys give way to its application traffic keys. */
  private procFinished(dir: Direction): void {
    if (!this.tls13 || !this.crypto[dir] || this.finished[dir]) return;
    this.finished[dir] = true;
    const secret = dir === 'c2s' ? this.secrets?.clientTraffic0 : this.secrets?.serverTraffic0;
    if (!secret) {
      this.notes.push(`the key log has no ${dir === 'c2s' ? 'CLIENT' : 'SERVER'}_TRAFFIC_SECRET_0 for this session: ${dir === 'c2s' ? 'client' : 'server'} application data not decrypted`);
      this.crypto[dir] = null;
      return;
    }
    this.crypto[dir] = { cipher: new RecordCipher(this.suite!, tls13Keys(this.suite!, secret), true), secret };
  }

  /** TLS 1.3 KeyUpdate: the sender's next records use the next traffic secret. */
  private procKeyUpdate(dir: Direction, m: HandshakeMessage): void {
    const c = this.crypto[dir];
    if (!this.tls13 || !c || !c.secret || !this.finished[dir]) return;
    const next = nextTrafficSecret(this.suite!.hash, c.secret);
    c.secret = next;
    c.cipher.rekey(tls13Keys(this.suite!, next));
    this.notes.push(`${dir === 'c2s' ? 'client' : 'server'} KeyUpdate at frame ${m.frame}: keys updated`);
  }

  private procServerCertificate(m: HandshakeMessage): void {
    this.serverCertSeen = true;
    this.frames.serverCertificate = m.frame;
    if (m.missing > 0) {
      this.notes.push(`server Certificate at frame ${m.frame}: ${m.missing} of ${m.length} bytes not captured`);
    }
    const c = parseCertificate(m.body, this.tls13);
    this.serverChain = this.certInfos(c.certificates, 'server');
  }

  private procCertificateRequest(m: HandshakeMessage): void {
    this.certificateRequested = true;
    this.frames.certificateRequest = m.frame;
    if (this.tls13) return; // context and extensions: nothing more to check
    const cr = parseCertificateRequest(m.body, this.version === 0x0303);
    if (cr.truncated && m.missing === 0) this.notes.push(`CertificateRequest malformed at frame ${m.frame}: ${cr.truncated}`);
  }

  private procClientCertificate(m: HandshakeMessage): void {
    this.frames.clientCertificate = m.frame;
    if (m.missing > 0) {
      // The message header says how long it is: > 3 bytes of list means certificates were sent.
      this.notes.push(`client Certificate at frame ${m.frame}: ${m.missing} of ${m.length} bytes not captured`);
    }
    const c = parseCertificate(m.body, this.tls13);
    const declared = m.length - (this.tls13 ? 1 : 0) - 3;
    const infos = this.certInfos(c.certificates, 'client');
    this.clientCertMessage = { certificates: infos, count: Math.max(c.certificates.length, declared > 0 ? 1 : 0) };
    if (declared <= 0) {
      this.notes.push(`client answered the CertificateRequest with an empty Certificate (frame ${m.frame}): no client certificate`);
    }
  }

  private procChangeCipherSpec(dir: Direction): void {
    const d = this.dirs[dir];
    if (d.ccs) return;
    d.ccs = true;
    const v = this.version;
    if (dir === 's2c' && v !== null && !this.tls13 && this.serverHello) {
      // TLS ≤ 1.2: ServerHello directly followed by ChangeCipherSpec = abbreviated handshake
      if (!this.serverCertSeen && !this.serverHelloDone) this.abbreviated = true;
    }
    // After CCS in TLS ≤ 1.2 the direction's handshake messages (Finished) are encrypted; in
    // TLS 1.3 the CCS is a compatibility dummy and encryption shows as application_data records.
    if (v !== null && !this.tls13) {
      d.encrypted = true;
      if (this.pending12) this.crypto[dir] = { cipher: this.pending12[dir], secret: null };
    }
  }

  private certInfos(ders: Uint8Array[], who: string): CertificateInfo[] {
    const out: CertificateInfo[] = [];
    ders.forEach((der, i) => {
      try {
        out.push(certificateInfo(der));
      } catch (err) {
        this.notes.push(`${who} certificate #${i} (${der.length} bytes) is not a parsable X.509 certificate: ${(err as Error).message}`);
      }
    });
    return out;
  }

  /** Notes about what of the handshake was not visible at all. */
  private visibilityNotes(): string[] {
    const out: string[] = [];
    if (this.clientHellos.length === 0 && this.dirs.c2s.recordCount > 0) out.push('no ClientHello seen (capture started mid-connection, or payload not captured): SNI/ALPN unknown');
    if (!this.serverHello && !this.hrr && !this.sslv2Server && this.dirs.s2c.recordCount > 0) out.push('no ServerHello seen: negotiated version unknown');
    return out;
  }

  /** Notes, including what of the handshake was not visible. */
  allNotes(): string[] {
    return [...this.notes, ...this.visibilityNotes()];
  }

  /** True when anything TLS was seen. */
  get seen(): boolean {
    return this.dirs.c2s.recordCount + this.dirs.s2c.recordCount > 0 || this.sslv2Hello;
  }

  facts(): FlowTls {
    const ch = this.clientHellos[0] ?? null;
    const sh = this.serverHello;
    const v = this.version;
    const tls13 = this.tls13;
    let resumed: boolean | null = null;
    if (sh) {
      if (tls13) resumed = sh.pskSelected !== null;
      else if (this.abbreviated) resumed = true;
      else if (ch && ch.sessionId.length > 0 && Buffer.from(sh.sessionId).equals(Buffer.from(ch.sessionId)) && !this.truncatedHello) resumed = true;
      else if (this.serverCertSeen || this.serverHelloDone) resumed = false;
    }
    let requested: boolean | null = null;
    let sent: boolean | null = null;
    if (tls13 && resumed !== true && this.finished.s2c) {
      // decrypted: the server's whole flight was seen, and the client's answer to it
      requested = this.certificateRequested;
      if (this.clientCertMessage) sent = this.clientCertMessage.count > 0;
      else if (this.finished.c2s || !this.certificateRequested) sent = false;
    } else if (!tls13 && resumed !== true) {
      // a TLS ≤ 1.2 client sends a Certificate message only when asked for one
      if (this.certificateRequested || this.clientCertMessage) requested = true;
      else if (this.serverHelloDone) requested = false;
      if (this.clientCertMessage) sent = this.clientCertMessage.count > 0;
      else if (this.clientKeyExchange || (this.dirs.c2s.ccs && requested !== null)) sent = false;
    }
    const leaf = this.clientCertMessage?.certificates[0];
    const serverLeaf = this.serverChain[0];
    const offered = ch
      ? (ch.sessionTicket !== null && ch.sessionTicket.length > 0) ||
        ch.preSharedKey ||
        (ch.sessionId.length > 0 && !(ch.supportedVersions ?? []).includes(0x0304))
      : undefined;
    const out: FlowTls = {
      version: versionName(v),
      sni: ch?.sni ?? null,
      alpn: ch?.alpn ?? [],
      alpnSelected: sh?.alpn ?? this.alpn13,
      clientCertificateRequested: requested,
      clientCertificateSent: sent,
      uriSans: leaf?.uriSans ?? [],
      dnsSans: leaf?.dnsSans ?? [],
      subject: leaf ? leaf.subject : null,
      serverUriSans: serverLeaf?.uriSans ?? [],
      serverDnsSans: serverLeaf?.dnsSans ?? [],
      resumed,
      helloRetryRequest: this.hrr !== null,
      cipherSuite: sh?.cipherSuite ?? null,
      cipherSuiteName: sh?.cipherSuite != null ? cipherSuiteName(sh.cipherSuite) : null,
      // fingerprints of a whole ClientHello only (a cut one would give another client's)
      ja3: ch && !ch.truncated && !this.sslv2Hello ? ja3(ch) : null,
      ja4: ch && !ch.truncated && !this.sslv2Hello ? ja4(ch) : null,
      frames: { ...this.frames },
    };
    if (this.clientCertMessage) out.clientChain = this.clientCertMessage.certificates;
    if (this.serverChain.length) out.serverChain = this.serverChain;
    if (offered !== undefined) out.resumptionOffered = offered;
    if (this.keys && this.seen) out.decryption = this.decryptionFacts();
    return out;
  }

  /** What decryption achieved; a session whose ServerHello was never seen has no keys to use. */
  private decryptionFacts(): TlsDecryption {
    const st = this.decryption;
    if (!st) return this.newDecryption('no-key', this.serverHello ? 'no key for client_random' : 'no ServerHello seen: cipher suite and server random unknown');
    return { ...st, records: { ...st.records }, plaintextBytes: { ...st.plaintextBytes } };
  }
}

