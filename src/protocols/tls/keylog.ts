/**
 * The NSS key log format (what SSLKEYLOGFILE, `openssl s_client -keylogfile`, Node's 'keylog'
 * event and Envoy's `key_log` in Downstream/UpstreamTlsContext write): one `<LABEL> <client_random
 * hex> <secret hex>` per line, `#` comments. Wire format only: the secrets are kept by the
 * ClientHello.random they belong to; ./decrypt.ts derives the record keys from them.
 *
 * Labels used: CLIENT_RANDOM (the TLS ≤ 1.2 48-byte master secret) and the TLS 1.3 traffic
 * secrets CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET and CLIENT_/SERVER_TRAFFIC_SECRET_0. Others
 * (EARLY_EXPORTER_SECRET, EXPORTER_SECRET, CLIENT_EARLY_TRAFFIC_SECRET, RSA) are counted, not used.
 */
import type { Diagnostic } from '../../model/errors.js';

export interface SessionSecrets {
  /** TLS ≤ 1.2 master secret (48 bytes). */
  master?: Buffer;
  clientHandshake?: Buffer;
  serverHandshake?: Buffer;
  clientTraffic0?: Buffer;
  serverTraffic0?: Buffer;
}

const LABELS: Record<string, keyof SessionSecrets> = {
  CLIENT_RANDOM: 'master',
  CLIENT_HANDSHAKE_TRAFFIC_SECRET: 'clientHandshake',
  SERVER_HANDSHAKE_TRAFFIC_SECRET: 'serverHandshake',
  CLIENT_TRAFFIC_SECRET_0: 'clientTraffic0',
  SERVER_TRAFFIC_SECRET_0: 'serverTraffic0',
};

/** Labels of the format that carry nothing record decryption needs. */
const KNOWN_UNUSED = new Set(['CLIENT_EARLY_TRAFFIC_SECRET', 'EARLY_EXPORTER_SECRET', 'EXPORTER_SECRET', 'RSA']);

/** Secrets by client random (lowercase hex of the 32-byte ClientHello.random). */
export class KeyLog {
  private readonly byRandom = new Map<string, SessionSecrets>();
  /** Lines by label, and lines not used (unknown labels, malformed). */
  readonly counts: Record<string, number> = {};

  add(label: string, clientRandom: Buffer, secret: Buffer): void {
    const field = LABELS[label];
    this.counts[label] = (this.counts[label] ?? 0) + 1;
    if (!field) return;
    const key = clientRandom.toString('hex');
    let s = this.byRandom.get(key);
    if (!s) this.byRandom.set(key, (s = {}));
    s[field] = secret;
  }

  get(clientRandom: Uint8Array): SessionSecrets | undefined {
    return this.byRandom.get(Buffer.from(clientRandom.buffer, clientRandom.byteOffset, clientRandom.length).toString('hex'));
  }

  /** Sessions (client randoms) with at least one secret. */
  get size(): number {
    return this.byRandom.size;
  }
}

const HEX = /^[0-9a-fA-F]+$/;

/**
 * Parses key log text. Malformed lines are diagnostics naming the file and line (and the rest is
 * used): a label we do not know, a client random that is not 32 bytes of hex, a secret of odd or
 * wrong length (48 bytes for CLIENT_RANDOM; 32 or 48 for TLS 1.3 secrets).
 */
export function parseKeyLog(text: string, file: string, into: KeyLog = new KeyLog()): { keys: KeyLog; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const bad = (line: number, message: string) => {
    if (diagnostics.length < 20) diagnostics.push({ severity: 'warning', location: { file, line }, message });
  };
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    const label = parts[0]!;
    if (parts.length !== 3) {
      bad(lineNo, `expected "<LABEL> <client_random hex> <secret hex>", found ${parts.length} field(s)`);
      continue;
    }
    const [, cr, sec] = parts as [string, string, string];
    if (!LABELS[label] && !KNOWN_UNUSED.has(label)) {
      bad(lineNo, `unknown key log label ${JSON.stringify(label.slice(0, 40))} (expected CLIENT_RANDOM or a TLS 1.3 *_TRAFFIC_SECRET label)`);
      continue;
    }
    if (label === 'RSA') {
      into.counts.RSA = (into.counts.RSA ?? 0) + 1;
      continue;
    }
    if (cr.length !== 64 || !HEX.test(cr)) {
      bad(lineNo, `expected a 32-byte client random in hex (64 digits), found ${cr.length} character(s)`);
      continue;
    }
    if (sec.length % 2 !== 0 || !HEX.test(sec)) {
      bad(lineNo, 'expected the secret in hex');
      continue;
    }
    const n = sec.length / 2;
    if (label === 'CLIENT_RANDOM' ? n !== 48 : n !== 32 && n !== 48) {
      bad(lineNo, `expected a ${label === 'CLIENT_RANDOM' ? '48-byte master secret' : '32- or 48-byte traffic secret'}, found ${n} bytes`);
      continue;
    }
    into.add(label, Buffer.from(cr, 'hex'), Buffer.from(sec, 'hex'));
  }
  return { keys: into, diagnostics };
}
