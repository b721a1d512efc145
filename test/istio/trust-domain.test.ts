import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseConfigDump } from '../../src/readers/configdump/index.js';
import { peerIdentity, trustDomainOf, trustDomainsMentioned, type TrustDomain } from '../../src/istio/trust-domain.js';

const DUMP = 'samples/details-path/config_dumps/details-v1-5f4d584748-vn4cx.default.json';
const td = (trustDomain: string): TrustDomain => ({ trustDomain, from: 'test', assumed: false });

describe('the trust domain a config speaks for', () => {
  it('is the proxy\'s own workload certificate\'s when the dump carries it (secret default)', () => {
    const raw = JSON.parse(readFileSync(DUMP, 'utf8')) as unknown;
    const t = trustDomainOf(parseConfigDump(raw, DUMP), raw);
    expect(t).toEqual({ trustDomain: 'cluster.local', from: 'the workload certificate (secret default)', assumed: false });
  });
  it('else the one trust domain its SPIFFE ids name', () => {
    const raw = { rules: { policies: { p: { principals: [{ authenticated: { principal_name: { exact: 'spiffe://corp.example/ns/a/sa/b' } } }] } } } };
    expect(trustDomainsMentioned(raw)).toEqual(new Map([['corp.example', 1]]));
    expect(trustDomainOf(null, raw)).toMatchObject({ trustDomain: 'corp.example', assumed: false });
  });
  it('else Istio\'s default cluster.local, marked as assumed', () => {
    expect(trustDomainOf(null, { rules: {} })).toMatchObject({ trustDomain: 'cluster.local', assumed: true });
  });
});

describe('--from forms → the URI SAN Istio issues', () => {
  const cases: [string, string, boolean][] = [
    ['default/sleep', 'spiffe://example.org/ns/default/sa/sleep', false],
    ['ns/default/sa/sleep', 'spiffe://example.org/ns/default/sa/sleep', false],
    ['cluster.local/ns/default/sa/sleep', 'spiffe://cluster.local/ns/default/sa/sleep', false],
    ['spiffe://other/ns/x/sa/y', 'spiffe://other/ns/x/sa/y', false],
    ['sleep', 'sleep', true],
    ['a/b/c', 'spiffe://a/b/c', true],
  ];
  for (const [given, id, warns] of cases) {
    it(`${given} → ${id}${warns ? ' (with a warning)' : ''}`, () => {
      const p = peerIdentity(given, td('example.org'));
      expect(p.id).toBe(id);
      expect(p.warning !== undefined).toBe(warns);
    });
  }
});
