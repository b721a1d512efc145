/**
 * Envoy access-log format strings: compile a format (`[%START_TIME%] "%REQ(:METHOD)% ..."`) into a
 * parser for the lines it writes. Operator syntax follows Envoy's substitution formatter
 * (`source/common/formatter/substitution_formatter.*`): `%COMMAND%`, `%COMMAND(arg)%`,
 * `%COMMAND(arg):Z%` with Z a maximum length; `-` is written for an absent value.
 */
import type { JsonValue } from '../../model/attrs.js';

export interface FormatOperator {
  /** Canonical key used in `AccessRecord.fields`, e.g. `REQ(:METHOD)`, `DYNAMIC_METADATA(ns:key)`. */
  key: string;
  command: string;
  arg?: string;
  /** For REQ/RESP/TRAILER: the header and its alternative (`X?Y`), lower-cased. */
  headers?: string[];
  /** For DYNAMIC_METADATA / FILTER_STATE / CLUSTER_METADATA etc.: namespace and path. */
  namespace?: string;
  path?: string[];
  /** `:Z` truncation length. */
  maxLength?: number;
  /** What kind of value to expect (for validation while parsing). */
  type: ValueType;
}

export type ValueType = 'int' | 'address' | 'time' | 'token' | 'text';

export type Segment = { lit: string } | { op: FormatOperator };

/** Numeric operators (Envoy writes integers; `-` when absent). */
const INT_OPS = new Set([
  'RESPONSE_CODE', 'BYTES_RECEIVED', 'BYTES_SENT', 'DURATION', 'REQUEST_DURATION', 'REQUEST_TX_DURATION',
  'RESPONSE_DURATION', 'RESPONSE_TX_DURATION', 'UPSTREAM_WIRE_BYTES_SENT', 'UPSTREAM_WIRE_BYTES_RECEIVED',
  'DOWNSTREAM_WIRE_BYTES_SENT', 'DOWNSTREAM_WIRE_BYTES_RECEIVED', 'UPSTREAM_HEADER_BYTES_SENT',
  'UPSTREAM_HEADER_BYTES_RECEIVED', 'DOWNSTREAM_HEADER_BYTES_SENT', 'DOWNSTREAM_HEADER_BYTES_RECEIVED',
  'REQUEST_HEADERS_BYTES', 'RESPONSE_HEADERS_BYTES', 'RESPONSE_TRAILERS_BYTES', 'UPSTREAM_REQUEST_ATTEMPT_COUNT',
  'CONNECTION_ID', 'UPSTREAM_CONNECTION_ID', 'GRPC_STATUS_NUMBER', 'DOWNSTREAM_REMOTE_PORT', 'DOWNSTREAM_LOCAL_PORT',
  'DOWNSTREAM_DIRECT_REMOTE_PORT', 'UPSTREAM_LOCAL_PORT', 'UPSTREAM_REMOTE_PORT',
]);

const ADDRESS_OPS = new Set([
  'DOWNSTREAM_REMOTE_ADDRESS', 'DOWNSTREAM_LOCAL_ADDRESS', 'DOWNSTREAM_DIRECT_REMOTE_ADDRESS',
  'UPSTREAM_HOST', 'UPSTREAM_LOCAL_ADDRESS', 'UPSTREAM_REMOTE_ADDRESS',
]);

const TOKEN_OPS = new Set([
  'RESPONSE_FLAGS', 'RESPONSE_FLAGS_LONG', 'RESPONSE_CODE_DETAILS', 'CONNECTION_TERMINATION_DETAILS', 'PROTOCOL',
  'UPSTREAM_PROTOCOL', 'UPSTREAM_CLUSTER', 'UPSTREAM_CLUSTER_RAW', 'ROUTE_NAME', 'REQUESTED_SERVER_NAME',
  'DOWNSTREAM_TLS_VERSION', 'DOWNSTREAM_TLS_CIPHER', 'UPSTREAM_TLS_VERSION', 'HOSTNAME',
  'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT', 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT', 'UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT',
  'UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT', 'UPSTREAM_HOST_NAME',
]);

