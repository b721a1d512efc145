import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatSelector, parseSelector, selectorMatches, SelectorError } from '../../src/calico/selector.js';

const m = (sel: string, labels: Record<string, string>, namespaced = true) => selectorMatches(parseSelector(sel), { labels, namespaced });

describe('Calico selector language', () => {
  const labels = { app: 'foo', env: 'prod', 'projectcalico.org/namespace': 'default' };
  const table: [string, boolean][] = [
    ['', true],
    ['all()', true],
    ["app == 'foo'", true],
    ['app == "bar"', false],
    ["app != 'bar'", true],
    ["missing != 'x'", true], // != matches an absent label
    ["app in {'foo', 'bar'}", true],
    ["app not in {'foo'}", false],
    ["missing not in {'foo'}", true], // not in matches an absent label
    ['has(env)', true],
    ['!has(env)', false],
    ['has(missing)', false],
    ["app == 'foo' && env == 'dev'", false],
    ["app == 'foo' || env == 'dev'", true],
    ["!(app == 'foo' && env == 'dev')", true],
    ["app == 'x' || env == 'prod' && has(app)", true], // && binds tighter than ||
    ["(app == 'x' || env == 'prod') && !has(app)", false],
    ["app contains 'o'", true],
    ["app starts with 'fo'", true],
    ["app ends with 'x'", false],
    ['global()', false],
    ["projectcalico.org/namespace == 'default'", true],
  ];
  for (const [sel, want] of table) it(`${JSON.stringify(sel)} → ${want}`, () => expect(m(sel, labels)).toBe(want));
  it('global() selects non-namespaced entities only', () => {
    expect(m('global()', {}, false)).toBe(true);
  });
  it('rejects malformed selectors with the offset', () => {
    expect(() => parseSelector('not.a.real.selector')).toThrow(SelectorError);
    expect(() => parseSelector("app == 'foo' &&")).toThrow(/offset/);
    expect(() => parseSelector("app = 'foo'")).toThrow(/expected an operator/);
  });
  it('formats canonically and round-trips', () => {
    const s = "!(a == 'x' || has(b)) && c in {'1', '2'}";
    expect(formatSelector(parseSelector(s))).toBe('!(a == "x" || has(b)) && c in {"1", "2"}');
    expect(formatSelector(parseSelector(formatSelector(parseSelector(s))))).toBe(formatSelector(parseSelector(s)));
  });
});

describe('selector negation laws (property)', () => {
  const key = fc.constantFrom('app', 'env', 'tier');
  const val = fc.constantFrom('a', 'b', 'c');
  const labelsArb = fc.dictionary(key, val);
  const atom = fc.oneof(
    fc.tuple(key, val).map(([k, v]) => `${k} == '${v}'`),
    fc.tuple(key, val).map(([k, v]) => `${k} != '${v}'`),
    key.map((k) => `has(${k})`),
    fc.tuple(key, fc.array(val, { minLength: 1, maxLength: 2 })).map(([k, vs]) => `${k} in {${vs.map((v) => `'${v}'`).join(',')}}`),
  );
  const expr = fc.letrec((tie) => ({
    e: fc.oneof({ depthSize: 'small' }, atom, fc.tuple(tie('e'), tie('e')).map(([a, b]) => `(${a}) && (${b})`), fc.tuple(tie('e'), tie('e')).map(([a, b]) => `(${a}) || (${b})`), tie('e').map((a) => `!(${a})`)),
  })).e as fc.Arbitrary<string>;
  it('!s matches exactly when s does not', () => {
    fc.assert(fc.property(expr, labelsArb, (s, l) => m(`!(${s})`, l) === !m(s, l)));
  });
  it("k != 'v' is the negation of k == 'v', and k not in {...} of k in {...}, absent labels included", () => {
    fc.assert(
      fc.property(key, val, labelsArb, (k, v, l) => m(`${k} != '${v}'`, l) === !m(`${k} == '${v}'`, l) && m(`${k} not in {'${v}'}`, l) === !m(`${k} in {'${v}'}`, l)),
    );
  });
  it('De Morgan: !(a && b) ≡ !a || !b', () => {
    fc.assert(fc.property(expr, expr, labelsArb, (a, b, l) => m(`!((${a}) && (${b}))`, l) === m(`!(${a}) || !(${b})`, l)));
  });
});
