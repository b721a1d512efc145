import { describe, expect, it } from 'vitest';
import { matchHttpMethods, matchHttpPaths, normalizeHttpPath } from '../../src/calico/http.js';

// Behaviours of projectcalico/calico app-policy/checker match_test.go (TestMatchHTTPMethods,
// TestMatchHTTPPaths, TestMatchHTTPPaths_Normalization, TestNormalizeHTTPPath), as our own table.
describe('Dikastes HTTP methods', () => {
  const rows: [string[], string, boolean][] = [
    [[], 'GET', true],
    [['GET', 'HEAD'], 'GET', true],
    [['get', 'HEAD'], 'GET', false],
    [['*'], 'MADNESS', true],
  ];
  for (const [methods, method, want] of rows) it(`${JSON.stringify(methods)} ${method} → ${want}`, () => expect(matchHttpMethods(methods, method)).toBe(want));
});

describe('Dikastes HTTP paths (normalised, segment-aligned prefixes)', () => {
  const E = (exact: string) => ({ exact });
  const P = (prefix: string) => ({ prefix });
  const rows: [({ exact: string } | { prefix: string })[], string, boolean][] = [
    [[], '/foo', true],
    [[E('/foo')], '/foo', true],
    [[P('/foo')], '/foo/bar', true],
    [[P('/foo')], '/foobar', false],
    [[E('/foo')], '/foobar', false],
    [[P('/joo'), E('/foo')], '/joo/bar', true],
    [[E('/foo')], '/foo?xyz', true],
    [[E('/foo')], '/foo#xyz', true],
    [[P('/foobar')], '/foo?bar', false],
    [[P('/public')], '/public/', true],
    [[E('/public')], '/public/.', true],
    [[P('/public')], '/public/../admin', false],
    [[E('/public/foo')], '/public/bar/../foo', true],
    [[P('/public')], '/public%2F..%2Fadmin', false],
    [[P('/public')], '/public/%2E%2E/admin', false],
    [[E('/public/file')], '/public/%66ile', true],
    [[P('/public')], '//public', true],
    [[P('/pub')], '/public-leak-endpoint', false],
    [[P('/pub')], '/pub/x', true],
    [[P('/public')], '/public\\..\\admin', false],
    [[P('/public')], '/public/..;x/admin', false],
    [[P('/public')], '/public/foo;jsessionid=abc', true],
    [[P('/public')], '/public/%252e%252e/admin', false],
    [[P('/public')], '/public%00/admin', false],
  ];
  for (const [paths, path, want] of rows) it(`${JSON.stringify(paths)} ${JSON.stringify(path)} → ${want}`, () => expect(matchHttpPaths(paths, path).ok).toBe(want));
  const norm: [string, string | null][] = [
    ['/', '/'],
    ['/public/', '/public'],
    ['/..', '/'],
    ['/public%3Ffoo', '/public?foo'],
    ['\\public\\..\\admin', '/admin'],
    ['/a;p=1/b;q=2/c;r=3', '/a/b/c'],
    ['/%XY/admin', null],
    ['relative/path', null],
    ['http://example.com/admin', null],
    ['', null],
  ];
  for (const [raw, want] of norm) it(`normalises ${JSON.stringify(raw)} → ${JSON.stringify(want)}`, () => expect(normalizeHttpPath(raw)).toBe(want));
});
