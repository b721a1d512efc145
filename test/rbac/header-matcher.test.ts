import { describe, expect, it } from 'vitest';
import { perm, http } from './helpers.js';
import { simpleAtoi64 } from '../../src/rbac/header-matcher.js';

// Modelled on test/common/http/header_utility_test.cc and matchers_test.cc (HeaderMatcher cases).
const req = (headers: Record<string, string[]>, method = 'GET', path = '/p') => ({ http: http(method, path, headers) });

describe('HeaderMatcher (header_utility.cc HeaderData)', () => {
  it.each([
    // [matcher, headers, expected, why]
    [{ name: 'x', string_match: { exact: 'a,b' } }, { x: ['a', 'b'] }, true, 'multiple values are joined with "," and matched once'],
    [{ name: 'x', string_match: { exact: 'a' } }, { x: ['a', 'b'] }, false, 'no per-value matching'],
    [{ name: 'x', string_match: { exact: ',bar' } }, { x: ['', 'bar'] }, true, 'empty first value keeps its comma'],
    [{ name: 'x', string_match: { exact: ',' } }, { x: ['', ''] }, true, 'two empty values'],
    [{ name: 'X-Foo', string_match: { exact: 'v' } }, { 'x-foo': ['v'] }, true, 'name is lower-cased'],
    [{ name: 'host', string_match: { exact: 'example.com' } }, {}, true, 'host aliases :authority'],
    [{ name: ':authority', string_match: { exact: 'example.com' } }, {}, true, ':authority pseudo-header'],
    [{ name: ':method', exact_match: 'GET' }, {}, true, 'deprecated exact_match'],
    [{ name: 'x', exact_match: '' }, { x: ['anything'] }, true, 'exact_match "" matches any present value'],
    [{ name: 'x', exact_match: '' }, {}, false, 'exact_match "" does not match an absent header'],
    [{ name: 'x', string_match: { exact: '' } }, { x: ['anything'] }, false, 'string_match exact "" matches only an empty value'],
    [{ name: 'x', string_match: { exact: '' } }, { x: [''] }, true, 'string_match exact "" on an empty value'],
    [{ name: 'x' }, { x: ['v'] }, true, 'no specifier = present'],
    [{ name: 'x' }, {}, false, 'no specifier, absent'],
    [{ name: 'x', present_match: true }, {}, false, 'present_match true, absent'],
    [{ name: 'x', present_match: false }, {}, true, 'present_match false, absent → true'],
    [{ name: 'x', present_match: false }, { x: ['v'] }, false, 'present_match false, present → false'],
    [{ name: 'x', present_match: true, invert_match: true }, {}, true, 'present + invert, absent → true'],
    [{ name: 'x', present_match: true, invert_match: true }, { x: ['v'] }, false, 'present + invert, present → false'],
    [{ name: 'x', string_match: { exact: 'v' }, invert_match: true }, {}, false, 'invert does not match an absent header'],
    [{ name: 'x', string_match: { exact: 'v' }, invert_match: true }, { x: ['w'] }, true, 'invert on a present header'],
    [{ name: 'x', string_match: { exact: 'v' }, invert_match: true }, { x: ['v'] }, false, 'invert, equal'],
    [{ name: 'x', string_match: { exact: '' }, treat_missing_header_as_empty: true }, {}, true, 'treat missing as empty'],
    [{ name: 'x', string_match: { exact: 'v' }, invert_match: true, treat_missing_header_as_empty: true }, {}, true, 'treat missing + invert'],
    [{ name: 'x', present_match: true, treat_missing_header_as_empty: true }, {}, true, 'present + treat missing: always true'],
    [{ name: 'x', treat_missing_header_as_empty: true }, {}, true, 'bare name + treat missing: always true'],
    [{ name: 'x', present_match: false, treat_missing_header_as_empty: true }, {}, false, 'present false + treat missing: always false'],
    [{ name: 'x', present_match: false, treat_missing_header_as_empty: true }, { x: ['v'] }, false, 'present false + treat missing, present: false'],
    [{ name: 'x', range_match: { start: '0', end: '10' } }, { x: ['9'] }, true, 'range includes start..end-1'],
    [{ name: 'x', range_match: { start: 0, end: 10 } }, { x: ['10'] }, false, 'range end is exclusive'],
    [{ name: 'x', range_match: { start: -10, end: 10 } }, { x: ['-1'] }, true, 'negative'],
    [{ name: 'x', range_match: { start: 0, end: 10 } }, { x: [' 5 '] }, true, 'surrounding whitespace allowed (SimpleAtoi)'],
    [{ name: 'x', range_match: { start: 0, end: 10 } }, { x: ['+5'] }, true, 'explicit plus sign'],
    [{ name: 'x', range_match: { start: 0, end: 100 } }, { x: ['10.9'] }, false, 'not an integer'],
    [{ name: 'x', range_match: { start: -10, end: 10 } }, { x: ['-1somestring'] }, false, 'trailing garbage'],
    [{ name: 'x', range_match: { start: -10, end: 10 } }, { x: [''] }, false, 'empty'],
    [{ name: 'x', range_match: { start: -10, end: 10 } }, { x: ['0', '1'] }, false, 'joined multi-values do not parse'],
    [{ name: 'x', prefix_match: 'ab' }, { x: ['abc'] }, true, 'deprecated prefix_match'],
    [{ name: 'x', prefix_match: 'AB' }, { x: ['abc'] }, false, 'deprecated prefix_match is case-sensitive'],
    [{ name: 'x', suffix_match: 'bc' }, { x: ['abc'] }, true, 'suffix_match'],
    [{ name: 'x', contains_match: 'b' }, { x: ['abc'] }, true, 'contains_match'],
    [{ name: 'x', safe_regex_match: { google_re2: {}, regex: 'a.c' } }, { x: ['abc'] }, true, 'safe_regex_match full match'],
    [{ name: 'x', safe_regex_match: { google_re2: {}, regex: 'b' } }, { x: ['abc'] }, false, 'safe_regex_match is not a partial match'],
    [{ name: ':path', string_match: { exact: '/p?q=1' } }, {}, true, 'header :path keeps the query'],
  ])('%j on %j → %s (%s)', (m, headers, expected) => {
    const r = req(headers as Record<string, string[]>, 'GET', (m as { name: string }).name === ':path' ? '/p?q=1' : '/p');
    expect(perm({ header: m }, r)).toBe(expected);
  });

  it('inline headers drop empty appended values (e.g. user-agent)', () => {
    expect(perm({ header: { name: 'user-agent', string_match: { exact: 'bar' } } }, req({ 'user-agent': ['', 'bar'] }))).toBe(true);
  });

  it('is undecidable when the evidence does not carry the header', () => {
    expect(perm({ header: { name: 'x-token', string_match: { exact: 'a' } } }, req({}), 'http', ['http.headers'])).toBe('U');
    expect(perm({ header: { name: 'x-token', string_match: { exact: 'a' } } }, req({ 'x-token': ['a'] }), 'http', ['http.headers'])).toBe(true);
  });

  it('simpleAtoi64 mirrors absl::SimpleAtoi', () => {
    expect(simpleAtoi64('\t42\n')).toBe(42n);
    expect(simpleAtoi64('9223372036854775807')).toBe(9223372036854775807n);
    expect(simpleAtoi64('9223372036854775808')).toBeNull();
    expect(simpleAtoi64('0x10')).toBeNull();
    expect(simpleAtoi64('- 1')).toBeNull();
  });
});
