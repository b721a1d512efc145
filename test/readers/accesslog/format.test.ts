import { describe, expect, it } from 'vitest';
import { TextFormat, tokenizeFormat, splitAddress, FormatError } from '../../../src/readers/accesslog/format.js';
import { ENVOY_DEFAULT, ISTIO_TEXT, ISTIO_TEXT_1_9, ISTIO_TEXT_PRE_1_9 } from '../../../src/readers/accesslog/builtin.js';

describe('format-string tokenizer', () => {
  it('reads operators with arguments, alternatives and :Z truncation lengths', () => {
    const segs = tokenizeFormat('%REQ(X-ENVOY-ORIGINAL-PATH?:PATH):10% %DYNAMIC_METADATA(envoy.filters.http.rbac:shadow_effective_policy_id)% %FILTER_STATE(io.istio.peer_principal:PLAIN)%');
    const ops = segs.filter((s): s is { op: never } => 'op' in s).map((s) => (s as { op: { key: string; headers?: string[]; maxLength?: number; namespace?: string; path?: string[] } }).op);
    expect(ops[0]).toMatchObject({ key: 'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)', headers: ['x-envoy-original-path', ':path'], maxLength: 10 });
    expect(ops[1]).toMatchObject({ namespace: 'envoy.filters.http.rbac', path: ['shadow_effective_policy_id'] });
    expect(ops[2]).toMatchObject({ key: 'FILTER_STATE(io.istio.peer_principal:PLAIN)', namespace: 'io.istio.peer_principal' });
  });

  it('keeps START_TIME arguments that contain % signs', () => {
    const f = new TextFormat('[%START_TIME(%Y-%m-%dT%H:%M:%S)%] %RESPONSE_CODE%');
    expect(f.operators.map((o) => o.key)).toEqual(['START_TIME(%Y-%m-%dT%H:%M:%S)', 'RESPONSE_CODE']);
    expect(f.parse('[2024-05-01T10:00:00] 200')?.values).toEqual({ 'START_TIME(%Y-%m-%dT%H:%M:%S)': '2024-05-01T10:00:00', RESPONSE_CODE: 200 });
  });

  it('rejects adjacent operators whose values cannot be separated', () => {
    expect(() => new TextFormat('%RESPONSE_CODE%%RESPONSE_FLAGS%')).toThrow(FormatError);
  });
});

describe('addresses', () => {
  it('splits IPv4, bracketed IPv6, tcp:// and bare addresses', () => {
    expect(splitAddress('10.44.1.23:37652')).toEqual({ address: '10.44.1.23', port: 37652 });
    expect(splitAddress('[fd00::1]:8080')).toEqual({ address: 'fd00::1', port: 8080 });
    expect(splitAddress('tcp://10.0.2.1:80')).toEqual({ address: '10.0.2.1', port: 80 });
    expect(splitAddress('fd00::1')).toEqual({ address: 'fd00::1' });
  });
});