/** Parses one operator starting at `s[i] === '%'`; returns it and the index after the closing `%`, or null. */
function readOperator(s: string, i: number): { op: FormatOperator; end: number } | null {
  let j = i + 1;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    const isUpper = c >= 65 && c <= 90;
    const isDigit = c >= 48 && c <= 57;
    if (isUpper || isDigit || c === 95) j++;
    else break;
  }
  if (j === i + 1) return null;
  const command = s.slice(i + 1, j);
  let arg: string | undefined;
  if (s[j] === '(') {
    let depth = 1;
    let k = j + 1;
    for (; k < s.length && depth > 0; k++) {
      if (s[k] === '(') depth++;
      else if (s[k] === ')') depth--;
    }
    if (depth !== 0) return null;
    arg = s.slice(j + 1, k - 1);
    j = k;
  }
  let maxLength: number | undefined;
  if (s[j] === ':') {
    let k = j + 1;
    while (k < s.length && s.charCodeAt(k) >= 48 && s.charCodeAt(k) <= 57) k++;
    if (k === j + 1) return null;
    maxLength = Number(s.slice(j + 1, k));
    j = k;
  }
  if (s[j] !== '%') return null;
  return { op: makeOperator(command, arg, maxLength), end: j + 1 };
}

export function makeOperator(command: string, arg?: string, maxLength?: number): FormatOperator {
  const op: FormatOperator = { key: arg === undefined ? command : `${command}(${arg})`, command, type: 'text' };
  if (arg !== undefined) op.arg = arg;
  if (maxLength !== undefined) op.maxLength = maxLength;
  if (command === 'REQ' || command === 'RESP' || command === 'TRAILER' || command === 'REQUEST_HEADER' || command === 'RESPONSE_HEADER' || command === 'RESPONSE_TRAILER') {
    op.headers = (arg ?? '').split('?').map((h) => h.trim().toLowerCase()).filter(Boolean);
  } else if (arg !== undefined && /METADATA$|^FILTER_STATE$|^UPSTREAM_FILTER_STATE$/.test(command)) {
    // DYNAMIC_METADATA(NAMESPACE:KEY*), FILTER_STATE(KEY:F:FIELD_NAME)
    const parts = arg.split(':');
    if (command.endsWith('METADATA')) {
      op.namespace = parts[0];
      op.path = parts.slice(1);
    } else {
      op.namespace = parts[0];
      op.path = parts.slice(1);
    }
  }
  if (INT_OPS.has(command)) op.type = 'int';
  else if (ADDRESS_OPS.has(command)) op.type = 'address';
  else if (command === 'START_TIME' || command === 'SYSTEM_TIME' || command === 'EMIT_TIME') op.type = 'time';
  else if (TOKEN_OPS.has(command)) op.type = 'token';
  else if (command === 'RESP' && op.headers?.[0] === 'x-envoy-upstream-service-time') op.type = 'int';
  return op;
}

/** Splits a format string into literals and operators. A `%` that does not start an operator stays literal. */
export function tokenizeFormat(format: string): Segment[] {
  const segs: Segment[] = [];
  let lit = '';
  let i = 0;
  while (i < format.length) {
    const c = format[i];
    if (c === '%') {
      const r = readOperator(format, i);
      if (r) {
        segs.push({ lit });
        segs.push({ op: r.op });
        lit = '';
        i = r.end;
        continue;
      }
    }
    lit += c;
    i++;
  }
  segs.push({ lit });
  return segs;
}

/** One parsed line: values by operator key (`null` for `-`), plus trailing text the format did not describe. */
export interface ParsedLine {
  values: Record<string, JsonValue>;
  /** The same values in the order of the format's operators (`TextFormat.operators`), when no operator is repeated. */
  list?: JsonValue[];
  extra?: string;
}

interface Slot {
  op: FormatOperator;
  /** The literal that follows the operator. */
  next: string;
  /** Whether the value may contain spaces (quoted field, or not space-delimited). */
  spaces: boolean;
  last: boolean;
  /** Whether the value still needs the no-space check (typed values reject spaces themselves). */
  checkSpaces: boolean;
  /**
   * checkSpaces for a slot before the last whose literal is one space: its value, cut at the first space,
   * has none, so the check is left out.
   */
  checkSpacesCut: boolean;
  /** The literal's first character and whether `-` (absent) or, for integers, digits can be skipped over without a search. */
  next0: number;
  /** The literal is one character (its first character found is all of it). */
  next1: boolean;
  dashScan: boolean;
  digitScan: boolean;
  convert: (raw: string) => JsonValue | undefined;
  /** How the value is converted (K_*), switched on inline for the slots before the last. */
  kind: number;
}

