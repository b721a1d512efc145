/**
 * Runs REAL TLS handshakes with Node's `tls` module over an in-memory duplex pair and records
 * the exact bytes each side wrote (the TLS records as they would be on the wire), then carries
 * application bytes (HTTP/1.1, h2, anything) through the established session.
 *
 * Istio conventions available: ALPN `istio-http/1.1,istio,http/1.1`, `istio-h2,istio,h2`,
 * `istio-peer-exchange,istio`; SNI `outbound_.<port>_.<subset>_.<fqdn>`; SPIFFE client and
 * server certificates from ./pki (TEST-ONLY keys).
 *
 * Note: TLS randomness (randoms, key shares, session tickets) comes from OpenSSL and cannot be
 * seeded, so the record bytes differ from run to run; everything else (framing, timing, ports)
 * is deterministic. Bundled samples commit their output for that reason.
 */
import { constants as cryptoConstants, createHash, X509Certificate } from 'node:crypto';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { wirePair, type WireMessage } from './wire.js';
import { TEST_CA_CERT, identity, type TestIdentity } from './pki/index.js';

export type { WireMessage } from './wire.js';

export const ISTIO_ALPN = {
  http11: ['istio-http/1.1', 'istio', 'http/1.1'],
  h2: ['istio-h2', 'istio', 'h2'],
  tcp: ['istio-peer-exchange', 'istio'],
} as const;

/** Istio's outbound SNI: outbound_.<port>_.<subset>_.<fqdn>. */
export function istioSni(port: number, host: string, subset = ''): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

/** A certificate and its key (PEM), e.g. one issued by ./pki/issue.ts. */
export interface TlsKeyPair {
  cert: string;
  key: string;
}

/**
 * One scripted step of the conversation inside the session (alternative to `app`): a side sends bytes; a side
 * closes gracefully (close_notify then FIN, and the peer answers with its own); or a side drops the connection
 * without close_notify (Envoy closing on a network RBAC deny).
 */
export type SessionStep = { send: 'client' | 'server'; data: Uint8Array } | { end: 'client' | 'server' } | { abort: 'client' | 'server' };

export interface TlsSessionOptions {
  version: 'TLSv1.2' | 'TLSv1.3';
  /** Server certificate: a test identity (ns/sa or "partner/api") or a key pair. */
  server: string | TlsKeyPair;
  /** Client certificate (test identity or key pair); omitted = no client certificate. */
  client?: string | TlsKeyPair;
  /** Trust anchor both sides use (PEM); default the test CA of ./pki. */
  ca?: string;
  /**
   * Check after the handshake that each certificate presented was issued by `ca`, leaving the validity period
   * out (OpenSSL would check it against today's clock, and a bare server-side socket never checks the client).
   */
  verifyPeers?: boolean;
  /** Scripted conversation (messages carry `step` and both FINs are logged); replaces `app` and `close`. */
  steps?: readonly SessionStep[];
  /** Server asks for a client certificate (CertificateRequest). Default: true when `client` is set. */
  requestCert?: boolean;
  sni?: string;
  alpn?: readonly string[];
  /** ALPN list the server selects from (Envoy's inbound: h2, http/1.1). Default ['h2', 'http/1.1']. */
  serverAlpn?: readonly string[];
  /** Resume this session (from a previous result's `session`). */
  session?: Buffer;
  /**
   * How the server lets sessions resume (TLS 1.2): `ticket` (RFC 5077, the default) or
   * `session-id` (no tickets; the server keeps a session cache and echoes the client's session
   * id). Use the same value for the first and the resumed session.
   */
  resumption?: 'ticket' | 'session-id';
  /** TLS 1.3: force a HelloRetryRequest (client offers X25519 key share, server only accepts P-256). */
  helloRetry?: boolean;
  /** Application bytes in order, carried inside the TLS session. */
  app?: readonly WireMessage[];
  /** Close with close_notify from both sides (default true). */
  close?: boolean;
  /** Restricts the cipher suites (OpenSSL names: `ECDHE-RSA-CHACHA20-POLY1305` for TLS 1.2, `TLS_CHACHA20_POLY1305_SHA256` for 1.3). */
  cipher?: string;
}

export interface TlsSessionResult {
  /** What each side wrote on the wire, in order. */
  messages: WireMessage[];
  /** Session for resumption (last one the client got). */
  session: Buffer | undefined;
  version: string | null;
  alpn: string | false | null;
  /** Whether the server saw the session as resumed. */
  resumed: boolean;
  /** The client certificate the server received (URI SANs), if any. */
  peerCertificateSeen: boolean;
  /** The session's secrets in NSS key log format, as the client logged them (Node's 'keylog' event). */
  keylog: string;
}

