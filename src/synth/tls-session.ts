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
import { constants as cryptoConstants, createHash } from 'node:crypto';
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

export interface TlsSessionOptions {
  version: 'TLSv1.2' | 'TLSv1.3';
  /** Server certificate identity (ns/sa or "partner/api"). */
  server: string;
  /** Client certificate identity; omitted = no client certificate. */
  client?: string;
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

export async function runTlsSession(o: TlsSessionOptions): Promise<TlsSessionResult> {
  const log: WireMessage[] = [];
  const { client: cw, server: sw } = wirePair(log);
  const srvId: TestIdentity = identity(o.server);
  const cliId: TestIdentity | undefined = o.client ? identity(o.client) : undefined;
  const requestCert = o.requestCert ?? cliId !== undefined;
  const serverCtx = tls.createSecureContext({
    key: srvId.key,
    cert: srvId.cert,
    ca: TEST_CA_CERT,
    minVersion: o.version,
    maxVersion: o.version,
    ...(o.helloRetry ? { ecdhCurve: 'P-256' } : {}),
    ...(o.resumption === 'session-id' ? { secureOptions: cryptoConstants.SSL_OP_NO_TICKET } : {}),
    // OpenSSL refuses to resume sessions with client authentication unless this is set
    sessionIdContext: 'meshsleuth-synth',
    // fixed per server identity so a later session can resume with the ticket
    ticketKeys: createHash('sha384').update(`meshsleuth synth ticket keys ${o.server}`).digest(),
  });
  // Envoy (BoringSSL) carries on without ALPN when nothing overlaps; OpenSSL would send a fatal
  // no_application_protocol alert, so the server only offers ALPN when there is an overlap.
  const serverAlpn = [...(o.serverAlpn ?? ['h2', 'http/1.1'])];
  const overlap = (o.alpn ?? []).some((p) => serverAlpn.includes(p));
  const byId = o.resumption === 'session-id';
  const server = new tls.TLSSocket(sw, {
    isServer: true,
    ...(byId ? { server: sessionCacheServer(o.server) } : {}),
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
    ca: TEST_CA_CERT,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    minVersion: o.version,
    maxVersion: o.version,
    ...(o.session ? { session: o.session } : {}),
    ...(o.helloRetry ? { ecdhCurve: 'X25519:P-256' } : {}),
  });
  client.on('session', (s: Buffer) => (session = s));
  const serverSecure = once<void>(server, 'secure');
  await once<void>(client, 'secureConnect');
  await serverSecure;
  // let post-handshake messages (TLS 1.3 NewSessionTicket) go out before application data
  for (let i = 0; i < 3; i++) await tick();
  const version = client.getProtocol();
  const alpn = client.alpnProtocol;
  const resumed = server.isSessionReused();
  const peerCertificateSeen = Object.keys(server.getPeerCertificate() ?? {}).length > 0;
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
  return { messages: log, session: session ?? client.getSession(), version, alpn: alpn ?? null, resumed, peerCertificateSeen };
}