const K_INT = 0;
const K_INT_HEADER = 1;
const K_ADDRESS = 2;
const K_TOKEN = 3;
const K_OTHER = 4;
/** `text` values: kept as logged. */
const K_TEXT = 5;
/** `time` values without a format argument: must start `YYYY-MM-DDT`. */
const K_ISO_TIME = 6;

function kindOf(op: FormatOperator): number {
  const header = op.command === 'RESP' || op.command === 'REQ';
  if (op.type === 'text') return K_TEXT;
  if (op.type === 'time' && op.arg === undefined) return K_ISO_TIME;
  return op.type === 'int' ? (header ? K_INT_HEADER : K_INT) : op.type === 'address' ? K_ADDRESS : op.type === 'token' ? K_TOKEN : K_OTHER;
}

/** `/^\d{4}-\d\d-\d\dT/.test(s.slice(start))` without the slice or the regular expression. */
function isoDateAt(s: string, start: number): boolean {
  for (let i = 0; i < 11; i++) {
    const c = s.charCodeAt(start + i);
    if (i === 4 || i === 7 ? c !== 45 /* - */ : i === 10 ? c !== 84 /* T */ : c < 48 || c > 57) return false;
  }
  return true;
}

/** A converter specialised for one operator (no per-line dispatch on the type). */
function converterFor(op: FormatOperator): (raw: string) => JsonValue | undefined {
  const header = op.command === 'RESP' || op.command === 'REQ';
  switch (op.type) {
    case 'int':
      return (raw) => (raw === '-' || raw === '' ? null : isDigits(raw) ? Number(raw) : header ? raw : undefined);
    case 'address':
      return (raw) => (raw === '-' || raw === '' ? null : looksLikeAddress(raw) ? raw : undefined);
    case 'token':
      return (raw) => (raw === '-' || raw === '' ? null : raw.indexOf('"') >= 0 ? undefined : raw);
    default:
      return (raw) => convertValue(op, raw);
  }
}

/** A compiled text format: `parse(line)` returns the values or null when the line does not fit. */
export class TextFormat {
  readonly source: string;
  readonly name: string;
  readonly operators: FormatOperator[];
  private readonly head: string;
  private readonly slots: Slot[];

  constructor(source: string, name = 'custom') {
    this.source = source;
    this.name = name;
    // Envoy formats usually end in "\n"; lines are read without it.
    const trimmed = source.replace(/(\\n|\n|\r)+$/, '');
    const segs = tokenizeFormat(trimmed);
    const first = segs[0] as { lit: string };
    this.head = first.lit;
    this.slots = [];
    this.operators = [];
    for (let i = 1; i < segs.length; i += 2) {
      const op = (segs[i] as { op: FormatOperator }).op;
      const prev = (segs[i - 1] as { lit: string }).lit;
      const next = (segs[i + 1] as { lit: string }).lit;
      const last = i + 2 >= segs.length;
      if (next === '' && !last) {
        throw new FormatError(`operators %${op.key}% and %${(segs[i + 2] as { op: FormatOperator }).op.key}% are adjacent with no literal between them, so their values cannot be told apart`);
      }
      const quoted = (prev.endsWith('"') && next.startsWith('"')) || (prev.endsWith("'") && next.startsWith("'"));
      const spaceDelimited = next === '' || /^\s/.test(next);
      const timeWithSpaces = op.type === 'time' && op.arg !== undefined && /\s/.test(op.arg);
      const spaces = quoted || !spaceDelimited || timeWithSpaces;
      const checkSpaces = !spaces && op.type !== 'int' && op.type !== 'address';
      const kind = kindOf(op);
      const next0 = next.charCodeAt(0);
      this.slots.push({
        op, next, spaces, last, checkSpaces, checkSpacesCut: checkSpaces && next !== ' ', convert: converterFor(op), kind,
        next0, next1: next.length === 1, dashScan: next !== '' && next0 !== 45, digitScan: next !== '' && (kind === K_INT || kind === K_INT_HEADER) && !(next0 >= 48 && next0 <= 57),
      });
      this.operators.push(op);
    }
    if (this.operators.length === 0) throw new FormatError('the format has no %OPERATOR% in it');
    // One object literal with the format's keys, so every parsed line gets the same fast object shape.
    const keys = this.slots.map((s) => s.op.key);
    const unique = keys.every((k, i) => keys.indexOf(k) === i);
    this.uniqueKeys = unique;
    this.makeValues = unique
      ? (new Function('a', `return {${keys.map((k, i) => `${JSON.stringify(k)}: a[${i}]`).join(', ')}};`) as (a: JsonValue[]) => Record<string, JsonValue>)
      : (a: JsonValue[]) => {
          const o: Record<string, JsonValue> = {};
          keys.forEach((k, i) => (o[k] = a[i]!));
          return o;
        };
    this.compiled = compileParser(this.head, this.slots, keys, unique, this.makeValues);
  }

