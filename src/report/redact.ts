/** Secret redaction applied by every reporter unless --show-secrets. */

const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-access-token',
  'x-amz-security-token',
]);

export function isSecretHeader(name: string): boolean {
  const n = name.toLowerCase();
  return SECRET_HEADERS.has(n) || /(^|-)(token|secret|password|api-key|apikey)($|-)/.test(n);
}

/** Keeps the scheme of an Authorization value (e.g. `Bearer`) and replaces the rest. */
export function redactValue(name: string, value: string): string {
  if (!isSecretHeader(name)) return value;
  const n = name.toLowerCase();
  if (n === 'authorization' || n === 'proxy-authorization') {
    const sp = value.indexOf(' ');
    if (sp > 0) return `${value.slice(0, sp)} [redacted]`;
  }
  return '[redacted]';
}

export function redactHeaders(headers: Record<string, string[]>, show = false): Record<string, string[]> {
  if (show) return headers;
  const out: Record<string, string[]> = {};
  for (const [k, vs] of Object.entries(headers)) out[k] = vs.map((v) => redactValue(k, v));
  return out;
}
