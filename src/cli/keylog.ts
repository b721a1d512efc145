/**
 * `--keylog` for the commands that read captures (flows, report): loading the NSS key log files and
 * the one-line account of what decryption achieved.
 */
import { readKeyLogs } from '../readers/keylog.js';
import type { KeyLog } from '../protocols/tls/keylog.js';
import type { Flow } from '../model/records.js';
import { formatLocation } from '../model/errors.js';
import { warn } from './common.js';

/** TLS sessions by what decryption with the key log achieved. */
export class DecryptionCounts {
  decrypted = 0;
  noKey = 0;
  failed = 0;
  unsupported = 0;
  add(f: Pick<Flow, 'tls'>): void {
    const d = f.tls?.decryption;
    if (!d) return;
    if (d.status === 'decrypted') this.decrypted++;
    else if (d.status === 'no-key') this.noKey++;
    else if (d.status === 'failed') this.failed++;
    else this.unsupported++;
  }
  get total(): number {
    return this.decrypted + this.noKey + this.failed + this.unsupported;
  }
}

/** `key log: 3 TLS session(s) decrypted, 2 no key for client_random` (empty when no session was seen). */
export function decryptionLine(c: DecryptionCounts): string {
  const parts = [`${c.decrypted} decrypted`];
  if (c.noKey) parts.push(`${c.noKey} no key for client_random`);
  if (c.failed) parts.push(`${c.failed} failed (the key log's secrets did not open the records)`);
  if (c.unsupported) parts.push(`${c.unsupported} not decryptable (cipher suite or version)`);
  return `key log: ${c.total} TLS session${c.total === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** Loads --keylog files (diagnostics to stderr), or null when none was given. */
export async function loadKeyLog(paths: readonly string[]): Promise<KeyLog | null> {
  if (!paths.length) return null;
  const { keys, diagnostics } = await readKeyLogs(paths);
  for (const d of diagnostics) warn(`${d.severity}: ${formatLocation(d.location)}: ${d.message}`);
  return keys;
}

