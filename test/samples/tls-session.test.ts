/** The sample generator's real TLS sessions do not depend on the day they run. */
import { describe, expect, it } from 'vitest';
import { issueRoot, issueWorkload } from '../../src/samples/pki.js';
import { Prng } from '../../src/samples/prng.js';
import { runTlsSession, type TlsSessionSpec } from '../../src/samples/tls-session.js';

const ID = 'spiffe://cluster.local/ns/default/sa/';

function spec(notBefore: Date, clientCa = notBefore): TlsSessionSpec {
  const prng = new Prng('tls-session-test');
  const ca = issueRoot(prng.fork('ca'), new Date(notBefore.getTime() - 30 * 86400_000));
  const other = issueRoot(prng.fork('other-ca'), new Date(clientCa.getTime() - 30 * 86400_000));
  const clientIssuer = clientCa === notBefore ? ca : other;
  return {
    ca: ca.certPem,
    server: issueWorkload(prng.fork('server'), ca, ID + 'server', notBefore),
    client: issueWorkload(prng.fork('client'), clientIssuer, ID + 'client', notBefore),
    clientAlpn: ['istio-http/1.1'],
    serverAlpn: ['istio-http/1.1'],
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
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
});
