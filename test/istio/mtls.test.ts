import { describe, expect, it } from 'vitest';
import { modeOf, type ChainMtls } from '../../src/istio/mtls.js';

const c = (security: ChainMtls['security']): ChainMtls => ({ name: 'c', index: 0, security, transportProtocol: '', applicationProtocols: [], requireClientCertificate: security === 'mtls', jsonPath: '$' });

describe('modeOf (chain kinds → Istio mode)', () => {
  it('STRICT only when every chain is mTLS', () => {
    expect(modeOf([c('mtls'), c('mtls')]).mode).toBe('STRICT');
  });
  it('PERMISSIVE: mTLS + plaintext (pass-through TLS allowed)', () => {
    expect(modeOf([c('mtls'), c('plaintext')]).mode).toBe('PERMISSIVE');
    expect(modeOf([c('mtls'), c('plaintext'), c('tls-passthrough')]).mode).toBe('PERMISSIVE');
    expect(modeOf([c('mtls'), c('any-passthrough')]).mode).toBe('PERMISSIVE');
  });
  it('DISABLE: plaintext only', () => {
    expect(modeOf([c('plaintext')]).mode).toBe('DISABLE');
    expect(modeOf([c('any-passthrough')]).mode).toBe('DISABLE');
  });
  it('one-way TLS or odd mixes are UNKNOWN with a reason, never guessed', () => {
    expect(modeOf([c('tls')])).toMatchObject({ mode: 'UNKNOWN' });
    expect(modeOf([c('mtls'), c('tls-passthrough')]).mode).toBe('UNKNOWN');
    expect(modeOf([]).mode).toBe('UNKNOWN');
  });
});
