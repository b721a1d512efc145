import { describe, expect, it } from 'vitest';
import { configMentions, DecisionCache, memoizedDumpDecider, type DeciderOptions } from '../../src/analysis/explain.js';
import type { RequestAttrs } from '../../src/model/attrs.js';
import type { Decision } from '../../src/model/decision.js';

const decision = (): Decision => ({ decision: 'ALLOW', policy: null, responseCodeDetails: null, filters: [] }) as unknown as Decision;
const req = (port: number, rid: string): RequestAttrs => ({
  source: { address: '10.0.0.1', port },
  destination: { address: '10.0.0.2', port: 9080 },
  http: { method: 'GET', path: '/x', authority: 'x', headers: { 'x-request-id': [rid] } },
});
const OPTS: DeciderOptions = { unknown: [], kind: 'http' };

describe('decision memo', () => {
  it('an Istio access-log format naming %REQ(X-REQUEST-ID)% does not make every request id a distinct decision', () => {
    let computed = 0;
    const dump = { listeners: [{ name: 'virtualInbound', access_log: [{ typed_config: { log_format: { text_format: '%REQ(X-REQUEST-ID)% %DOWNSTREAM_REMOTE_ADDRESS% source_port' } } }] }] };
    const d = memoizedDumpDecider(dump, () => (computed++, decision()));
    const a = d(req(40000, 'a'), OPTS);
    const b = d(req(40001, 'b'), OPTS);
    expect(computed).toBe(1);
    expect(b).toBe(a);
  });

  it('a config whose RBAC reads x-request-id or source ports keeps them in the key', () => {
    let computed = 0;
    const dump = { listeners: [{ rbac: { policies: { p: { principals: [{ header: { name: 'x-request-id' } }, { source_port: 1 }] } } } }] };
    const d = memoizedDumpDecider(dump, () => (computed++, decision()));
    d(req(40000, 'a'), OPTS);
    d(req(40000, 'b'), OPTS);
    d(req(40001, 'b'), OPTS);
    expect(computed).toBe(3);
  });

  it('logged values holding the key separators never make two different requests share a decision', () => {
    const seen: string[] = [];
    const d = memoizedDumpDecider({}, (_dump, r) => (seen.push(`${r.http?.path}#${r.http?.authority}`), decision()));
    const at = (path: string, authority: string, headers: Record<string, string[]> = {}): RequestAttrs => ({
      source: { address: '10.0.0.1', port: 1 },
      destination: { address: '10.0.0.2', port: 9080 },
      http: { method: 'GET', path, authority, headers },
    });
    d(at('/a|b', 'c'), OPTS);
    d(at('/a', 'b|c'), OPTS);
    d(at('/a\\|b', 'c'), OPTS);
    d(at('/x', 'h', { 'x-a': ['1', '2'] }), OPTS);
    d(at('/x', 'h', { 'x-a': ['1\u00012'] }), OPTS);
    d(at('/x', 'h', { 'x-a': ['1|x-b=2'] }), OPTS);
    d(at('/x', 'h', { 'x-a': ['1'], 'x-b': ['2'] }), OPTS);
    expect(seen).toHaveLength(7);
    // and the same request is still one decision
    d(at('/a|b', 'c'), OPTS);
    expect(seen).toHaveLength(7);
  });

  it('an endpoint shared with the one before it, metadata holding separators and an unshared unknown list never merge two requests', () => {
    const seen: number[] = [];
    let n = 0;
    const d = memoizedDumpDecider({}, () => (seen.push(n), decision()));
    const shared = { address: '10.0.0.1', port: 1 };
    const base = { destination: { address: '10.0.0.2', port: 9080 }, http: { method: 'GET', path: '/x', authority: 'h', headers: {} } };
    const reqs: [RequestAttrs, DeciderOptions][] = [
      [{ ...base, source: shared, remote: shared, directRemote: shared }, OPTS],
      [{ ...base, source: shared, remote: { address: '10.0.0.9', port: 1 }, directRemote: shared }, OPTS],
      [{ ...base, source: shared, remote: shared, directRemote: { address: '10.0.0.9', port: 1 } }, OPTS],
      [{ ...base, source: shared, metadata: { a: '|F{}' } }, OPTS],
      [{ ...base, source: shared, metadata: { a: '' }, filterState: {} }, OPTS],
      [{ ...base, source: shared }, { unknown: ['tls', 'sni'], kind: 'http' }],
      [{ ...base, source: shared }, { unknown: ['tls,sni'], kind: 'http' }],
    ];
    for (const [r, o] of reqs) (n++, d(r, o));
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // the same requests again: no new decision; a shared frozen unknown list (as the readers give) is one key part
    for (const [r, o] of reqs) d(r, o);
    const frozen = Object.freeze(['tls', 'sni']) as string[];
    d({ ...base, source: shared }, { unknown: frozen, kind: 'http' });
    d({ ...base, source: { ...shared } }, { unknown: frozen, kind: 'http' });
    expect(seen).toHaveLength(8);
  });

  it('endpoints are key parts by value: a remote (or direct remote) equal to the endpoint before it is the same request whether or not it is the same object', () => {
    let computed = 0;
    const d = memoizedDumpDecider({}, () => (computed++, decision()));
    const base = { destination: { address: '10.0.0.2', port: 9080 }, http: { method: 'GET', path: '/x', authority: 'h', headers: {} } };
    const shared = { address: '10.0.0.1', port: 1 };
    const a = d({ ...base, source: shared, remote: shared, directRemote: shared }, OPTS);
    // equal objects, none shared (as records whose endpoints a compactor did not share, or a spill batch split)
    const b = d({ ...base, source: { ...shared }, remote: { ...shared }, directRemote: { ...shared } }, OPTS);
    expect(computed).toBe(1);
    expect(b).toBe(a);
    // the recent-requests path (requestParts) and the memo key agree: after other requests, the same answer
    for (let i = 0; i < 10; i++) d({ ...base, source: { address: `10.1.0.${i}`, port: 1 } }, OPTS);
    expect(d({ ...base, source: { ...shared }, remote: { ...shared }, directRemote: shared }, OPTS)).toBe(a);
    expect(computed).toBe(11);
    // a remote that differs is still its own request
    d({ ...base, source: shared, remote: { address: '10.0.0.9', port: 1 }, directRemote: { address: '10.0.0.9', port: 1 } }, OPTS);
    expect(computed).toBe(12);
  });
});

