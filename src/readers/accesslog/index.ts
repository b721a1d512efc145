/**
 * Access-log reader: Envoy text formats (built-in or any format string), JSON logs, `kubectl logs`
 * output (with `--prefix` and/or `--timestamps`), and saved ALS NDJSON from `meshsleuth collect`.
 * Streams line by line with bounded memory; a line that does not fit is counted and reported
 * with file:line (the first few kept), and reading continues.
 */
import type { Readable } from 'node:stream';
import type { JsonValue } from '../../model/attrs.js';
import type { Diagnostic } from '../../model/errors.js';
import { InputError } from '../../model/errors.js';
import type { AccessRecord } from '../../model/records.js';
import { BUILTIN_FORMATS, builtinFormat } from './builtin.js';
import { FormatError, TextFormat } from './format.js';
import { JsonFieldError, JsonFormat, JsonRecordBuilder } from './json.js';
import { buildRecord, planFor, type RecordPlan } from './record.js';
import { AlsFieldError, alsLineToRecord, isAlsLine, MAX_LOG_LINE_LENGTH } from './als.js';
import { openInputStream } from '../files.js';
import { parseZtunnelLine, ztunnelRecord, type ZtunnelLine } from './ztunnel.js';

export { TextFormat, FormatError, tokenizeFormat, splitAddress } from './format.js';
export { BUILTIN_FORMATS, ISTIO_TEXT, ISTIO_TEXT_1_9, ISTIO_TEXT_PRE_1_9, ENVOY_DEFAULT, ISTIO_JSON } from './builtin.js';
export { ATTR } from './record.js';
export { alsEntryToRecord, alsLineToRecord, alsTypes, type AlsLine } from './als.js';
export { parseZtunnelLine, classifyZtunnelError, ztunnelRecord, parseKeyValues, ZTUNNEL_ACCESS_MESSAGES } from './ztunnel.js';

export interface LogInput {
  path: string;
  stream: Readable;
}

export interface ReadStats {
  files: number;
  lines: number;
  records: number;
  /** Lines that looked like access-log entries (or JSON) but did not fit any format. */
  skipped: number;
  /** Lines that are the proxy's own logs (`info`/`warn` lines in `kubectl logs istio-proxy`). */
  other: number;
  /** Records per format name. */
  formats: Record<string, number>;
  /** The first few skipped lines, with file:line. */
  diagnostics: Diagnostic[];
  /** ztunnel access-scope lines with a message this reader does not know, by message (counted, never dropped silently). */
  ztunnelUnknown: Record<string, number>;
}

export interface ReadOptions {
  /** A built-in format name (`istio`, `istio-1.9`, `istio-pre-1.9`, `envoy`, `istio-json`, `json`) or a format string (text or a JSON object). */
  format?: string;
  /** Filled while reading. */
  stats?: ReadStats;
  /** Called for every skipped line. */
  onDiagnostic?: (d: Diagnostic) => void;
  /** How many diagnostics to keep in stats (default 5). */
  maxDiagnostics?: number;
  /** Longest line accepted (default MAX_LOG_LINE_LENGTH, the collector's own limit); longer lines are skipped and reported. */
  maxLineLength?: number;
  /**
   * The line number of the first line read (default 1): a byte range of a file read on its own (the
   * parallel `explain`, src/cli/explain-run.ts) numbers its lines as the whole file would.
   */
  firstLine?: number;
  /**
   * Only ztunnel records are wanted (the waypoint callers' pre-pass, src/cli/explain-run.ts): lines that are
   * not ztunnel lines are passed over unparsed and uncounted (the stats then describe the ztunnel lines only).
   */
  ztunnelOnly?: boolean;
}

export function newStats(): ReadStats {
  return { files: 0, lines: 0, records: 0, skipped: 0, other: 0, formats: {}, diagnostics: [], ztunnelUnknown: {} };
}

interface CompiledText {
  name: string;
  format: TextFormat;
  plan: RecordPlan;
  /** Records read with this format not yet added to stats.formats. */
  count: number;
}

function compileText(name: string, text: string): CompiledText {
  const format = new TextFormat(text, name);
  return { name, format, plan: planFor(format.operators), count: 0 };
}