describe('compiled text formats', () => {
  const values = {
    START_TIME: '2024-05-01T10:00:00.123Z',
    'REQ(:METHOD)': 'POST',
    'REQ(X-ENVOY-ORIGINAL-PATH?:PATH)': '/api/v1/items?x=1',
    PROTOCOL: 'HTTP/2',
    RESPONSE_CODE: 403,
    RESPONSE_FLAGS: null,
    RESPONSE_CODE_DETAILS: 'rbac_access_denied_matched_policy[ns[foo]-policy[deny-post]-rule[0]]',
    CONNECTION_TERMINATION_DETAILS: null,
    UPSTREAM_TRANSPORT_FAILURE_REASON: null,
    'DYNAMIC_METADATA(istio.mixer:status)': null,
    BYTES_RECEIVED: 12,
    BYTES_SENT: 19,
    DURATION: 0,
    'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)': null,
    'REQ(X-FORWARDED-FOR)': null,
    'REQ(USER-AGENT)': 'Mozilla/5.0 (X11; Linux x86_64) "quoted" agent',
    'REQ(X-REQUEST-ID)': 'a2c4e6f8-0000-4000-8000-000000000001',
    'REQ(:AUTHORITY)': 'items.foo.svc.cluster.local:8080',
    UPSTREAM_HOST: null,
    UPSTREAM_CLUSTER_RAW: 'inbound|8080||',
    UPSTREAM_CLUSTER: 'inbound|8080||',
    UPSTREAM_LOCAL_ADDRESS: null,
    DOWNSTREAM_LOCAL_ADDRESS: '[fd00:10:244::7]:8080',
    DOWNSTREAM_REMOTE_ADDRESS: '[fd00:10:244::9]:51234',
    REQUESTED_SERVER_NAME: 'outbound_.8080_._.items.foo.svc.cluster.local',
    ROUTE_NAME: 'default',
  };
  for (const [name, fmt] of [['istio', ISTIO_TEXT], ['istio-1.9', ISTIO_TEXT_1_9], ['istio-pre-1.9', ISTIO_TEXT_PRE_1_9], ['envoy', ENVOY_DEFAULT]] as const) {
    it(`round-trips a generated ${name} line (spaces and quotes inside quoted fields, IPv6)`, () => {
      const f = new TextFormat(fmt, name);
      const line = f.render(values);
      const parsed = f.parse(line);
      expect(parsed).not.toBeNull();
      for (const op of f.operators) expect(parsed!.values[op.key]).toEqual(values[op.key as keyof typeof values] ?? null);
    });
  }

  it('tells the Istio formats apart by their fields: a pre-1.9 line does not fit the current format and vice versa', () => {
    const cur = new TextFormat(ISTIO_TEXT);
    const old = new TextFormat(ISTIO_TEXT_PRE_1_9);
    const env = new TextFormat(ENVOY_DEFAULT);
    expect(cur.parse(old.render(values))).toBeNull();
    expect(old.parse(cur.render(values))).toBeNull();
    expect(env.parse(cur.render(values))).toBeNull();
    expect(cur.parse(env.render(values))).toBeNull();
  });

  it('rejects a line whose typed fields do not fit (non-numeric code, malformed address)', () => {
    const f = new TextFormat(ISTIO_TEXT);
    expect(f.parse(f.render({ ...values, RESPONSE_CODE: 'abc' }))).toBeNull();
    expect(f.parse(f.render({ ...values, DOWNSTREAM_REMOTE_ADDRESS: 'not-an-address' }))).toBeNull();
  });

  it('parses custom formats with DYNAMIC_METADATA, FILTER_STATE, peer SANs and truncation', () => {
    const f = new TextFormat('%START_TIME% %DOWNSTREAM_PEER_URI_SAN% "%REQ(:PATH):8%" %DYNAMIC_METADATA(envoy.filters.http.rbac:shadow_engine_result)% %FILTER_STATE(io.istio.peer_principal:PLAIN)%');
    const line = f.render({ START_TIME: '2024-05-01T10:00:00Z', DOWNSTREAM_PEER_URI_SAN: 'spiffe://cluster.local/ns/foo/sa/bar', 'REQ(:PATH)': '/a/very/long/path', 'DYNAMIC_METADATA(envoy.filters.http.rbac:shadow_engine_result)': 'denied', 'FILTER_STATE(io.istio.peer_principal:PLAIN)': 'spiffe://cluster.local/ns/foo/sa/bar' });
    expect(line).toBe('2024-05-01T10:00:00Z spiffe://cluster.local/ns/foo/sa/bar "/a/very/" denied spiffe://cluster.local/ns/foo/sa/bar');
    expect(f.parse(line)?.values['REQ(:PATH)']).toBe('/a/very/');
  });

  it('keeps trailing fields the format does not describe as extra text', () => {
    const f = new TextFormat(ISTIO_TEXT);
    const r = f.parse('[2022-09-27T18:28:59.313Z] "- - -" 0 - - rbac_access_denied_matched_policy[none] "-" 233 0 1 - "-" "-" "-" "-" "-" - - 10.64.135:15008 10.64.3.51:45702 - - capture inbound listener');
    expect(r?.extra).toBe('capture inbound listener');
    expect(r?.values.CONNECTION_TERMINATION_DETAILS).toBe('rbac_access_denied_matched_policy[none]');
  });
});
