/**
 * Loading config dumps from files and directories: one ConfigDump per proxy.
 *
 * A file may hold one dump (JSON or YAML, snake_case or camelCase, whole or one section or an istioctl
 * resource array), an Envoy bootstrap file (static_resources), an xDS response / LDS-RDS-CDS file
 * (`resources: [...]`), several YAML documents (one dump each), or a bundle: a JSON array of dumps, or an
 * object mapping proxy names to dumps. Directories are walked recursively; in a directory, files that
 * are not config dumps are skipped with a diagnostic (a directory of evidence holds other kinds too),
 * whereas a file named explicitly that is not a dump is an InputError.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, type Diagnostic } from '../../model/errors.js';
import type { ConfigDump } from '../../envoy/model.js';
import { describeValue, parseStructured, readStructuredFile } from '../structured.js';
import { isSingleDump, parseConfigDump, type ParsedConfigDump } from './parse.js';
import { isObj } from '../../envoy/tls.js';
import { appendAll } from '../../model/arrays.js';
import { readWholeFile } from '../files.js';

export { parseConfigDump, isSingleDump } from './parse.js';
export type { ParsedConfigDump } from './parse.js';

/** True when `doc` is a config dump or a bundle of them (for content sniffing). */
export function isConfigDump(doc: unknown): boolean {
  return isSingleDump(doc) || bundleEntries(doc) !== null;
}

/** The dumps of a bundle (array of dumps, or object of name → dump), or null when `doc` is not a bundle. */
function bundleEntries(doc: unknown): { key: string; doc: unknown; path: string }[] | null {
  if (Array.isArray(doc)) {
    if (doc.length === 0) return null;
    if (doc.every((d) => isObj(d) && 'configs' in d)) return doc.map((d, i) => ({ key: String(i), doc: d, path: `$[${i}]` }));
    return null;
  }
  if (isObj(doc)) {
    for (const k of ['items', 'dumps', 'proxies']) {
      const v = doc[k];
      if (Array.isArray(v) && v.length > 0 && v.every((d) => isSingleDump(d))) return v.map((d, i) => ({ key: String(i), doc: d, path: `$.${k}[${i}]` }));
    }
    const entries = Object.entries(doc);
    if (entries.length > 0 && entries.every(([, v]) => isObj(v) && 'configs' in v)) return entries.map(([k, v]) => ({ key: k, doc: v, path: `$[${JSON.stringify(k)}]` }));
  }
  return null;
}

/**
 * Parses every dump found in the documents of one file. With `explicit` (a file the user named), an empty
 * resource list `[]` (an RDS/LDS file with nothing in it) loads as an empty dump with a warning; in a
 * directory walk it is not taken for a config.
 */
export function dumpsFromDocuments(docs: unknown[], file: string, opts: { explicit?: boolean } = {}): ParsedConfigDump[] {
  const out: ParsedConfigDump[] = [];
  const multi = docs.length > 1;
  docs.forEach((doc, di) => {
    const base = multi ? `${file}#${di}` : file;
    if (isSingleDump(doc) || (opts.explicit && Array.isArray(doc) && doc.length === 0)) {
      out.push(parseConfigDump(doc, base));
      return;
    }
    const bare = opts.explicit ? bareFilterListener(doc) : null;
    if (bare) {
      const d = parseConfigDump([bare.listener], base);
      d.notUnderstood.push({ path: '$', kind: 'bare_filter', name: bare.filterName, note: `a bare ${bare.kind} RBAC filter, not a listener: shown on a synthetic listener "${BARE_LISTENER}" with no address, port or TLS facts (check decides requests against it directly)` });
      out.push(d);
      return;
    }
    const entries = bundleEntries(doc);
    if (entries) {
      for (const e of entries) {
        try {
          out.push(parseConfigDump(e.doc, `${base}#${e.key}`));
        } catch (err) {
          if (err instanceof InputError) {
            // Re-anchor the path inside the bundle.
            const p = (err.location.path ?? '$').replace(/^\$/, e.path);
            throw new InputError({ ...err.location, file, path: p }, err.expected, err.found);
          }
          throw err;
        }
      }
      return;
    }
    // Not a dump: let the parser produce the precise "expected …, found …" error.
    parseConfigDump(doc, file);
    throw new InputError({ file, path: '$' }, 'an Envoy config dump', describeValue(doc));
  });
  return out;
}