/** Resolves `--log-format`: a built-in name, a JSON format object, or a text format string. */
export function resolveFormat(spec: string | undefined): { text?: CompiledText[]; json?: JsonFormat | null; auto: boolean } {
  if (spec === undefined || spec === '' || spec === 'auto') {
    const text = BUILTIN_FORMATS.filter((f) => f.kind === 'text' && f.name !== 'istio-1.9').map((f) => compileText(f.name, f.text!));
    return { text, json: null, auto: true };
  }
  if (spec === 'json') return { json: null, auto: false };
  const b = builtinFormat(spec);
  if (b) return b.kind === 'text' ? { text: [compileText(b.name, b.text!)], auto: false } : { json: new JsonFormat(b.json!, b.name), auto: false };
  const trimmed = spec.trim();
  if (trimmed.startsWith('{')) {
    let obj: unknown;
    try {
      obj = JSON.parse(trimmed);
    } catch (e) {
      throw new InputError({ path: '--log-format' }, 'a JSON format object', (e as Error).message);
    }
    return { json: new JsonFormat(obj as Record<string, unknown>, 'custom-json'), auto: false };
  }
  if (!trimmed.includes('%')) {
    throw new InputError({ path: '--log-format' }, `a format name (${BUILTIN_FORMATS.map((f) => f.name).join(', ')}, json) or an Envoy format string with %OPERATORS%`, JSON.stringify(spec));
  }
  try {
    return { text: [compileText('custom', spec)], auto: false };
  } catch (e) {
    if (e instanceof FormatError) throw new InputError({ path: '--log-format' }, 'a format string whose values can be told apart', e.message);
    throw e;
  }
}

const KUBECTL_TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) /;
/** istio-proxy / pilot-agent own log lines, and Envoy's own `[time][thread][level]` lines. */
const OWN_LOG = /^(?:\S+\t(?:trace|debug|info|warn|warning|error|critical|fatal)\t|\[\d{4}-[^\]]*\]\[\d+\]\[(?:trace|debug|info|warning|error|critical)\])/;