function once<T>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error) => reject(e);
    emitter.once('error', onErr);
    emitter.once(event, (v: T) => {
      emitter.removeListener('error', onErr);
      resolve(v);
    });
  });
}

/** Waits until `sock` has received `n` more bytes of application data. */
function receive(sock: tls.TLSSocket, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (d: Buffer) => {
      got += d.length;
      if (got >= n) {
        sock.removeListener('data', onData);
        resolve();
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
  });
}

/**
 * Node keeps server-side sessions only through a tls.Server's newSession/resumeSession events:
 * one (never listening) server per identity holds an in-memory session cache.
 */
const cacheServers = new Map<string, tls.Server>();
function sessionCacheServer(name: string): tls.Server {
  let srv = cacheServers.get(name);
  if (!srv) {
    const sessions = new Map<string, Buffer>();
    srv = tls.createServer();
    srv.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      sessions.set(id.toString('hex'), data);
      done();
    });
    srv.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      done(null, sessions.get(id.toString('hex')) ?? null);
    });
    cacheServers.set(name, srv);
  }
  return srv;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

function keyPair(id: string | TlsKeyPair): TlsKeyPair {
  if (typeof id !== 'string') return id;
  const t: TestIdentity = identity(id);
  return { cert: t.cert, key: t.key };
}

/** Polls until `cond` holds (scripted steps wait for delivery, FINs and ends). */
function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const poll = (): void => {
      if (cond()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error(`synth TLS session: timed out waiting for ${what}`));
      else setTimeout(poll, 1);
    };
    poll();
  });
}

function issuedBy(what: string, sock: tls.TLSSocket, caPem: string): void {
  const raw = sock.getPeerCertificate(false).raw as Buffer | undefined;
  if (!raw || raw.length === 0) throw new Error(`synth TLS session: no ${what}`);
  const cert = new X509Certificate(raw);
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new Error(`synth TLS session: ${what} was not issued by the session's CA`);
}

export async function runTlsSession(o: TlsSessionOptions): Promise<TlsSessionResult> {
  const log: WireMessage[] = [];
  let step = -1;
  const scripted = o.steps !== undefined;
  const { client: cw, server: sw } = wirePair(log, scripted ? { deferred: true, fins: true, step: () => step } : {});
  const srvId = keyPair(o.server);
  const cliId: TlsKeyPair | undefined = o.client ? keyPair(o.client) : undefined;
  const caPem = o.ca ?? TEST_CA_CERT;
  const serverName = typeof o.server === 'string' ? o.server : createHash('sha256').update(o.server.cert).digest('hex');
  const requestCert = o.requestCert ?? cliId !== undefined;
  const serverCtx = tls.createSecureContext({
    key: srvId.key,
    cert: srvId.cert,
    ca: caPem,
    minVersion: o.version,
    maxVersion: o.version,
    ...(o.helloRetry ? { ecdhCurve: 'P-256' } : {}),
    ...(o.cipher ? { ciphers: o.cipher } : {}),
    ...(o.resumption === 'session-id' ? { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } : {}),
    // OpenSSL refuses to resume sessions with client authentication unless this is set
    sessionIdContext: 'meshsleuth-synth',
    // fixed per server identity so a later session can resume with the ticket
    ticketKeys: createHash('sha384').update(`meshsleuth synth ticket keys ${serverName}`).digest(),
  });
  // Envoy (BoringSSL) carries on without ALPN when nothing overlaps; OpenSSL would send a fatal
  // no_application_protocol alert, so the server only offers ALPN when there is an overlap.
  const serverAlpn = [...(o.serverAlpn ?? ['h2', 'http/1.1'])];
  const overlap = (o.alpn ?? []).some((p) => serverAlpn.includes(p));
  const byId = o.resumption === 'session-id';
  const server = new tls.TLSSocket(sw, {
    isServer: true,
    ...(byId ? { server: sessionCacheServer(serverName) } : {}),
    secureContext: serverCtx,
    requestCert,
    rejectUnauthorized: false,
    ...(overlap ? { ALPNProtocols: serverAlpn } : {}),
  });
  let session: Buffer | undefined;
  const client = tls.connect({
    socket: cw,
    ...(o.sni ? { servername: o.sni } : {}),
    ...(o.alpn ? { ALPNProtocols: [...o.alpn] } : {}),
    ...(cliId ? { key: cliId.key, cert: cliId.cert } : {}),
    ca: caPem,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    minVersion: o.version,
    maxVersion: o.version,
    ...(o.session ? { session: o.session } : {}),
    ...(o.helloRetry ? { ecdhCurve: 'X25519:P-256' } : {}),
  });
  client.on('session', (s: Buffer) => (session = s));
  const keylog: Buffer[] = [];
  client.on('keylog', (line: Buffer) => keylog.push(line));
  const serverSecure = once<void>(server, 'secure');
  await once<void>(client, 'secureConnect');
  await serverSecure;
  // let post-handshake messages (TLS 1.3 NewSessionTicket) go out before application data
  for (let i = 0; i < 3; i++) await tick();
  const version = client.getProtocol();
  const alpn = client.alpnProtocol;
  const resumed = server.isSessionReused();
  const peerCertificateSeen = Object.keys(server.getPeerCertificate() ?? {}).length > 0;
  if (o.verifyPeers) {
    issuedBy('server certificate', client, caPem);
    if (cliId) issuedBy('client certificate', server, caPem);
  }
  if (o.steps) {
    await runSteps(o.steps, client, server, cw, sw, log, (i) => (step = i));
    client.destroy();
    server.destroy();
    return { messages: log, session: session ?? client.getSession(), version, alpn: alpn ?? null, resumed, peerCertificateSeen, keylog: Buffer.concat(keylog).toString('latin1') };
  }
  for (const m of o.app ?? []) {
    const [from, to] = m.dir === 'c2s' ? [client, server] : [server, client];
    const got = receive(to, m.bytes.length);
    from.write(m.bytes);
    await got;
  }
  for (let i = 0; i < 3; i++) await tick();
  if (o.close ?? true) {
    const serverEnded = once<void>(server, 'end').catch(() => undefined);
    client.end();
    await serverEnded;
    server.end();
    for (let i = 0; i < 5; i++) await tick();
  }
  client.destroy();
  server.destroy();
  return { messages: log, session: session ?? client.getSession(), version, alpn: alpn ?? null, resumed, peerCertificateSeen, keylog: Buffer.concat(keylog).toString('latin1') };
}

