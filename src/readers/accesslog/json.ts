/**
 * JSON access logs (`json_format` / `typed_json_format`, Istio's JSON encoding, Envoy Gateway's
 * default): each key is mapped back to the operator that produced it — from the format when we
 * have it, otherwise from known key names or keys that spell an operator (`DOWNSTREAM_PEER_URI_SAN`).
 */
import type { JsonValue } from '../../model/attrs.js';
import type { AccessRecord, EvidenceRef } from '../../model/records.js';
import { isIP } from 'node:net';
import { looksLikeAddress, makeOperator, tokenizeFormat, type FormatOperator } from './format.js';
import { KNOWN_JSON_KEYS } from './builtin.js';
import { buildRecord, planFor, type RecordPlan } from './record.js';

/** Operator of a single-operator format value (`"%REQ(:METHOD)%"`), else null. */
export function singleOperator(format: string): FormatOperator | null {
  const segs = tokenizeFormat(format);
  if (segs.length !== 3) return null;
  const a = segs[0] as { lit?: string };
  const c = segs[2] as { lit?: string };
  if (a.lit !== '' || c.lit !== '') return null;
  return (segs[1] as { op: FormatOperator }).op;
}

/** A compiled JSON format: flattened key path (`a.b`) → operator. */
export class JsonFormat {
  readonly name: string;
  readonly keys: Map<string, FormatOperator | null>;
  constructor(spec: Record<string, unknown>, name = 'json') {
    this.name = name;
    this.keys = new Map();
    const walk = (obj: Record<string, unknown>, prefix: string): void => {
      for (const [k, v] of Object.entries(obj)) {
        const path = prefix ? `${prefix}.${k}` : k;
        if (typeof v === 'string') this.keys.set(path, singleOperator(v));
        else if (v && typeof v === 'object' && !Array.isArray(v)) walk(v as Record<string, unknown>, path);
      }
    };
    walk(spec, '');
  }
}

const OPERATOR_NAME = /^[A-Z][A-Z0-9_]*(\(.*\))?$/;

/** Operator for a key with no format: known names, then keys spelled as operators, then header-like keys. */
export function operatorForKey(key: string): FormatOperator | null {
  const known = KNOWN_JSON_KEYS[key];
  if (known) return singleOperator(known);
  if (OPERATOR_NAME.test(key)) {
    const m = /^([A-Z0-9_]+)(?:\((.*)\))?$/.exec(key)!;
    return makeOperator(m[1]!, m[2]);
  }
  const upper = key.toUpperCase();
  if (/^[a-z0-9_]+$/.test(key)) {
    const op = makeOperator(upper);
    if (op.type !== 'text' || PLAIN_TEXT_OPS.has(upper)) return op;
  }
  if (key.startsWith(':') || key.includes('-')) return makeOperator('REQ', key.toUpperCase());
  return null;
}

const PLAIN_TEXT_OPS = new Set([
  'DOWNSTREAM_PEER_URI_SAN', 'DOWNSTREAM_PEER_DNS_SAN', 'DOWNSTREAM_PEER_SUBJECT', 'DOWNSTREAM_PEER_ISSUER',
  'DOWNSTREAM_LOCAL_URI_SAN', 'UPSTREAM_TRANSPORT_FAILURE_REASON', 'DOWNSTREAM_TRANSPORT_FAILURE_REASON',
  'UPSTREAM_PEER_URI_SAN', 'STREAM_ID',
]);

function flatten(obj: Record<string, JsonValue>, prefix: string, out: [string, JsonValue][]): void {
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, JsonValue>, path, out);
    else out.push([path, v]);
  }
}

/** A JSON log field whose value does not have its operator's type (`"response_code": "abc"`). */
export class JsonFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonFieldError';
  }
}

/** Why a JSON value does not fit its operator's type, or null when it does (Envoy writes numbers as numbers, the rest as strings). */
function misfit(op: FormatOperator, v: JsonValue): string | null {
  if (v === null) return null;
  switch (op.type) {
    case 'int':
      if (typeof v === 'number' ? Number.isInteger(v) && v >= 0 : typeof v === 'string' && /^\d{1,16}$/.test(v)) return null;
      return 'a whole number';
    case 'address':
      return typeof v === 'string' && (v === '' || looksLikeAddress(v) || isIP(v) !== 0) ? null : 'an address (ip:port)';
    case 'time':
      if (op.arg !== undefined) return null;
      return typeof v === 'string' && /^\d{4}-\d\d-\d\dT/.test(v) && !Number.isNaN(Date.parse(v)) ? null : 'an RFC 3339 time';
    case 'token':
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? null : 'a string';
    default:
      return null;
  }
}

/** Converts one parsed JSON log object into a record; caches plans by key signature. */
export class JsonRecordBuilder {
  private readonly format: JsonFormat | null;
  private readonly plans = new Map<string, { plan: RecordPlan; map: (FormatOperator | null)[] }>();
  constructor(format: JsonFormat | null) {
    this.format = format;
  }

  build(obj: Record<string, JsonValue>, ref: EvidenceRef): AccessRecord {
    const pairs: [string, JsonValue][] = [];
    flatten(obj, '', pairs);
    const sig = pairs.map((p) => p[0]).join('\u0000');
    let entry = this.plans.get(sig);
    if (!entry) {
      const map = pairs.map(([k]) => (this.format ? this.format.keys.get(k) ?? operatorForKey(k) : operatorForKey(k)));
      const ops = map.filter((o): o is FormatOperator => o !== null);
      entry = { plan: planFor(ops), map };
      if (this.plans.size < 1000) this.plans.set(sig, entry);
    }
    const values: Record<string, JsonValue> = {};
    for (let i = 0; i < pairs.length; i++) {
      const op = entry.map[i];
      const v = pairs[i]![1];
      const why = op && v !== '-' ? misfit(op, v) : null;
      if (why) throw new JsonFieldError(`field ${JSON.stringify(pairs[i]![0])} (%${op!.key}%): expected ${why}, found ${JSON.stringify(v).slice(0, 60)}`);
      values[op ? op.key : pairs[i]![0]] = v === '-' ? null : v;
    }
    const rec = buildRecord(entry.plan, values, ref);
    rec.format = this.format?.name ?? 'json';
    return rec;
  }
}
