import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RE2 } from 're2-wasm';
import { createPermission } from '../../src/rbac/matchers.js';
import { buildContext } from '../../src/rbac/context.js';
import { CidrRange, parseIp, formatIp } from '../../src/rbac/cidr.js';
import { StringMatcher } from '../../src/rbac/string-matcher.js';
import type { RequestAttrs } from '../../src/model/attrs.js';

// Random permission trees over a small attribute space, evaluated against random requests.
const leafArb = fc.oneof(
  fc.constant({ any: true }),
  fc.constantFrom('GET', 'POST', 'PUT').map((m) => ({ header: { name: ':method', string_match: { exact: m } } })),
  fc.constantFrom('/a', '/b', '/').map((p) => ({ url_path: { path: { prefix: p } } })),
  fc.constantFrom(80, 443, 9080).map((p) => ({ destination_port: p })),
  fc.constantFrom('10.0.0.0', '10.1.0.0', '192.168.0.0').map((a) => ({ destination_ip: { address_prefix: a, prefix_len: 16 } })),
);
const { tree } = fc.letrec<{ tree: Record<string, unknown> }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('tree'), { minLength: 1, maxLength: 3 }).map((rules) => ({ and_rules: { rules } })),
    fc.array(tie('tree'), { minLength: 1, maxLength: 3 }).map((rules) => ({ or_rules: { rules } })),
    tie('tree').map((r) => ({ not_rule: r })),
  ),
}));
const reqArb = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
  path: fc.constantFrom('/a/x', '/b', '/', '/c?x'),
  port: fc.constantFrom(80, 443, 9080, 1),
  ip: fc.constantFrom('10.0.1.2', '10.1.9.9', '192.168.3.4', '172.16.0.1'),
}).map((r): RequestAttrs => ({ destination: { address: r.ip, port: r.port }, http: { method: r.method, path: r.path, headers: {} } }));

const ev = (cfg: unknown, req: RequestAttrs): boolean => {
  const m = createPermission(cfg, '$', { kind: 'http' });
  const ctx = buildContext(req, { kind: 'http' });
  const r = m.matches(ctx);
  const e = m.explain(ctx);
  expect(e.matched).toBe(r === 1);
  return r === 1;
};

describe('permission algebra (fast-check)', () => {
  it('not_rule(x) == !x', () => {
    fc.assert(fc.property(tree, reqArb, (t, r) => ev({ not_rule: t }, r) === !ev(t, r)), { numRuns: 300 });
  });
  it('and/or laws: and = every, or = some, De Morgan, commutativity', () => {
    fc.assert(
      fc.property(tree, tree, reqArb, (a, b, r) => {
        const x = ev(a, r);
        const y = ev(b, r);
        expect(ev({ and_rules: { rules: [a, b] } }, r)).toBe(x && y);
        expect(ev({ or_rules: { rules: [a, b] } }, r)).toBe(x || y);
        expect(ev({ and_rules: { rules: [b, a] } }, r)).toBe(ev({ and_rules: { rules: [a, b] } }, r));
        expect(ev({ not_rule: { and_rules: { rules: [a, b] } } }, r)).toBe(ev({ or_rules: { rules: [{ not_rule: a }, { not_rule: b }] } }, r));
      }),
      { numRuns: 200 },
    );
  });
});

