import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lastXfccElement, parseXfcc } from '../../src/protocols/xfcc.js';

// What an Istio sidecar writes on its inbound leg (HCM APPEND_FORWARD, set_current_client_cert_details
// subject/uri/dns), as seen on the sidecar-local leg of the bundled samples.
const ISTIO =
  'By=spiffe://cluster.local/ns/default/sa/bookinfo-details;Hash=95d6e7250ad40a33980cff0d9a59a03898d1ad8e63dcb6fbfbe0025d36685b41;Subject="";URI=spiffe://cluster.local/ns/default/sa/bookinfo-productpage';

describe('parseXfcc', () => {
  it("reads an Istio sidecar's element: By, Hash, empty quoted Subject, URI", () => {
    const els = parseXfcc(ISTIO);
    expect(els).toHaveLength(1);
    const e = els![0]!;
    expect(e.by).toBe('spiffe://cluster.local/ns/default/sa/bookinfo-details');
    expect(e.hash).toBe('95d6e7250ad40a33980cff0d9a59a03898d1ad8e63dcb6fbfbe0025d36685b41');
    expect(e.subject).toBe('');
    expect(e.uri).toEqual(['spiffe://cluster.local/ns/default/sa/bookinfo-productpage']);
    expect(e.dns).toEqual([]);
    expect(e.keys).toEqual(['by', 'hash', 'subject', 'uri']);
  });

  it("keeps Envoy documentation's examples apart: quoted Subject with `,` and `=`, several URI and DNS SANs", () => {
    const v =
      'By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject="/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client";URI=http://testclient.lyft.com;DNS=lyft.com;DNS=www.lyft.com';
    const e = parseXfcc(v)![0]!;
    expect(e.subject).toBe('/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client');
    expect(e.uri).toEqual(['http://testclient.lyft.com']);
    expect(e.dns).toEqual(['lyft.com', 'www.lyft.com']);
    const rfc2253 = parseXfcc('Hash=abc;Subject="CN=a\\"b\\\\c,O=x;y";URI=spiffe://td/ns/a/sa/b;URI=spiffe://td/ns/a/sa/c')![0]!;
    expect(rfc2253.subject).toBe('CN=a"b\\c,O=x;y');
    expect(rfc2253.uri).toEqual(['spiffe://td/ns/a/sa/b', 'spiffe://td/ns/a/sa/c']);
  });

  it('splits several elements at commas outside quotes; the last one is the nearest proxy', () => {
    const v = 'By=http://frontend.lyft.com;Hash=aa;Subject="CN=a, O=b";URI=http://testclient.lyft.com,By=http://backend.lyft.com;Hash=bb;URI=http://frontend.lyft.com';
    const els = parseXfcc(v)!;
    expect(els).toHaveLength(2);
    expect(els[0]!.subject).toBe('CN=a, O=b');
    expect(els[1]!.by).toBe('http://backend.lyft.com');
    expect(lastXfccElement(v)!.uri).toEqual(['http://frontend.lyft.com']);
    // Two header lines joined by the HTTP list rule (", ") parse the same.
    expect(parseXfcc(`${ISTIO}, ${ISTIO}`)).toHaveLength(2);
  });

  it('keeps quoted Cert and Chain verbatim (URL-encoded PEM), keys case-insensitive, unknown keys kept as pairs', () => {
    const pem = '-----BEGIN%20CERTIFICATE-----%0AMIIB%3D%3D%0A-----END%20CERTIFICATE-----%0A';
    const e = parseXfcc(`hash=01;cert="${pem}";CHAIN="${pem}${pem}";uri=spiffe://a/b;Foo=bar`)![0]!;
    expect(e.hash).toBe('01');
    expect(e.cert).toBe(pem);
    expect(e.chain).toBe(pem + pem);
    expect(e.uri).toEqual(['spiffe://a/b']);
    expect(e.by).toBeUndefined();
    expect(e.pairs.at(-1)).toEqual({ key: 'Foo', value: 'bar' });
  });

  it('tells an empty URI (certificate without URI SAN) from an absent one', () => {
    const e = parseXfcc('Hash=ab;Subject="CN=x";URI=')![0]!;
    expect(e.uri).toEqual([]);
    expect(e.keys).toContain('uri');
    expect(parseXfcc('Hash=ab')![0]!.keys).not.toContain('uri');
  });

  it('an unquoted value may contain `=` (Envoy does not quote By/URI)', () => {
    expect(parseXfcc('URI=https://x.example/p?a=b;Hash=1')![0]!.uri).toEqual(['https://x.example/p?a=b']);
  });

  it.each([
    ['', 'empty'],
    ['URI', 'pair without ='],
    ['=spiffe://a', 'empty key'],
    ['Subject="CN=x', 'unterminated quote'],
    ['Subject="CN=x"junk;URI=a', 'text after closing quote'],
    ['URI=a;', 'trailing semicolon'],
    ['URI=a,', 'trailing comma'],
    ['URI=a,,URI=b', 'empty element'],
    ['URI=a"b', 'quote inside unquoted value'],
    ['By=a;"Hash"=b', 'quoted key'],
  ])('%j (%s) → null', (v) => {
    expect(parseXfcc(v)).toBeNull();
    expect(lastXfccElement(v)).toBeNull();
  });

  it('non-strings and oversized values → null', () => {
    expect(parseXfcc(undefined)).toBeNull();
    expect(parseXfcc(null)).toBeNull();
    expect(parseXfcc(`Cert="${'A'.repeat(300 * 1024)}"`)).toBeNull();
  });

  it('never throws on arbitrary input, and what it returns round-trips the URI values', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'U', 'R', 'I', '=', ';', ',', '"', '\\', ' ', ':', '/') , maxLength: 60 }), (s) => {
        const r = parseXfcc(s);
        if (r !== null) for (const e of r) for (const u of e.uri) expect(u.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.webUrl(), { minLength: 1, maxLength: 3 }), fc.array(fc.webUrl(), { minLength: 1, maxLength: 3 }), (a, b) => {
        const v = [a, b].map((us) => ['Hash=00', ...us.map((u) => `URI="${u.replace(/["\\]/g, (c) => `\\${c}`)}"`)].join(';')).join(',');
        const els = parseXfcc(v)!;
        expect(els.map((e) => e.uri)).toEqual([a, b]);
      }),
    );
  });
});