/** Plays scripted steps through an established session; the log gets each side's FIN in wire order. */
async function runSteps(
  steps: readonly SessionStep[],
  client: tls.TLSSocket,
  server: tls.TLSSocket,
  cw: Duplex,
  sw: Duplex,
  log: readonly WireMessage[],
  setStep: (i: number) => void,
): Promise<void> {
  type Side = 'client' | 'server';
  const received: Record<Side, number> = { client: 0, server: 0 };
  const ended: Record<Side, boolean> = { client: false, server: false };
  let failure: Error | null = null;
  client.on('data', (d: Buffer) => (received.client += d.length));
  server.on('data', (d: Buffer) => (received.server += d.length));
  client.on('end', () => (ended.client = true));
  server.on('end', () => (ended.server = true));
  client.on('error', (e: Error) => (failure ??= e));
  server.on('error', (e: Error) => (failure ??= e));
  const sent: Record<Side, number> = { client: 0, server: 0 };
  const sock = (s: Side): tls.TLSSocket => (s === 'client' ? client : server);
  const other = (s: Side): Side => (s === 'client' ? 'server' : 'client');
  const dirOf = (s: Side): 'c2s' | 's2c' => (s === 'client' ? 'c2s' : 's2c');
  const finned = (s: Side): boolean => log.some((m) => m.dir === dirOf(s) && m.fin);
  for (const [index, st] of steps.entries()) {
    setStep(index);
    if ('send' in st) {
      sock(st.send).write(st.data);
      sent[st.send] += st.data.length;
      const to = other(st.send);
      await waitFor(() => received[to] >= sent[st.send], `delivery to ${to}`);
    } else if ('end' in st) {
      const s = st.end;
      const o = other(s);
      sock(s).end();
      await waitFor(() => finned(s), `${s} FIN`);
      await waitFor(() => ended[o] || failure !== null, `${o} sees end`);
      // the peer answers with its own close (Envoy and Node both close their half when they read EOF)
      if (!finned(o)) sock(o).end();
      await waitFor(() => finned(o), `${o} FIN`);
    } else {
      // drop the session without close_notify: end the raw transport
      const s = st.abort;
      (s === 'client' ? cw : sw).end();
      await waitFor(() => finned(s), `${s} FIN`);
    }
  }
  setStep(-1);
}
