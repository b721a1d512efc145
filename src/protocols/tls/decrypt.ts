/**
 * TLS record protection, with Node's crypto: the key schedule from key-log secrets and the AEAD
 * record ciphers of TLS 1.2 (RFC 5246 PRF and key block, RFC 5288 AES-GCM, RFC 7905
 * ChaCha20-Poly1305) and TLS 1.3 (RFC 8446 §7: HKDF-Expand-Label, per-record nonces, the inner
 * content type, key updates). Pure: secrets and records in, plaintext out. ./analyzer.ts decides
 * which records and keys go together.
 */
import { createCipheriv, createDecipheriv, createHmac, type CipherGCM, type DecipherGCM } from 'node:crypto';
import { cipherSuiteName } from './cipher-suites.js';

export type AeadName = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
export type HashName = 'sha256' | 'sha384';

export interface SuiteParams {
  aead: AeadName;
  hash: HashName;
  keyLength: number;
  /** TLS 1.2: the implicit IV from the key block (4 for GCM, 12 for ChaCha20-Poly1305). */
  fixedIvLength: number;
  /** TLS 1.2: the explicit nonce carried in each record (8 for GCM, 0 for ChaCha20-Poly1305). */
  explicitNonceLength: number;
}

const AEADS: Record<string, { aead: AeadName; keyLength: number; fixedIv: number; explicit: number }> = {
  AES_128_GCM: { aead: 'aes-128-gcm', keyLength: 16, fixedIv: 4, explicit: 8 },
  AES_256_GCM: { aead: 'aes-256-gcm', keyLength: 32, fixedIv: 4, explicit: 8 },
  CHACHA20_POLY1305: { aead: 'chacha20-poly1305', keyLength: 32, fixedIv: 12, explicit: 0 },
};

/**
 * The record protection of a cipher suite, from its IANA name (`TLS_AES_128_GCM_SHA256`,
 * `TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256`, ...), or a reason when it is not one we decrypt.
 */
export function suiteParams(suite: number): SuiteParams | { unsupported: string } {
  const name = cipherSuiteName(suite);
  const m = /^TLS_(?:.*_WITH_)?(AES_128_GCM|AES_256_GCM|CHACHA20_POLY1305)_(SHA256|SHA384)$/.exec(name);
  if (!m) return { unsupported: `cipher suite ${name} is not decrypted (AEAD suites only: AES-128/256-GCM, ChaCha20-Poly1305)` };
  const a = AEADS[m[1]!]!;
  return { aead: a.aead, hash: m[2] === 'SHA384' ? 'sha384' : 'sha256', keyLength: a.keyLength, fixedIvLength: a.fixedIv, explicitNonceLength: a.explicit };
}

const hashLength = (h: HashName) => (h === 'sha384' ? 48 : 32);

/** TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed) truncated to `length`. */
export function prf12(hash: HashName, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out: Buffer[] = [];
  let got = 0;
  let a: Buffer = labelSeed;
  while (got < length) {
    a = createHmac(hash, secret).update(a).digest();
    const p = createHmac(hash, secret).update(a).update(labelSeed).digest();
    out.push(p);
    got += p.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** HKDF-Expand (RFC 5869 §2.3). */
export function hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Buffer {
  const out: Buffer[] = [];
  let t: Buffer = Buffer.alloc(0);
  let got = 0;
  for (let i = 1; got < length; i++) {
    t = createHmac(hash, prk).update(t).update(info).update(Buffer.from([i])).digest();
    out.push(t);
    got += t.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** HKDF-Expand-Label (RFC 8446 §7.1): HkdfLabel = length || "tls13 " + label || context. */
export function hkdfExpandLabel(hash: HashName, secret: Uint8Array, label: string, context: Uint8Array, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([context.length]), context]);
  return hkdfExpand(hash, secret, info, length);
}

export interface RecordKeys {
  key: Buffer;
  /** TLS 1.3: the 12-byte write IV; TLS 1.2: the implicit (fixed) IV part. */
  iv: Buffer;
}

/** TLS 1.3 traffic keys from a traffic secret (RFC 8446 §7.3). */
export function tls13Keys(p: SuiteParams, secret: Uint8Array): RecordKeys {
  return { key: hkdfExpandLabel(p.hash, secret, 'key', new Uint8Array(0), p.keyLength), iv: hkdfExpandLabel(p.hash, secret, 'iv', new Uint8Array(0), 12) };
}

/** The next TLS 1.3 traffic secret after a KeyUpdate (RFC 8446 §7.2). */
export function nextTrafficSecret(hash: HashName, secret: Uint8Array): Buffer {
  return hkdfExpandLabel(hash, secret, 'traffic upd', new Uint8Array(0), hashLength(hash));
}

/** TLS 1.2 key block (RFC 5246 §6.3) split into the client's and the server's write keys (AEAD: no MAC keys). */
export function tls12Keys(p: SuiteParams, master: Uint8Array, clientRandom: Uint8Array, serverRandom: Uint8Array): { client: RecordKeys; server: RecordKeys } {
  const n = 2 * p.keyLength + 2 * p.fixedIvLength;
  const kb = prf12(p.hash, master, 'key expansion', Buffer.concat([serverRandom, clientRandom]), n);
  let o = 0;
  const take = (len: number) => kb.subarray(o, (o += len));
  const ck = take(p.keyLength);
  const sk = take(p.keyLength);
  const civ = take(p.fixedIvLength);
  const siv = take(p.fixedIvLength);
  return { client: { key: Buffer.from(ck), iv: Buffer.from(civ) }, server: { key: Buffer.from(sk), iv: Buffer.from(siv) } };
}

const TAG = 16;

/** GCM and ChaCha20-Poly1305 share the AEAD calls used here (setAAD, setAuthTag, getAuthTag). */
function decipher(aead: AeadName, key: Buffer, iv: Buffer): DecipherGCM {
  return aead === 'chacha20-poly1305' ? (createDecipheriv(aead, key, iv, { authTagLength: TAG }) as unknown as DecipherGCM) : createDecipheriv(aead, key, iv, { authTagLength: TAG });
}
function cipher(aead: AeadName, key: Buffer, iv: Buffer): CipherGCM {
  return aead === 'chacha20-poly1305' ? (createCipheriv(aead, key, iv, { authTagLength: TAG }) as unknown as CipherGCM) : createCipheriv(aead, key, iv, { authTagLength: TAG });
}

export type OpenResult = { ok: true; type: number; plaintext: Buffer } | { ok: false; reason: string };

/**
 * One direction's record protection: opens (and, for tests and benchmarks, seals) records in
 * sequence. `tls13` selects the nonce and additional-data construction and the inner content type.
 */
export class RecordCipher {
  private seq = 0n;
  private readonly nonce = Buffer.alloc(12);
  private readonly aad: Buffer;

  constructor(
    private readonly p: SuiteParams,
    private keys: RecordKeys,
    private readonly tls13: boolean,
  ) {
    this.aad = Buffer.alloc(tls13 ? 5 : 13);
  }

  /** Records opened or sealed so far (the next sequence number). */
  get sequence(): bigint {
    return this.seq;
  }

  /** Replaces the keys (TLS 1.3 KeyUpdate) and restarts the sequence. */
  rekey(keys: RecordKeys): void {
    this.keys = keys;
    this.seq = 0n;
  }

  /** A record that could not be read (gap): its sequence number is used up. */
  skip(): void {
    this.seq++;
  }

  private setNonce(explicit: Uint8Array | null): void {
    const n = this.nonce;
    if (!this.tls13 && this.p.explicitNonceLength > 0) {
      // AES-GCM in TLS 1.2: salt (implicit IV) || explicit nonce from the record
      this.keys.iv.copy(n, 0, 0, 4);
      n.set(explicit!, 4);
      return;
    }
    // TLS 1.3 and ChaCha20-Poly1305 in TLS 1.2: IV XOR the 64-bit sequence number, left-padded
    this.keys.iv.copy(n, 0, 0, 12);
    let s = this.seq;
    for (let i = 11; i >= 4; i--) {
      n[i]! ^= Number(s & 0xffn);
      s >>= 8n;
    }
  }

  private setAad(type: number, version: number, length: number): void {
    const a = this.aad;
    let o = 0;
    if (!this.tls13) {
      a.writeBigUInt64BE(this.seq, 0);
      o = 8;
    }
    a[o] = type;
    a[o + 1] = version >> 8;
    a[o + 2] = version & 0xff;
    a[o + 3] = length >> 8;
    a[o + 4] = length & 0xff;
  }

  /** Opens one record body (`type`, `version` from its header). Advances the sequence either way. */
  open(type: number, version: number, body: Uint8Array): OpenResult {
    const ex = this.tls13 ? 0 : this.p.explicitNonceLength;
    if (body.length < ex + TAG) {
      this.seq++;
      return { ok: false, reason: `record of ${body.length} bytes is shorter than its nonce and tag` };
    }
    this.setNonce(ex ? body.subarray(0, ex) : null);
    const ct = body.subarray(ex, body.length - TAG);
    // TLS 1.3 authenticates the record header as sent; TLS 1.2 the plaintext length
    this.setAad(type, version, this.tls13 ? body.length : ct.length);
    const d = decipher(this.p.aead, this.keys.key, this.nonce);
    d.setAAD(this.aad, { plaintextLength: ct.length });
    d.setAuthTag(body.subarray(body.length - TAG));
    let pt: Buffer;
    try {
      pt = Buffer.concat([d.update(ct), d.final()]);
    } catch {
      this.seq++;
      return { ok: false, reason: 'authentication tag mismatch (wrong key, or record out of sequence)' };
    }
    this.seq++;
    if (!this.tls13) return { ok: true, type, plaintext: pt };
    // TLSInnerPlaintext: content || content type || zero padding
    let i = pt.length - 1;
    while (i >= 0 && pt[i] === 0) i--;
    if (i < 0) return { ok: false, reason: 'TLS 1.3 record with no inner content type (all padding)' };
    return { ok: true, type: pt[i]!, plaintext: pt.subarray(0, i) };
  }

  /** Seals one record (tests and benchmarks): the body to put after a `type`/`version` header. */
  seal(type: number, version: number, plaintext: Uint8Array, explicit?: Uint8Array): { type: number; body: Buffer } {
    const ex = this.tls13 ? 0 : this.p.explicitNonceLength;
    const exBytes = ex ? Buffer.from(explicit ?? Buffer.alloc(8)) : Buffer.alloc(0);
    if (ex && !explicit) exBytes.writeBigUInt64BE(this.seq);
    const inner = this.tls13 ? Buffer.concat([plaintext, Buffer.from([type])]) : Buffer.from(plaintext);
    const outerType = this.tls13 ? 23 : type;
    this.setNonce(ex ? exBytes : null);
    this.setAad(outerType, version, this.tls13 ? inner.length + TAG : inner.length);
    const c = cipher(this.p.aead, this.keys.key, this.nonce);
    c.setAAD(this.aad, { plaintextLength: inner.length });
    const ct = Buffer.concat([c.update(inner), c.final()]);
    const tag = c.getAuthTag();
    this.seq++;
    return { type: outerType, body: Buffer.concat([exBytes, ct, tag]) };
  }
}
