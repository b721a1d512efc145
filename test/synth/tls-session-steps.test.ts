/** src/synth's scripted TLS sessions (what the sample generator records) do not depend on the day they run. */
import { describe, expect, it } from 'vitest';
import { issueRoot, issueWorkload } from '../../src/synth/pki/index.js';
import { Prng } from '../../src/synth/rng.js';
import { runTlsSession, type TlsSessionOptions } from '../../src/synth/tls-session.js';

const ID = 'spiffe://cluster.local/ns/default/sa/';

function spec(notBefore: Date, clientCa = notBefore): TlsSessionOptions {
  const prng = new Prng('tls-session-test');
  const ca = issueRoot(prng.fork('ca'), new Date(notBefore.getTime() - 30 * 86400_000));
  const other = issueRoot(prng.fork('other-ca'), new Date(clientCa.getTime() - 30 * 86400_000));
  const clientIssuer = clientCa === notBefore ? ca : other;
  const server = issueWorkload(prng.fork('server'), ca, ID + 'server', notBefore);
  const client = issueWorkload(prng.fork('client'), clientIssuer, ID + 'client', notBefore);
  return {
    version: 'TLSv1.3',
    ca: ca.certPem,
    server: { cert: server.certPem, key: server.keyPem },
    client: { cert: client.certPem, key: client.keyPem },
    verifyPeers: true,
    alpn: ['istio-http/1.1'],
    serverAlpn: ['istio-http/1.1'],
    steps: [{ send: 'client', data: Buffer.from('ping') }],
  };
}

describe('sample TLS sessions', () => {
  it('complete with 24-hour certificates that expired years ago (the scenario date, not today, is what they carry)', async () => {
    const r = await runTlsSession(spec(new Date('2001-01-01T00:00:00Z')));
    expect(r.version).toBe('TLSv1.3');
  });

  it('complete with certificates not yet valid (a clock set before the scenario)', async () => {
    const r = await runTlsSession(spec(new Date('2099-01-01T00:00:00Z')));
    expect(r.version).toBe('TLSv1.3');
  });

  it('still refuse a client certificate from another CA: only the validity period is left out of the check', async () => {
    await expect(runTlsSession(spec(new Date('2001-01-01T00:00:00Z'), new Date('2001-02-01T00:00:00Z')))).rejects.toThrow();
  });

  it('logs every write with its step and both FINs in wire order; an abort leaves only the aborting side FIN', async () => {
    const base = spec(new Date('2026-01-01T00:00:00Z'));
    const graceful = await runTlsSession({ ...base, steps: [{ send: 'client', data: Buffer.from('ping') }, { send: 'server', data: Buffer.from('pong') }, { end: 'client' }] });
    const fins = graceful.messages.filter((m) => m.fin).map((m) => `${m.dir}@${m.step}`);
    expect(fins).toEqual(['c2s@2', 's2c@2']);
    expect(graceful.messages.some((m) => m.step === -1 && m.dir === 'c2s')).toBe(true); // ClientHello
    expect(graceful.messages.filter((m) => m.step === 1).every((m) => m.dir === 's2c')).toBe(true);
    const aborted = await runTlsSession({ ...base, steps: [{ send: 'client', data: Buffer.from('ping') }, { abort: 'server' }] });
    expect(aborted.messages.filter((m) => m.fin).map((m) => `${m.dir}@${m.step}`)).toEqual(['s2c@1']);
    // no close_notify: the server wrote nothing during the abort step but its FIN
    expect(aborted.messages.filter((m) => m.step === 1 && !m.fin)).toEqual([]);
  });
});