  /** The parser generated for this format (`compileParser`); `parse` runs it. */
  private readonly compiled: (line: string) => ParsedLine | null;

  private readonly makeValues: (a: JsonValue[]) => Record<string, JsonValue>;
  /** Every operator key appears once (a repeated one keeps its last value in `values`). */
  private readonly uniqueKeys: boolean;

  /** Writes a line as Envoy would for these values (absent → `-`, truncated to `:Z`); for tests and generated inputs. */
  render(values: Record<string, JsonValue | undefined>): string {
    let out = this.head;
    for (const s of this.slots) {
      const v = values[s.op.key];
      let text = v === null || v === undefined || v === '' ? '-' : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
      if (s.op.maxLength !== undefined && text !== '-') text = text.slice(0, s.op.maxLength);
      out += text + s.next;
    }
    return out;
  }

  /** The values of a line this format wrote, or null when the line does not fit it. */
  parse(line: string): ParsedLine | null {
    return this.compiled(line);
  }

  /**
   * `parse` without the generated code: the same answer for every line (test/readers/accesslog/format-compiled.test.ts
   * compares them on mutated lines), one loop over the format's slots.
   */
  parseInterpreted(line: string): ParsedLine | null {
    if (!line.startsWith(this.head)) return null;
    let pos = this.head.length;
    const len = line.length;
    const values: JsonValue[] = new Array(this.slots.length);
    let extra: string | undefined;
    const slots = this.slots;
    for (let k = 0; k < slots.length; k++) {
      const s = slots[k]!;
      if (s.last) {
        const v = lastSlotValue(line, pos, s);
        if (v === undefined) return null;
        values[k] = v;
        extra = LAST.extra;
        continue;
      }
      // the value converted in place (no slice for a number or an absent value), no per-slot closure call.
      // The literal's first occurrence: right after a `-` or a run of digits when it is there (it cannot begin
      // inside them: its first character is neither), else searched for.
      let j = -1;
      const c0 = line.charCodeAt(pos);
      if (c0 === 45 /* - */) {
        if (s.dashScan && line.charCodeAt(pos + 1) === s.next0 && (s.next1 || line.startsWith(s.next, pos + 1))) j = pos + 1;
      } else if (s.digitScan && c0 >= 48 && c0 <= 57) {
        let e = pos + 1;
        for (let c = line.charCodeAt(e); c >= 48 && c <= 57; c = line.charCodeAt(++e));
        if (line.charCodeAt(e) === s.next0 && (s.next1 || line.startsWith(s.next, e))) j = e;
      }
      if (j < 0) j = line.indexOf(s.next, pos);
      if (j < 0) return null;
      const start = pos;
      pos = j + s.next.length;
      const n = j - start;
      if (n === 0 || (n === 1 && line.charCodeAt(start) === 45 /* - */)) {
        // absent: `-` (an empty text value stays '')
        values[k] = n === 0 && s.kind === K_TEXT ? '' : null;
        continue;
      }
      switch (s.kind) {
        case K_INT:
        case K_INT_HEADER: {
          let num = 0;
          let ok = n <= 16;
          for (let i = start; ok && i < j; i++) {
            const c = line.charCodeAt(i);
            if (c < 48 || c > 57) ok = false;
            else num = num * 10 + (c - 48);
          }
          if (ok) values[k] = n <= 15 ? num : Number(line.slice(start, j));
          else if (s.kind === K_INT_HEADER) values[k] = line.slice(start, j);
          else return null;
          break;
        }
        case K_ADDRESS: {
          const raw = line.slice(start, j);
          if (!addressLike(raw, s.next !== ' ')) return null;
          values[k] = raw;
          break;
        }
        case K_TOKEN: {
          const raw = line.slice(start, j);
          if (raw.indexOf('"') >= 0 || (s.checkSpacesCut && raw.indexOf(' ') >= 0)) return null;
          values[k] = raw;
          break;
        }
        case K_TEXT: {
          const raw = line.slice(start, j);
          if (s.checkSpacesCut && raw.indexOf(' ') >= 0) return null;
          values[k] = raw;
          break;
        }
        case K_ISO_TIME: {
          if (n < 11 || !isoDateAt(line, start) || (s.checkSpacesCut && line.slice(start, j).indexOf(' ') >= 0)) return null;
          values[k] = line.slice(start, j);
          break;
        }
        default: {
          const raw = line.slice(start, j);
          if (s.checkSpaces && raw.indexOf(' ') >= 0) return null;
          const v = convertValue(s.op, raw);
          if (v === undefined) return null;
          values[k] = v;
        }
      }
    }
    const r: ParsedLine = { values: this.makeValues(values), list: this.uniqueKeys ? values : undefined };
    if (extra !== undefined && extra.length > 0) r.extra = extra;
    return r;
  }
}

