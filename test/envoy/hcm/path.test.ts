import { describe, expect, it } from 'vitest';
import { canonicalPath, hcmPathSettings, mergeSlashes, normalizeRequestPath, stripParametersFromDotSegments, unescapeSlashes } from '../../../src/envoy/hcm/path.js';

// Vectors from Envoy's test/common/http/path_utility_test.cc (PathUtil behaviour pinned there).
describe('normalize_path canonicalizes like Envoy PathUtil::canonicalPath (Chromium)', () => {
  it('keeps already normal paths', () => {
    for (const p of ['/xyz', '/x/y/z']) expect(canonicalPath(p)).toBe(p);
  });
  it('rejects paths with an escaped or raw NUL', () => {
    for (const p of ['/xyz/.%00../abc', '/xyz/%00.%00./abc', '/xyz/AAAAA%%0000/abc', '/a\u0000b']) expect(canonicalPath(p)).toBeNull();
  });
  it('removes dot segments, treats %2e as a dot and \\ as a slash, keeps reserved escapes', () => {
    const pairs: [string, string][] = [
      ['/a/b/../c', '/a/c'], ['/a/b/./c', '/a/b/c'], ['a/b/../c', '/a/c'], ['/a/b/../../../../c', '/c'],
      ['/a/..\\c', '/c'], ['/%c0%af', '/%c0%af'], ['/%5c%25', '/%5c%25'], ['/a/b/%2E%2E/c', '/a/c'], ['/a/b/%2e%2e/c', '/a/c'],
      ['/A/B/C', '/A/B/C'], ['/a/%2F%2f/c', '/a/%2F%2f/c'], ['/details/../ping', '/ping'], ['/details/..', '/'],
      ['/a/..?x=/../y', '/?x=/../y'],
    ];
    for (const [i, o] of pairs) expect(canonicalPath(i), i).toBe(o);
  });
  it('decodes unreserved escapes and escapes unsafe bytes', () => {
    expect(canonicalPath('/%41%7e%2d')).toBe('/A~-');
    expect(canonicalPath('/a b"<>')).toBe('/a%20b%22%3C%3E');
    expect(canonicalPath('/é')).toBe('/%C3%A9');
    expect(canonicalPath('/a.b/%2e/c')).toBe('/a.b/c');
  });
  it('guards nested escapes (%%30%30 never becomes a NUL escape)', () => {
    expect(canonicalPath('/%%300')).toBe('/%2500');
  });
  it('strips parameters from dot segments (CVE-2026-73551 fix), or not on older Envoy', () => {
    const pairs: [string, string][] = [
      ['/xyz/..;foo=bar/abc', '/abc'], ['/..;foo=bar/abc', '/abc'], ['/xyz/..;foo=bar', '/'], ['/xyz/.;foo=bar/abc', '/xyz/abc'],
      ['/xyz/..;foo=bar/.;fff=zzz?blah=woops', '/?blah=woops'], ['/xyz/..;foo=bar/.;fff=zzz/remain;blah-bluh?query', '/remain;blah-bluh?query'],
    ];
    for (const [i, o] of pairs) expect(canonicalPath(i), i).toBe(o);
    expect(canonicalPath('/xyz/..;foo=bar/abc', false)).toBe('/xyz/..;foo=bar/abc');
    expect(stripParametersFromDotSegments('/xyz/remove/..;foo?param=/.;foo')).toBe('/xyz/remove/..?param=/.;foo');
  });
});

describe('merge_slashes like PathUtil::mergeSlashes', () => {
  it('merges runs of slashes in the path part only', () => {
    const pairs: [string, string][] = [
      ['', ''], ['a//b/c', 'a/b/c'], ['/a//b/c/', '/a/b/c/'], ['/a', '/a'], ['//a/b/c', '/a/b/c'], ['/a/b/c//', '/a/b/c/'],
      ['/a////b/c', '/a/b/c'], ['/a//b?a=///c', '/a/b?a=///c'], ['/a//b?', '/a/b?'], ['//a/?b', '/a/?b'],
    ];
    for (const [i, o] of pairs) expect(mergeSlashes(i), i).toBe(o);
  });
});

