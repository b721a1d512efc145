/**
 * The generator's recording: the throwaway PKI and the wire bytes of every TLS session, produced once by real
 * Node TLS sockets and then replayed. OpenSSL's randomness cannot be seeded, so this file is what makes
 * regeneration byte-for-byte identical; delete an entry (or the file) and the next run records it afresh.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { issueRoot, issueWorkload, type KeyAndCert } from '../synth/pki/index.js';
import type { Prng } from '../synth/rng.js';
import { runTlsSession, type SessionStep } from '../synth/tls-session.js';

export type Side = 'client' | 'server';

/** One step of the application conversation carried inside the TLS session (src/synth's scripted steps). */
export type AppStep = { send: Side; data: Buffer } | { end: Side } | { abort: Side };

/** A sample TLS session; its JSON (data in base64) is the recording's key, so the shape must stay as it is. */
export interface TlsSessionSpec {
  ca: string;
  server: KeyAndCert;
  /** client certificate; null = one-way TLS */
  client: KeyAndCert | null;
  sni?: string;
  clientAlpn: string[];
  serverAlpn: string[];
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  maxVersion: 'TLSv1.2' | 'TLSv1.3';
  steps: AppStep[];
}

/** Bytes one side wrote (consecutive writes of one step joined into a flight), or its FIN. */
export type WireChunk = ({ from: Side; data: Buffer } | { from: Side; fin: true }) & {
  /** index of the app step during which the bytes were written (-1 = handshake) */
  step: number;
};

/** Runs the session with src/synth's real Node TLS sockets and groups what each side wrote into flights. */
async function recordSession(spec: TlsSessionSpec): Promise<{ wire: WireChunk[]; version: string; alpn: string | false }> {
  if (spec.minVersion !== spec.maxVersion) throw new Error('sample TLS session: one TLS version per session');
  const r = await runTlsSession({
    version: spec.minVersion,
    ca: spec.ca,
    server: { cert: spec.server.certPem, key: spec.server.keyPem },
    ...(spec.client ? { client: { cert: spec.client.certPem, key: spec.client.keyPem } } : {}),
    requestCert: true,
    verifyPeers: true,
    ...(spec.sni ? { sni: spec.sni } : {}),
    alpn: spec.clientAlpn,
    serverAlpn: spec.serverAlpn,
    steps: spec.steps as SessionStep[],
  });
  const wire: WireChunk[] = [];
  for (const m of r.messages) {
    const from: Side = m.dir === 'c2s' ? 'client' : 'server';
    const step = m.step ?? -1;
    const last = wire[wire.length - 1];
    if (m.fin) wire.push({ from, fin: true, step });
    else if (last && last.from === from && 'data' in last && last.step === step) last.data = Buffer.concat([last.data, m.bytes]);
    else wire.push({ from, data: Buffer.from(m.bytes), step });
  }
  return { wire, version: r.version ?? '', alpn: r.alpn ?? false };
}

interface StoredSession {
  version: string;
  alpn: string | false;
  wire: Array<[Side, string | null, number]>;
}

interface RecordingFile {
  note: string;
  ca: KeyAndCert | null;
  leaves: Record<string, KeyAndCert>;
  sessions: Record<string, StoredSession>;
}

const NOTE =
  'meshsleuth sample generator recording: throwaway CA and workload keys (never used outside these samples) and the wire bytes of real Node TLS sessions, replayed so that regeneration is byte-for-byte identical.';

export class Recording {
  private data: RecordingFile;
  private used = new Set<string>();
  private usedLeaves = new Set<string>();
  recorded = 0;
  replayed = 0;

  constructor(
    private readonly path: string | null,
    private readonly prng: Prng,
    private readonly notBefore: Date,
  ) {
    this.data = path && existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as RecordingFile) : { note: NOTE, ca: null, leaves: {}, sessions: {} };
  }

  get ca(): KeyAndCert {
    if (!this.data.ca) {
      this.data.ca = issueRoot(this.prng.fork('ca'), new Date(this.notBefore.getTime() - 30 * 86400_000));
      this.data.sessions = {}; // sessions were made with another CA
      this.data.leaves = {};
    }
    return this.data.ca;
  }

  leaf(spiffeId: string): KeyAndCert {
    const ca = this.ca;
    this.usedLeaves.add(spiffeId);
    return (this.data.leaves[spiffeId] ??= issueWorkload(this.prng.fork(spiffeId), ca, spiffeId, this.notBefore));
  }

  async session(spec: TlsSessionSpec): Promise<{ wire: WireChunk[]; version: string; alpn: string | false }> {
    const key = createHash('sha256')
      .update(
        JSON.stringify({
          ...spec,
          steps: spec.steps.map((s) => ('send' in s ? { send: s.send, data: s.data.toString('base64') } : s)),
        }),
      )
      .digest('hex')
      .slice(0, 32);
    this.used.add(key);
    let s = this.data.sessions[key];
    if (!s) {
      const r = await recordSession(spec);
      s = { version: r.version, alpn: r.alpn, wire: r.wire.map((c) => [c.from, 'data' in c ? c.data.toString('base64') : null, c.step]) };
      this.data.sessions[key] = s;
      this.recorded++;
    } else {
      this.replayed++;
    }
    return {
      version: s.version,
      alpn: s.alpn,
      wire: s.wire.map(([from, b64, step]) => (b64 === null ? { from, fin: true as const, step } : { from, data: Buffer.from(b64, 'base64'), step })),
    };
  }

  /**
   * Writes the recording back. `prune` (a run over every scenario) drops sessions and leaves no scenario used any
   * more; a partial run (`--only`) keeps the other scenarios' entries.
   */
  save(prune = true): void {
    if (!this.path) return;
    const sessions: Record<string, StoredSession> = {};
    for (const k of Object.keys(this.data.sessions).sort()) if (!prune || this.used.has(k)) sessions[k] = this.data.sessions[k]!;
    const leaves: Record<string, KeyAndCert> = {};
    for (const k of Object.keys(this.data.leaves).sort()) if (!prune || this.usedLeaves.has(k)) leaves[k] = this.data.leaves[k]!;
    const out: RecordingFile = { note: NOTE, ca: this.data.ca, leaves, sessions };
    writeFileSync(this.path, JSON.stringify(out, null, 1) + '\n');
  }
}