/** Splits a stream into lines (without the terminator), a chunk's worth at a time; `null` = a line over maxLen. */
async function* lineBatches(stream: Readable, maxLen: number): AsyncGenerator<(string | null)[]> {
  stream.setEncoding('utf8');
  let buf = '';
  let overflow = false;
  for await (const chunk of stream as AsyncIterable<string>) {
    const out: (string | null)[] = [];
    let start = 0;
    let nl = chunk.indexOf('\n');
    if (nl < 0) {
      if (overflow) continue;
      buf += chunk;
      if (buf.length > maxLen) {
        overflow = true;
        buf = '';
      }
      continue;
    }
    while (nl >= 0) {
      if (overflow) {
        overflow = false;
        buf = '';
        out.push(null);
      } else {
        let line = buf.length ? buf + chunk.slice(start, nl) : chunk.slice(start, nl);
        buf = '';
        if (line.length > maxLen) out.push(null);
        else {
          if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
          out.push(line);
        }
      }
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (start < chunk.length && !overflow) {
      buf = chunk.slice(start);
      if (buf.length > maxLen) {
        overflow = true;
        buf = '';
      }
    }
    yield out;
  }
  if (overflow) yield [null];
  else if (buf.length) yield [buf.charCodeAt(buf.length - 1) === 13 ? buf.slice(0, -1) : buf];
}

/**
 * Reads access-log entries from files or streams, one AccessRecord per entry. Never throws for a
 * bad line (counted in `opts.stats`); throws InputError only for an unusable `--log-format`, and
 * file-system errors for unreadable paths.
 */
export async function* readAccessLogs(inputs: string[] | LogInput | LogInput[] | string, opts: ReadOptions = {}): AsyncGenerator<AccessRecord> {
  for await (const batch of readAccessLogBatches(inputs, opts)) yield* batch;
}

/** Like readAccessLogs, a chunk's worth of records at a time (cheaper for consumers that loop over many records). */
export async function* readAccessLogBatches(inputs: string[] | LogInput | LogInput[] | string, opts: ReadOptions = {}): AsyncGenerator<AccessRecord[]> {
  const list: (string | LogInput)[] = typeof inputs === 'string' ? [inputs] : Array.isArray(inputs) ? inputs : [inputs];
  const fmt = resolveFormat(opts.format);
  const stats = opts.stats ?? newStats();
  const maxDiag = opts.maxDiagnostics ?? 5;
  const maxLen = opts.maxLineLength ?? MAX_LOG_LINE_LENGTH;
  const jsonBuilder = new JsonRecordBuilder(fmt.json ?? null);
  let candidates = fmt.text ? [...fmt.text] : [];
  const ztunnelOnly = opts.ztunnelOnly === true;

  const skip = (file: string, line: number, message: string): void => {
    stats.skipped++;
    const d: Diagnostic = { severity: 'warning', location: { file, line }, message };
    if (stats.diagnostics.length < maxDiag) stats.diagnostics.push(d);
    opts.onDiagnostic?.(d);
  };

  const flushCounts = (): void => {
    for (const c of fmt.text ?? []) {
      if (c.count) stats.formats[c.name] = (stats.formats[c.name] ?? 0) + c.count;
      c.count = 0;
    }
  };
  try {
    for (const input of list) {
      const file = typeof input === 'string' ? input : input.path;
      const stream = typeof input === 'string' ? await openInputStream(input, 'access-log data') : input.stream;
      stats.files++;
      let lineNo = (opts.firstLine ?? 1) - 1;
      // Pretty-printed JSON objects spanning several lines are gathered (bounded) and parsed once complete.
      let pending: string[] | null = null;
      let pendingStart = 0;
      let pendingLen = 0;
      let out: AccessRecord[] = [];
      for await (const batch of lineBatches(stream, maxLen)) {
        if (out.length) {
          yield out;
          out = [];
        }
        for (const raw of batch) {
          lineNo++;
          stats.lines++;
          if (raw === null) {
            skip(file, lineNo, `line longer than ${maxLen} characters`);
            continue;
          }
          let line = raw;
          let node: string | undefined;
          if (pending) {
            pending.push(line);
            pendingLen += line.length;
            if (line.startsWith('}')) {
              const text = pending.join('\n');
              const start = pendingStart;
              pending = null;
              if (ztunnelOnly) continue; // a multi-line JSON object is never a ztunnel line
              const rec = parseJsonEntry(text, file, start, jsonBuilder);
              if (rec === null || typeof rec === 'string') skip(file, start, rec ?? 'multi-line JSON object does not parse');
              else {
                stats.records++;
                stats.formats[rec.format ?? 'json'] = (stats.formats[rec.format ?? 'json'] ?? 0) + 1;
                out.push(rec);
              }
            } else if (pending.length > 10_000 || pendingLen > maxLen) {
              skip(file, pendingStart, 'unterminated multi-line JSON object');
              pending = null;
            }
            continue;
          }
          // kubectl logs --prefix: "[pod/<name>/<container>] "
          if (line.charCodeAt(1) === 112 /* p */ && line.startsWith('[pod/')) {
            const close = line.indexOf('] ');
            if (close > 0) {
              const parts = line.slice(1, close).split('/');
              node = parts[1];
              line = line.slice(close + 2);
            }
          }
          // ztunnel (ambient) lines, told apart by content: plain, JSON or pre-1.22 span lines.
          const z0 = line.charCodeAt(0);
          let zt: ZtunnelLine | null = (z0 >= 48 && z0 <= 57) || z0 === 123 ? parseZtunnelLine(line) : null;
          // kubectl logs --timestamps: "<RFC3339Nano> "
          const c0 = line.charCodeAt(0);
          if (!zt && c0 >= 48 && c0 <= 57 && KUBECTL_TS.test(line)) {
            line = line.slice(line.indexOf(' ') + 1);
            const z1 = line.charCodeAt(0);
            if ((z1 >= 48 && z1 <= 57) || z1 === 123) zt = parseZtunnelLine(line);
          }
          if (zt) {
            if (zt.type === 'access') {
              const rec = ztunnelRecord(zt, { file, line: lineNo });
              if (node) rec.node = node;
              stats.records++;
              stats.formats[zt.format] = (stats.formats[zt.format] ?? 0) + 1;
              out.push(rec);
            } else if (zt.type === 'unknown-access') {
              stats.ztunnelUnknown[zt.message] = (stats.ztunnelUnknown[zt.message] ?? 0) + 1;
              skip(file, lineNo, `ztunnel access line with an unknown message "${zt.message}"`);
            } else stats.other++;
            continue;
          }
          if (line.length === 0) continue;
          const f0 = line.charCodeAt(0);
          if ((f0 === 32 || f0 === 9) && line.trim().length === 0) continue;

          if (line.charCodeAt(0) === 123 /* { */) {
            if (line === '{' || line.trimEnd() === '{') {
              pending = [line];
              pendingStart = lineNo;
              pendingLen = line.length;
              continue;
            }
            if (ztunnelOnly) continue; // a JSON line that is not ztunnel's
            const rec = parseJsonEntry(line, file, lineNo, jsonBuilder);
            if (rec === null || typeof rec === 'string') {
              skip(file, lineNo, rec ?? 'line starts with "{" but is not a JSON object');
              continue;
            }
            if (node) rec.node = node;
            stats.records++;
            stats.formats[rec.format ?? 'json'] = (stats.formats[rec.format ?? 'json'] ?? 0) + 1;
            out.push(rec);
            continue;
          }
          if (ztunnelOnly) continue; // an Envoy text line (or none)
          if (candidates.length === 0) {
            if (OWN_LOG.test(line)) stats.other++;
            else skip(file, lineNo, `not a JSON object (--log-format ${opts.format ?? 'json'})`);
            continue;
          }
          let hit: CompiledText | undefined;
          let parsed = null;
          for (let i = 0; i < candidates.length; i++) {
            const c = candidates[i]!;
            parsed = c.format.parse(line);
            if (parsed) {
              hit = c;
              if (i > 0 && fmt.auto) {
                // Keep the format that fits first in line for the next lines.
                candidates = [c, ...candidates.filter((x) => x !== c)];
              }
              break;
            }
          }
          if (!hit || !parsed) {
            if (OWN_LOG.test(line)) stats.other++;
            else skip(file, lineNo, fmt.auto ? `does not fit any known access-log format (${candidates.map((c) => c.name).join(', ')}); pass --log-format` : `does not fit the format "${candidates[0]!.format.source.trim()}"`);
            continue;
          }
          const rec = buildRecord(hit.plan, parsed.values, { file, line: lineNo }, parsed.extra, parsed.list);
          rec.format = hit.name;
          if (node) rec.node = node;
          stats.records++;
          hit.count++;
          out.push(rec);
        }
      }
      if (pending) skip(file, pendingStart, 'unterminated multi-line JSON object at end of file');
      if (out.length) yield out;
      flushCounts();
    }
  } finally {
    flushCounts();
  }
}

/** The record, null when the text is not a JSON object, or why an ALS entry could not be read. */
function parseJsonEntry(text: string, file: string, line: number, builder: JsonRecordBuilder): AccessRecord | string | null {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return null;
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return null;
  const o = obj as Record<string, JsonValue>;
  if (isAlsLine(o)) {
    try {
      return alsLineToRecord(o, { file, line });
    } catch (e) {
      return e instanceof AlsFieldError ? `ALS entry: ${e.message}` : `ALS entry could not be read: ${(e as Error).message}`;
    }
  }
  try {
    return builder.build(o, { file, line });
  } catch (e) {
    if (e instanceof JsonFieldError) return e.message;
    throw e;
  }
}

/** Content sniffing for `report`: does this text sample look like an access log we can read? */
export function isAccessLog(sample: string | Buffer): boolean {
  const text = typeof sample === 'string' ? sample : sample.toString('utf8');
  const fmt = resolveFormat(undefined);
  const builder = new JsonRecordBuilder(null);
  let good = 0;
  let bad = 0;
  if (/^\s*\{\s*\n/.test(text)) {
    // a pretty-printed JSON entry (as documentation and `jq .` show them)
    const end = text.search(/\n\}\s*(\n|$)/);
    if (end > 0) {
      const r = parseJsonEntry(text.slice(0, end + 2), '', 0, builder);
      if ((typeof r === 'string' && r.startsWith('ALS entry')) || (r !== null && typeof r !== 'string' && (r.format === 'als' || looksLikeAccessJson(r)))) return true;
    }
  }
  const ls = text.split('\n');
  if (!text.endsWith('\n') && ls.length > 1) ls.pop(); // last line may be cut by the sample
  for (let raw of ls.slice(0, 50)) {
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw.startsWith('[pod/')) {
      const c = raw.indexOf('] ');
      if (c > 0) raw = raw.slice(c + 2);
    }
    let zt = parseZtunnelLine(raw);
    if (!zt && KUBECTL_TS.test(raw)) {
      raw = raw.slice(raw.indexOf(' ') + 1);
      zt = parseZtunnelLine(raw);
    }
    if (zt) {
      if (zt.type !== 'other') good++;
      continue;
    }
    if (!raw.trim() || OWN_LOG.test(raw)) continue;
    if (raw.startsWith('{')) {
      const r = parseJsonEntry(raw, '', 0, builder);
      // an ALS line whose entry cannot be read is still an ALS line (its diagnostic comes when it is read)
      if ((typeof r === 'string' && r.startsWith('ALS entry')) || (r !== null && typeof r !== 'string' && (r.format === 'als' || looksLikeAccessJson(r)))) good++;
      else bad++;
      continue;
    }
    if (fmt.text!.some((c) => c.format.parse(raw) !== null)) good++;
    else bad++;
  }
  return good > 0 && good >= bad;
}

function looksLikeAccessJson(r: AccessRecord): boolean {
  const f = r.fields;
  let hits = 0;
  for (const k of ['START_TIME', 'RESPONSE_CODE', 'DOWNSTREAM_REMOTE_ADDRESS', 'DOWNSTREAM_LOCAL_ADDRESS', 'REQ(:METHOD)', 'RESPONSE_FLAGS', 'BYTES_SENT', 'UPSTREAM_HOST']) {
    if (k in f) hits++;
  }
  return hits >= 3;
}