/** Reference CIDR containment on bit strings. */
function bits(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(2).padStart(8, '0')).join('');
}
describe('CIDR containment vs a reference implementation (fast-check)', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((t) => t.join('.'));
  const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
  it('IPv4 and IPv6, any prefix length (clamped), families never mix', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6), fc.oneof(v4, v6), fc.nat(140), (net, addr, len) => {
        const n = parseIp(net)!;
        const a = parseIp(addr)!;
        const r = new CidrRange(n, len);
        const clamped = Math.min(len, n.family === 4 ? 32 : 128);
        const expected = n.family === a.family && bits(n.bytes).slice(0, clamped) === bits(a.bytes).slice(0, clamped);
        expect(r.contains(a)).toBe(expected);
        // formatting round-trips
        expect(parseIp(formatIp(a))!.bytes).toEqual(a.bytes);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('StringMatcher vs RE2 on generated strings (fast-check)', () => {
  const alpha = fc.string({ unit: fc.constantFrom('a', 'b', 'A', '.', '/', '-', 'é'), maxLength: 8 });
  const esc = (s: string) => s.replace(/[\\^$.|?*+()[\]{}-]/g, '\\$&');
  it('exact/prefix/suffix/contains agree with the equivalent anchored RE2 regex', () => {
    fc.assert(
      fc.property(alpha.filter((s) => s.length > 0), alpha, (pat, input) => {
        const cases: [unknown, string][] = [
          [{ exact: pat }, `${esc(pat)}`],
          [{ prefix: pat }, `${esc(pat)}.*`],
          [{ suffix: pat }, `.*${esc(pat)}`],
          [{ contains: pat }, `.*${esc(pat)}.*`],
        ];
        for (const [cfg, re] of cases) {
          const ref = new RE2(`^(?:${re})$`, 'su');
          const want = ref.test(input);
          (ref as unknown as { wrapper: { delete(): void } }).wrapper.delete();
          expect(StringMatcher.parse(cfg, '$').match(input)).toBe(want ? 1 : 0);
          expect(StringMatcher.parse({ safe_regex: { regex: `(?s)${re}` } }, '$').match(input)).toBe(want ? 1 : 0);
        }
        // ignore_case folds ASCII only: same as RE2 (?i) when the strings are ASCII.
        if (/^[\x00-\x7f]*$/.test(pat + input)) {
          const ref = new RE2(`^(?i:${esc(pat)})$`, 'u');
          const want = ref.test(input);
          (ref as unknown as { wrapper: { delete(): void } }).wrapper.delete();
          expect(StringMatcher.parse({ exact: pat, ignore_case: true }, '$').match(input)).toBe(want ? 1 : 0);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('RE2 literal prefilter never changes a result (fast-check)', () => {
  it('FullMatchRegex agrees with a bare anchored RE2 on generated patterns and inputs', async () => {
    const { FullMatchRegex, literalPrefilter } = await import('../../src/rbac/regex.js');
    const atom = fc.constantFrom('a', 'b', '\\.', '.', '[ab]', 'a*', 'b+', '(ab)?', '\\d', 'x{2}', '/', '(a|b)', '[^a]', '\\/', 'ns', '.*', '.+', '^', '$');
    const pattern = fc.oneof(
      fc.array(atom, { minLength: 1, maxLength: 6 }).map((a) => a.join('')),
      fc.tuple(fc.array(atom, { minLength: 1, maxLength: 3 }), fc.array(atom, { minLength: 1, maxLength: 3 })).map(([a, b]) => `${a.join('')}|${b.join('')}`),
    );
    const input = fc.string({ unit: fc.constantFrom('a', 'b', '.', '/', 'x', '1', 'n', 's'), maxLength: 8 });
    fc.assert(
      fc.property(pattern, fc.array(input, { minLength: 1, maxLength: 8 }), (p, inputs) => {
        let re: InstanceType<typeof FullMatchRegex>;
        try {
          re = new FullMatchRegex(p, '$');
        } catch {
          return; // not a valid RE2 pattern
        }
        const ref = new RE2(`^(?:${p})$`, 'u');
        try {
          for (const s of inputs) expect(re.fullMatch(s)).toBe(ref.test(s));
        } finally {
          (ref as unknown as { wrapper: { delete(): void } }).wrapper.delete();
        }
        void literalPrefilter(p);
      }),
      // re2-wasm's heap is a fixed 16 MB and compiled patterns are kept for the process: stay well below.
      { numRuns: 400 },
    );
  });
  it('reads the literal parts Istio patterns need', async () => {
    const { literalPrefilter } = await import('../../src/rbac/regex.js');
    expect(literalPrefilter('.*/ns/test/.*')).toEqual({ prefix: '', suffix: '', required: ['/ns/test/'] });
    expect(literalPrefilter('spiffe://.+/ns/default/(.+/|)sa/sleep(/.+)?')).toMatchObject({ prefix: 'spiffe://', required: ['spiffe://', '/ns/default/', 'sa/sleep'] });
    expect(literalPrefilter('a|b')).toBeNull();
    expect(literalPrefilter('(?i)abc')).toBeNull();
    expect(literalPrefilter('abc?')).toMatchObject({ prefix: 'ab' });
  });
});

describe('policy fast path (necessary-condition gates) agrees with the full trace (fast-check)', () => {
  it('PolicyMatcher.matches == explain().matched on random policies and requests', async () => {
    const { PolicyMatcher } = await import('../../src/rbac/policy.js');
    const prin = fc.oneof(
      fc.constant({ any: true }),
      fc.constantFrom('spiffe://a/ns/x/sa/y', 'spiffe://a/ns/z/sa/w').map((p) => ({ authenticated: { principal_name: { exact: p } } })),
      fc.constant({ authenticated: { principal_name: { safe_regex: { regex: '.*/ns/x/.*' } } } }),
      fc.constant({ authenticated: {} }),
    );
    const prins = fc.array(prin, { minLength: 1, maxLength: 3 }).map((ids) => [{ and_ids: { ids: [{ or_ids: { ids } }] } }]);
    const tlsArb = fc.constantFrom(undefined, ['spiffe://a/ns/x/sa/y'], ['spiffe://a/ns/z/sa/w'], []);
    fc.assert(
      fc.property(fc.array(tree, { minLength: 1, maxLength: 3 }), prins, reqArb, tlsArb, (perms, principals, r, sans) => {
        const p = PolicyMatcher.parse('p', { permissions: perms, principals }, '$', { kind: 'http' });
        const req = sans === undefined ? r : { ...r, tls: { uriSans: sans, dnsSans: [], subject: '', peerCertificateValidated: true } };
        const ctx = buildContext(req, { kind: 'http' });
        const fast = p.matches(ctx);
        const full = p.explain(ctx).matched;
        expect(full).toBe(fast === 1);
      }),
      { numRuns: 500 },
    );
  });
});
