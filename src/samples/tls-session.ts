/**
 * Runs a REAL TLS session between two Node TLS sockets joined by an in-memory pipe and records the bytes each
 * side put on the wire, in order. The recording is what the capture framer turns into TCP segments.
 */
import { Duplex } from 'node:stream';
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import type { KeyAndCert } from './pki.js';

export type Side = 'client' | 'server';

/** One step of the application conversation carried inside the TLS session. */
export type AppStep =
  | { send: Side; data: Buffer }
  /** graceful close: TLS close_notify then FIN */
  | { end: Side }
  /** the side drops the connection without close_notify (Envoy closing a connection: network RBAC deny) */
  | { abort: Side };

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

/** Bytes one side wrote (a flight), or its FIN. */
export type WireChunk = ({ from: Side; data: Buffer } | { from: Side; fin: true }) & {
  /** index of the app step during which the bytes were written (-1 = handshake) */
  step: number;
};

class PipeEnd extends Duplex {
  peer!: PipeEnd;
  static step = -1;
  constructor(
    readonly side: Side,
    private readonly log: WireChunk[],
  ) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const last = this.log[this.log.length - 1];
    if (last && last.from === this.side && 'data' in last && last.step === PipeEnd.step) last.data = Buffer.concat([last.data, chunk]);
    else this.log.push({ from: this.side, data: Buffer.from(chunk), step: PipeEnd.step });
    const peer = this.peer;
    setImmediate(() => peer.push(chunk));
    cb();
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.log.push({ from: this.side, fin: true, step: PipeEnd.step });
    const peer = this.peer;
    setImmediate(() => peer.push(null));
    cb();
  }
}

function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error(`TLS session: timed out waiting for ${what}`));
      else setTimeout(tick, 1);
    };
    tick();
  });
}

export interface TlsSessionResult {
  wire: WireChunk[];
  version: string;
  alpn: string | false;
}

/**
 * The peer's certificate was issued and signed by the sample CA. Checked here rather than by OpenSSL, because
 * OpenSSL also checks the validity period against today's clock (and a bare server-side TLSSocket never checks
 * the client's chain at all).
 */
function issuedByCa(what: string, sock: tls.TLSSocket, caPem: string): void {
  const raw = sock.getPeerCertificate(false).raw as Buffer | undefined;
  if (!raw || raw.length === 0) throw new Error(`sample TLS session: no ${what}`);
  const cert = new X509Certificate(raw);
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new Error(`sample TLS session: ${what} was not issued by the sample CA`);
}

export async function runTlsSession(spec: TlsSessionSpec): Promise<TlsSessionResult> {
  const wire: WireChunk[] = [];
  PipeEnd.step = -1;
  const a = new PipeEnd('client', wire);
  const b = new PipeEnd('server', wire);
  a.peer = b;
  b.peer = a;

  const server = new tls.TLSSocket(b, {
    isServer: true,
    secureContext: tls.createSecureContext({
      key: spec.server.keyPem,
      cert: spec.server.certPem,
      ca: spec.ca,
      minVersion: spec.minVersion,
      maxVersion: spec.maxVersion,
    }),
    requestCert: true,
    // Chain checks run below, after the handshake, with the certificates' validity period left out: the samples'
    // 24-hour workload certificates carry the scenario's date, and a handshake checked against today's clock would
    // make regeneration (and its test) fail on any later day.
    rejectUnauthorized: false,
    ALPNProtocols: spec.serverAlpn,
  });
  const client = tls.connect({
    socket: a,
    ca: spec.ca,
    ...(spec.client ? { key: spec.client.keyPem, cert: spec.client.certPem } : {}),
    ...(spec.sni ? { servername: spec.sni } : {}),
    ALPNProtocols: spec.clientAlpn,
    minVersion: spec.minVersion,
    maxVersion: spec.maxVersion,
    checkServerIdentity: () => undefined, // SPIFFE URI SAN: Envoy checks it by SAN matcher, not hostname
    rejectUnauthorized: false,
  });
  const received: Record<Side, number> = { client: 0, server: 0 };
  const ended: Record<Side, boolean> = { client: false, server: false };
  let failure: Error | null = null;
  let clientReady = false;
  let serverReady = false;
  client.on('secureConnect', () => (clientReady = true));
  server.on('secure', () => (serverReady = true));
  client.on('data', (d: Buffer) => (received.client += d.length));
  server.on('data', (d: Buffer) => (received.server += d.length));
  client.on('end', () => (ended.client = true));
  server.on('end', () => (ended.server = true));
  client.on('error', (e) => (failure ??= e));
  server.on('error', (e) => (failure ??= e));
  await waitFor(() => (clientReady && serverReady) || failure !== null, 'handshake');
  if (failure) throw failure;
  issuedByCa('server certificate', client, spec.ca);
  if (spec.client !== null) issuedByCa('client certificate', server, spec.ca);

  const sent: Record<Side, number> = { client: 0, server: 0 };
  const sock = (s: Side): tls.TLSSocket => (s === 'client' ? client : server);
  const other = (s: Side): Side => (s === 'client' ? 'server' : 'client');
  for (const [index, step] of spec.steps.entries()) {
    PipeEnd.step = index;
    if ('send' in step) {
      sock(step.send).write(step.data);
      sent[step.send] += step.data.length;
      const to = other(step.send);
      await waitFor(() => received[to] >= sent[step.send], `delivery to ${to}`);
    } else if ('end' in step) {
      sock(step.end).end();
      const s = step.end;
      await waitFor(() => wire.some((c) => c.from === s && 'fin' in c), `${s} FIN`);
      await waitFor(() => ended[other(s)] || failure !== null, `${other(s)} sees end`);
      // The peer answers with its own close (Envoy and Node both close their half when they read EOF).
      const o = other(s);
      if (!wire.some((c) => c.from === o && 'fin' in c)) sock(o).end();
      await waitFor(() => wire.some((c) => c.from === o && 'fin' in c), `${o} FIN`);
    } else {
      // Drop the TLS session without close_notify: close the raw transport.
      const s = step.abort;
      (s === 'client' ? a : b).end();
      await waitFor(() => wire.some((c) => c.from === s && 'fin' in c), `${s} FIN`);
    }
  }
  PipeEnd.step = -1;
  const version = client.getProtocol() ?? '';
  const alpn = client.alpnProtocol ?? false;
  client.destroy();
  server.destroy();
  return { wire, version, alpn };
}
