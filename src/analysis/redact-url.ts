/** Redaction of credentials carried in URL query strings (`?access_token=…`), applied by the report unless --show-secrets. */

const SECRET_PARAM = /(^|[-_.])(token|access[-_]?token|id[-_]?token|refresh[-_]?token|secret|client[-_]?secret|password|passwd|pwd|api[-_]?key|apikey|signature|sig|jwt|session|sessionid|auth)$/i;

/** Whether a query parameter name carries a credential. */
export function isSecretParam(name: string): boolean {
  let n = name;
  try {
    n = decodeURIComponent(name);
  } catch {
    // keep as is
  }
  return SECRET_PARAM.test(n);
}

/** Replaces the values of credential-bearing query parameters with `[redacted]`. */
export function redactPath(path: string, show = false): string {
  if (show) return path;
  const q = path.indexOf('?');
  if (q < 0) return path;
  const hash = path.indexOf('#', q);
  const query = path.slice(q + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      if (eq <= 0) return kv;
      return isSecretParam(kv.slice(0, eq)) ? `${kv.slice(0, eq)}=[redacted]` : kv;
    })
    .join('&');
  return path.slice(0, q + 1) + redacted + (hash < 0 ? '' : path.slice(hash));
}