/** The `extra` text `lastSlotValue` found after the last value (the generated parser reads it right after the call). */
const LAST: { extra: string | undefined } = { extra: undefined };

/**
 * The last operator's value as `TextFormat.parseInterpreted` reads it (from `pos` to the end of the line, or to
 * the last occurrence of the format's closing literal, with any text after it, past one space, as `extra`):
 * undefined when the line does not fit. Sets LAST.extra.
 */
function lastSlotValue(line: string, pos: number, s: Slot): JsonValue | undefined {
  let raw: string;
  let extra: string | undefined;
  if (s.next === '') {
    raw = line.slice(pos);
    if (!s.spaces || s.op.type !== 'text') {
      const sp = raw.indexOf(' ');
      if (sp >= 0) {
        extra = raw.slice(sp + 1);
        raw = raw.slice(0, sp);
      }
    }
  } else {
    const end = line.lastIndexOf(s.next);
    if (end < pos) return undefined;
    const tail = line.slice(end + s.next.length);
    if (tail.length > 0) {
      if (tail[0] !== ' ') return undefined;
      extra = tail.slice(1);
    }
    raw = line.slice(pos, end);
  }
  if (s.checkSpaces && raw.indexOf(' ') >= 0) return undefined;
  LAST.extra = extra;
  return s.convert(raw);
}

/** A test that the literal `lit` starts at `at` (an expression) whose first character code is in `first`. */
function literalTest(lit: string, at: string, name: string, first: string): string {
  if (lit.length === 1) return `${first} === ${lit.charCodeAt(0)}`;
  return `${first} === ${lit.charCodeAt(0)} && line.startsWith(${name}, ${at})`;
}

/**
 * A parser generated for one format: the same answers as `TextFormat.parseInterpreted` (the same searches: `indexOf`
 * for each value's closing literal, after skipping over a `-` or a run of digits when the literal follows them), as
 * straight-line code: no loop over the slots, no per-slot dispatch, the values in locals (no array filled per
 * line), integers' digits read while they are skipped over.
 *
 * Safe with any format: the generated text holds only numbers, its own identifiers and the operator keys through
 * JSON.stringify (object literal keys, as `makeValues` already did); the literals are passed in as values. Log
 * lines are only data to it.
 */
