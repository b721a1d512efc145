import { describe, expect, it } from 'vitest';
import { redactPath, isSecretParam } from '../../src/model/redact.js';

describe('query-string credential redaction', () => {
  it('redacts token-like parameters and keeps the rest', () => {
    expect(redactPath('/api?access_token=abc.def&page=2')).toBe('/api?access_token=[redacted]&page=2');
    expect(redactPath('/x?api_key=1&sig=2&q=token#frag')).toBe('/x?api_key=[redacted]&sig=[redacted]&q=token#frag');
    expect(redactPath('/login?password=hunter2')).toBe('/login?password=[redacted]');
    expect(redactPath('/plain/path')).toBe('/plain/path');
    expect(redactPath('/api?access_token=abc', true)).toBe('/api?access_token=abc');
  });

  it('recognises credential parameter names', () => {
    for (const n of ['token', 'id_token', 'X-Api-Key', 'client_secret', 'jwt', 'sessionid']) expect(isSecretParam(n)).toBe(true);
    for (const n of ['page', 'q', 'monkey', 'tokenizer']) expect(isSecretParam(n)).toBe(false);
  });
});