const BARE_LISTENER = '(bare filter)';
const RBAC_TYPES: Record<string, 'http' | 'network'> = {
  'envoy.extensions.filters.http.rbac.v3.RBAC': 'http',
  'envoy.config.filter.http.rbac.v2.RBAC': 'http',
  'envoy.extensions.filters.network.rbac.v3.RBAC': 'network',
  'envoy.config.filter.network.rbac.v2.RBAC': 'network',
};

/**
 * A bare RBAC filter as Envoy's tests and issues show it (`{name, typed_config: {@type: …rbac…}}`, or the
 * typed config alone), wrapped in a synthetic listener so `policies`/`report` can list it; null otherwise.
 */
function bareFilterListener(doc: unknown): { listener: Record<string, unknown>; kind: 'http' | 'network'; filterName: string } | null {
  if (!isObj(doc)) return null;
  const tc = isObj(doc.typed_config) ? doc.typed_config : isObj(doc.typedConfig) ? doc.typedConfig : '@type' in doc ? doc : null;
  if (!tc) return null;
  let t = String(tc['@type'] ?? '').replace(/^.*\//, '');
  if (/\.TypedStruct$/.test(t)) t = String(tc.type_url ?? tc.typeUrl ?? '').replace(/^.*\//, '');
  const kind = RBAC_TYPES[t];
  if (!kind) return null;
  const filterName = typeof doc.name === 'string' && tc !== doc ? doc.name : `envoy.filters.${kind}.rbac`;
  const filter = { name: filterName, typed_config: tc };
  const chain =
    kind === 'network'
      ? { filters: [filter] }
      : {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', stat_prefix: 'bare', http_filters: [filter] },
            },
          ],
        };
  return { listener: { name: BARE_LISTENER, filter_chains: [chain] }, kind, filterName };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) appendAll(out, await listFiles(p));
    else if (e.isFile() && /\.(json|ya?ml)(\.(gz|zst))?$/i.test(e.name)) out.push(p);
  }
  return out;
}

/**
 * Loads dumps from files or directories (`-` reads standard input). Explicit files that are not dumps throw InputError; files in
 * directories that are not dumps are reported in `diagnostics` and skipped. Per-resource problems inside a
 * dump (a malformed listener) are reported in `diagnostics` and that resource is skipped.
 */
export async function loadConfigDumps(paths: string[]): Promise<{ dumps: ConfigDump[]; diagnostics: Diagnostic[] }> {
  const dumps: ConfigDump[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const p of paths) {
    if (p === '-') {
      const parsed = dumpsFromDocuments(parseStructured(await readWholeFile('-'), '<stdin>'), '<stdin>', { explicit: true });
      for (const d of parsed) {
        appendAll(diagnostics, d.diagnostics);
        dumps.push(d);
      }
      continue;
    }
    const st = await stat(p);
    if (st.isDirectory()) {
      const files = await listFiles(p);
      let found = 0;
      for (const f of files) {
        try {
          const parsed = dumpsFromDocuments(await readStructuredFile(f), f);
          for (const d of parsed) {
            appendAll(diagnostics, d.diagnostics);
            dumps.push(d);
          }
          found += parsed.length;
        } catch (err) {
          if (err instanceof InputError) diagnostics.push({ severity: 'warning', location: err.location, message: `${err.message} (file skipped: not a config dump)` });
          else throw err;
        }
      }
      if (found === 0) throw new InputError({ file: p }, 'a directory containing at least one Envoy config dump (.json/.yaml)', files.length ? `${files.length} JSON/YAML files, none of them a config dump` : 'no JSON/YAML files');
    } else {
      const parsed = dumpsFromDocuments(await readStructuredFile(p), p, { explicit: true });
      if (parsed.length === 0) throw new InputError({ file: p }, 'an Envoy config dump', 'an empty document');
      for (const d of parsed) {
        appendAll(diagnostics, d.diagnostics);
        dumps.push(d);
      }
    }
  }
  return { dumps, diagnostics };
}