function compileParser(head: string, slots: Slot[], keys: string[], unique: boolean, makeValues: (a: JsonValue[]) => Record<string, JsonValue>): (line: string) => ParsedLine | null {
  const lits: string[] = [];
  const body: string[] = [];
  if (head.length > 0) body.push(`if (!line.startsWith(L${lits.push(head) - 1})) return null;`);
  // q: the first `"` at or after the index it was searched from (-1: not searched yet; 2^31-1: none). There is
  // none between that index and q, so when q >= start, q is also the first `"` at or after start: the value
  // [start, j) holds one exactly when q < j, and one search serves the `"` checks of several values.
  body.push(`let pos = ${head.length}, j = 0, c = 0, e = 0, n = 0, start = 0, num = 0, digits = false, raw = '', q = -1;`);
  const noQuote = `if (q < start) { q = line.indexOf('"', start); if (q < 0) q = 2147483647; } if (q < j) return null;`;
  const vars = slots.map((_, k) => `v${k}`);
  body.push(`let ${vars.join(', ')};`);
  for (let k = 0; k < slots.length; k++) {
    const s = slots[k]!;
    const v = vars[k]!;
    if (s.last) {
      body.push(`${v} = lastSlotValue(line, pos, S[${k}]); if (${v} === undefined) return null; const extra = LAST.extra;`);
      continue;
    }
    const lit = `L${lits.push(s.next) - 1}`;
    const isInt = s.kind === K_INT || s.kind === K_INT_HEADER;
    body.push(`start = pos; j = -1; c = line.charCodeAt(pos);${isInt ? ' digits = false;' : ''}`);
    const scans: string[] = [];
    if (s.dashScan) scans.push(`if (c === 45) { if (${literalTest(s.next, 'pos + 1', lit, 'line.charCodeAt(pos + 1)')}) j = pos + 1; }`);
    if (s.digitScan) {
      // the digits' value as they are skipped over (exact up to 15 digits; longer runs are read by Number)
      scans.push(`if (c >= 48 && c <= 57) { num = c - 48; e = pos + 1; for (c = line.charCodeAt(e); c >= 48 && c <= 57; c = line.charCodeAt(++e)) num = num * 10 + (c - 48); if (${literalTest(s.next, 'e', lit, 'c')}) { j = e; digits = true; } }`);
    }
    if (scans.length) body.push(scans.join(' else '));
    body.push(`if (j < 0) { j = line.indexOf(${lit}, pos); if (j < 0) return null; }`);
    body.push(`pos = j + ${s.next.length}; n = j - start;`);
    const absent = s.kind === K_TEXT ? `n === 0 ? '' : null` : 'null';
    body.push(`if (n === 0 || (n === 1 && line.charCodeAt(start) === 45)) ${v} = ${absent};`);
    switch (s.kind) {
      case K_INT:
      case K_INT_HEADER: {
        const notDigits = s.kind === K_INT_HEADER ? `${v} = line.slice(start, j);` : 'return null;';
        body.push(`else if (digits && n <= 16) ${v} = n <= 15 ? num : Number(line.slice(start, j));`);
        body.push(`else { num = 0; let ok = n <= 16; for (let i = start; ok && i < j; i++) { c = line.charCodeAt(i); if (c < 48 || c > 57) ok = false; else num = num * 10 + (c - 48); } if (ok) ${v} = n <= 15 ? num : Number(line.slice(start, j)); else ${notDigits} }`);
        break;
      }
      case K_ADDRESS:
        body.push(`else { ${noQuote} ${v} = line.slice(start, j); if (${s.next !== ' ' ? `${v}.indexOf(' ') >= 0 || ` : ''}!addressShape(${v})) return null; }`);
        break;
      case K_TOKEN:
        body.push(`else { ${noQuote} ${v} = line.slice(start, j);${s.checkSpacesCut ? ` if (${v}.indexOf(' ') >= 0) return null;` : ''} }`);
        break;
      case K_TEXT:
        body.push(`else { ${v} = line.slice(start, j);${s.checkSpacesCut ? ` if (${v}.indexOf(' ') >= 0) return null;` : ''} }`);
        break;
      case K_ISO_TIME:
        body.push(`else if (n < 11 || !isoDateAt(line, start)) return null; else { ${v} = line.slice(start, j);${s.checkSpacesCut ? ` if (${v}.indexOf(' ') >= 0) return null;` : ''} }`);
        break;
      default:
        body.push(`else { raw = line.slice(start, j);${s.checkSpaces ? ` if (raw.indexOf(' ') >= 0) return null;` : ''} ${v} = convertValue(S[${k}].op, raw); if (${v} === undefined) return null; }`);
    }
  }
  body.push(`const list = [${vars.join(', ')}];`);
  body.push(unique ? `const r = { values: {${keys.map((key, i) => `${JSON.stringify(key)}: ${vars[i]}`).join(', ')}}, list };` : 'const r = { values: MV(list), list: undefined };');
  body.push('if (extra !== undefined && extra.length > 0) r.extra = extra;');
  body.push('return r;');
  const consts = lits.map((_, i) => `const L${i} = N[${i}];`).join('\n');
  const make = new Function('S', 'N', 'MV', 'LAST', 'lastSlotValue', 'addressShape', 'isoDateAt', 'convertValue', `'use strict';\n${consts}\nreturn function parseLine(line) {\n${body.join('\n')}\n};`);
  return make(slots, lits, makeValues, LAST, lastSlotValue, addressShape, isoDateAt, convertValue) as (line: string) => ParsedLine | null;
}

