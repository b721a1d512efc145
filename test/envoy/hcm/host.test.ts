import { describe, expect, it } from 'vitest';
import { hcmHostSettings, normalizeHost } from '../../../src/envoy/hcm/host.js';

describe('maybeNormalizeHost like HeaderUtility::stripTrailingHostDot / stripPortFromHost', () => {
  const s = (o: Record<string, unknown>) => hcmHostSettings(o);
  it('strips a trailing dot, with or without a port', () => {
    expect(normalizeHost('example.com.', s({ strip_trailing_host_dot: true }), 80)).toBe('example.com');
    expect(normalizeHost('example.com.:443', s({ strip_trailing_host_dot: true }), 80)).toBe('example.com:443');
  });
  it('strips any port, or only the listener port', () => {
    expect(normalizeHost('example.com:443', s({ strip_any_host_port: true }), 80)).toBe('example.com');
    expect(normalizeHost('example.com:443', s({ strip_matching_host_port: true }), 80)).toBe('example.com:443');
    expect(normalizeHost('example.com:80', s({ strip_matching_host_port: true }), 80)).toBe('example.com');
    expect(normalizeHost('[2001:db8::1]:80', s({ strip_any_host_port: true }), 80)).toBe('[2001:db8::1]');
    expect(normalizeHost('2001:db8::1', s({ strip_any_host_port: true }), 80)).toBe('2001:db8::1');
    expect(normalizeHost('example.com:443', s({}), 80)).toBe('example.com:443');
  });
});