describe('escaped slashes like PathUtil::unescapeSlashes', () => {
  it('unescapes %2F/%2f/%5C/%5c in the path part and says whether it found any', () => {
    expect(unescapeSlashes('%2f%2F')).toBe('//');
    expect(unescapeSlashes('/a%2Fb%2fc/')).toBe('/a/b/c/');
    expect(unescapeSlashes('%2b')).toBeNull();
    expect(unescapeSlashes('/abc%2')).toBeNull();
    expect(unescapeSlashes('%%2fa/')).toBe('%/a/');
    expect(unescapeSlashes('/x/%2E%2e/z%2f%2Fabc%5C../def')).toBe('/x/%2E%2e/z//abc\\../def');
    expect(unescapeSlashes('%2fa%5Cb%2fc%5c?%2fabcd%5C%%2f%')).toBe('/a\\b/c\\?%2fabcd%5C%%2f%');
  });
});

describe('maybeNormalizePath order and outcomes', () => {
  const s = (o: Record<string, unknown>) => hcmPathSettings(o);
  it('reads unset fields as Envoy defaults and says so', () => {
    const d = s({});
    expect(d).toMatchObject({ normalizePath: false, mergeSlashes: false, escapedSlashesAction: 'KEEP_UNCHANGED' });
    expect(d.defaults.join(' ')).toMatch(/IMPLEMENTATION_SPECIFIC_DEFAULT|not set/);
    expect(s({ path_with_escaped_slashes_action: 'IMPLEMENTATION_SPECIFIC_DEFAULT' }).escapedSlashesAction).toBe('KEEP_UNCHANGED');
    expect(s({ path_with_escaped_slashes_action: 3 }).escapedSlashesAction).toBe('UNESCAPE_AND_REDIRECT');
  });
  it('rejects a fragment with 400 path_normalization_failed', () => {
    expect(normalizeRequestPath('/a#b', s({}))).toMatchObject({ action: 'reject', status: 400, details: 'path_normalization_failed' });
  });
  it('KEEP_UNCHANGED leaves escaped slashes; REJECT_REQUEST answers 400', () => {
    expect(normalizeRequestPath('/a%2F..%2Fb', s({ normalize_path: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' }))).toMatchObject({ action: 'continue', path: '/a%2F..%2Fb' });
    expect(normalizeRequestPath('/a%2Fb', s({ path_with_escaped_slashes_action: 'REJECT_REQUEST' }))).toMatchObject({ action: 'reject', status: 400 });
    expect(normalizeRequestPath('/a/b', s({ path_with_escaped_slashes_action: 'REJECT_REQUEST' }))).toMatchObject({ action: 'continue', path: '/a/b' });
  });
  it('UNESCAPE_AND_FORWARD unescapes, then normalizes and merges (DECODE_AND_MERGE_SLASHES)', () => {
    const r = normalizeRequestPath('/details/x%2F..%2F..%2Fadmin', s({ normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' }));
    expect(r).toMatchObject({ action: 'continue', path: '/admin' });
    expect(r.steps.map((x) => x.step)).toEqual(['unescape_slashes', 'normalize_path']);
  });
  it('UNESCAPE_AND_REDIRECT answers 307 to the final path, 400 for gRPC', () => {
    const set = s({ normalize_path: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT' });
    expect(normalizeRequestPath('/a%2F%2Fb', { ...set, mergeSlashes: true })).toMatchObject({ action: 'redirect', status: 307, path: '/a/b' });
    expect(normalizeRequestPath('/a%2Fb', set, { grpc: true })).toMatchObject({ action: 'reject', status: 400 });
  });
  it('merges slashes after normalizing', () => {
    const r = normalizeRequestPath('//details//0', s({ normalize_path: true, merge_slashes: true }));
    expect(r).toMatchObject({ action: 'continue', path: '/details/0' });
  });
});