export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** Converts a raw text value for an operator; undefined = does not fit the operator's type. */
export function convertValue(op: FormatOperator, raw: string): JsonValue | undefined {
  if (raw === '-' || raw === '') return raw === '' && op.type === 'text' ? '' : null;
  switch (op.type) {
    case 'int': {
      if (!isDigits(raw)) return op.command === 'RESP' || op.command === 'REQ' ? raw : undefined;
      return Number(raw);
    }
    case 'address':
      return looksLikeAddress(raw) ? raw : undefined;
    case 'time':
      if (op.arg === undefined && !/^\d{4}-\d\d-\d\dT/.test(raw)) return undefined;
      return raw;
    case 'token':
      return raw.indexOf('"') >= 0 ? undefined : raw;
    default:
      return raw;
  }
}

function isDigits(s: string): boolean {
  if (s.length === 0 || s.length > 16) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** ip:port, [v6]:port, a bare v6 address with a port, tcp://ip:port, unix paths, envoy://internal. */
export function looksLikeAddress(s: string): boolean {
  return addressLike(s, true);
}

/** looksLikeAddress; `checkSpace` false when the caller knows `s` has no space (a value cut at one). */
function addressLike(s: string, checkSpace: boolean): boolean {
  if ((checkSpace && s.indexOf(' ') >= 0) || s.indexOf('"') >= 0) return false;
  return addressShape(s);
}

/** addressLike for a value known to hold no space and no `"`. */
function addressShape(s: string): boolean {
  let c0 = s.charCodeAt(0);
  if ((c0 === 116 /* t */ || c0 === 117 /* u */) && (s.startsWith('tcp://') || s.startsWith('udp://'))) {
    s = s.slice(6);
    c0 = s.charCodeAt(0);
  }
  if (c0 === 47 /* / */ || c0 === 64 /* @ */ || (c0 === 101 /* e */ && s.startsWith('envoy://'))) return true;
  // 1 to 16 digits after the last colon, which is not the first character: the digits read from the end
  // (lastIndexOf is a slow call here)
  let i = s.length - 1;
  for (; i >= 0; i--) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
  }
  const n = s.length - 1 - i;
  return i > 0 && s.charCodeAt(i) === 58 /* : */ && n >= 1 && n <= 16;
}

/** Splits `ip:port` / `[v6]:port` / `tcp://ip:port` into address and port. */
export function splitAddress(s: string): { address: string; port?: number } | null {
  let v = s;
  if (v.startsWith('tcp://') || v.startsWith('udp://')) v = v.slice(6);
  if (v.startsWith('[')) {
    const close = v.indexOf(']');
    if (close < 0) return null;
    const addr = v.slice(1, close);
    const rest = v.slice(close + 1);
    if (rest.startsWith(':') && isDigits(rest.slice(1))) return { address: addr, port: Number(rest.slice(1)) };
    return rest === '' ? { address: addr } : null;
  }
  const colon = v.lastIndexOf(':');
  if (colon < 0) return { address: v };
  const first = v.indexOf(':');
  const portStr = v.slice(colon + 1);
  if (first !== colon) {
    // Bare IPv6 with a trailing :port is ambiguous; Envoy brackets IPv6, so treat as an address without port.
    return { address: v };
  }
  if (!isDigits(portStr)) return { address: v };
  return { address: v.slice(0, colon), port: Number(portStr) };
}
