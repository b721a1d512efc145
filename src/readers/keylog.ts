/**
 * Key log files (`--keylog`): NSS key log text, read whole (bounded like other structured
 * inputs) and parsed by src/protocols/tls/keylog.ts. Several files merge into one key log.
 */
import { InputError, type Diagnostic } from '../model/errors.js';
import { KeyLog, parseKeyLog } from '../protocols/tls/keylog.js';
import { readWholeFile } from './files.js';
import { sniffBinary } from './sniff.js';

export async function readKeyLogs(paths: readonly string[]): Promise<{ keys: KeyLog; diagnostics: Diagnostic[] }> {
  const keys = new KeyLog();
  const diagnostics: Diagnostic[] = [];
  for (const p of paths) {
    const buf = await readWholeFile(p);
    const bin = sniffBinary(buf.subarray(0, 4096));
    if (bin) throw new InputError({ file: p, offset: 0 }, 'an NSS key log (SSLKEYLOGFILE text: "CLIENT_RANDOM <hex> <hex>" lines)', bin);
    const before = keys.size;
    const r = parseKeyLog(buf.toString('utf8'), p, keys);
    diagnostics.push(...r.diagnostics);
    if (keys.size === before && r.diagnostics.length === 0) {
      throw new InputError({ file: p }, 'an NSS key log (CLIENT_RANDOM or TLS 1.3 *_TRAFFIC_SECRET lines)', 'no key log line');
    }
  }
  return { keys, diagnostics };
}