describe('decision memo: requests found by their parts (more than the recent ones)', () => {
  const at = (i: number, path = '/x'): RequestAttrs => ({
    source: { address: `10.0.${i >> 8}.${i & 255}`, port: 40000 + i },
    destination: { address: '10.0.0.2', port: 9080 },
    http: { method: 'GET', path, authority: 'h', headers: { 'x-request-id': [`r${i}`] } },
  });

  it('400 distinct requests in turn, three times over: each decided once, the same decision object each time', () => {
    let computed = 0;
    const d = memoizedDumpDecider({}, () => (computed++, decision()));
    const first = Array.from({ length: 400 }, (_, i) => d(at(i), OPTS));
    for (let round = 0; round < 2; round++) for (let i = 0; i < 400; i++) expect(d({ ...at(i), source: { address: at(i).source!.address, port: 1 } }, OPTS)).toBe(first[i]);
    expect(computed).toBe(400);
  });

  it('values holding separators stay apart after more requests than the recent ones hold', () => {
    const seen: string[] = [];
    const d = memoizedDumpDecider({}, (_dump, r) => (seen.push(`${r.http?.path}#${r.http?.authority}`), decision()));
    const two = (path: string, authority: string): RequestAttrs => ({ ...at(0, path), http: { method: 'GET', path, authority, headers: {} } });
    const reqs = [two('/a|b', 'c'), two('/a', 'b|c'), two('/a\\|b', 'c'), two('/ab', 'c'), two('/a', 'bc')];
    for (let round = 0; round < 3; round++) {
      for (const r of reqs) d(r, OPTS);
      for (let i = 1; i < 20; i++) d(at(i), OPTS);
    }
    expect(seen.slice(0, 5)).toEqual(['/a|b#c', '/a#b|c', '/a\\|b#c', '/ab#c', '/a#bc']);
    expect(seen).toHaveLength(5 + 19);
  });

  it('a request whose decision left the size-bounded cache is decided again, never given a decision the cache dropped', () => {
    let computed = 0;
    // room for about two decisions
    const cache = new DecisionCache(1500);
    const d = memoizedDumpDecider({}, () => (computed++, decision()), cache);
    for (let round = 0; round < 2; round++) for (let i = 0; i < 20; i++) d(at(i), OPTS);
    expect(computed).toBe(40);
    expect(cache.size).toBeLessThan(8);
  });
});

describe('configMentions (what the memo key keeps)', () => {
  it('finds source ports and x-request-id in keys and string values at any depth, in Maps and Sets, and not in access-log settings', () => {
    expect(configMentions([{ a: [{ b: { source_port: 1 } }] }])).toEqual({ keepPorts: true, keepRequestId: false });
    expect(configMentions([{ a: new Map([['h', { name: 'X-Request-Id' }]]) }])).toEqual({ keepPorts: false, keepRequestId: true });
    expect(configMentions([{ a: new Set(['source.port == 80']) }, { t: 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.SourcePortInput' }])).toEqual({ keepPorts: true, keepRequestId: false });
    expect(configMentions([{ accessLog: 'x-request-id source_port', access_logs: [{ f: 'source.port' }], m: new Map([['access_log', 'x-request-id']]) }])).toEqual({ keepPorts: false, keepRequestId: false });
    expect(configMentions([{ n: 7, b: Buffer.from('x-request-id'), nil: null }])).toEqual({ keepPorts: false, keepRequestId: false });
  });

  it('a cycle in the model is not followed and does not hide what the rest names (serialising it threw and kept neither)', () => {
    const listener: Record<string, unknown> = { name: 'l' };
    const dump = { listeners: [listener], rbac: { principals: [{ header: { name: 'x-request-id' } }] } };
    listener.dump = dump;
    expect(configMentions([dump])).toEqual({ keepPorts: false, keepRequestId: true });
    // an object shared by two parents is looked at under each
    const shared = { m: 'source_port' };
    expect(configMentions([{ a: shared, b: [shared] }])).toEqual({ keepPorts: true, keepRequestId: false });
  });
});
