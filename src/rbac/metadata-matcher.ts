/**
 * envoy.type.matcher.v3.MetadataMatcher and ValueMatcher (source/common/common/matchers.cc,
 * source/common/config/metadata.cc): walk `filter_metadata[filter]` then `path[].key` through nested
 * Structs (keys are literal, dots included); a missing filter/key or a non-struct on the way gives an
 * unset value; the result is valueMatcher(value) XOR invert.
 */
import type { JsonValue } from '../model/attrs.js';
import { RbacConfigError } from './errors.js';
import { StringMatcher } from './string-matcher.js';
import { asArr, asObj, isObj, jp, oneof, optBool, optNum, optStr } from './cfg.js';
import { F, T, U, type Tri } from './tri.js';

/** `undefined` = unset Value (KIND_NOT_SET). */
export type MetaValue = JsonValue | undefined;

export interface ValueMatcher {
  match(v: MetaValue): Tri;
  describe(): string;
}

class NullMatcher implements ValueMatcher {
  match(v: MetaValue): Tri {
    return v === null ? T : F;
  }
  describe() {
    return 'null';
  }
}
class DoubleExactMatcher implements ValueMatcher {
  constructor(private readonly exact: number) {}
  match(v: MetaValue): Tri {
    return typeof v === 'number' && v === this.exact ? T : F;
  }
  describe() {
    return `number ${this.exact}`;
  }
}
class DoubleRangeMatcher implements ValueMatcher {
  constructor(private readonly start: number, private readonly end: number) {}
  match(v: MetaValue): Tri {
    return typeof v === 'number' && this.start <= v && v < this.end ? T : F;
  }
  describe() {
    return `number in [${this.start}, ${this.end})`;
  }
}
class StringValueMatcher implements ValueMatcher {
  constructor(readonly sm: StringMatcher) {}
  match(v: MetaValue): Tri {
    return typeof v === 'string' ? this.sm.match(v) : F;
  }
  describe() {
    return this.sm.describe();
  }
}
class BoolMatcher implements ValueMatcher {
  constructor(private readonly b: boolean) {}
  match(v: MetaValue): Tri {
    return typeof v === 'boolean' && v === this.b ? T : F;
  }
  describe() {
    return `bool ${this.b}`;
  }
}
class PresentMatcher implements ValueMatcher {
  constructor(private readonly present: boolean) {}
  match(v: MetaValue): Tri {
    return this.present && v !== undefined ? T : F;
  }
  describe() {
    return this.present ? 'present' : 'present_match: false (never matches)';
  }
}
class ListMatcher implements ValueMatcher {
  constructor(private readonly oneOf: ValueMatcher) {}
  match(v: MetaValue): Tri {
    if (!Array.isArray(v)) return F;
    let r: Tri = F;
    for (const e of v) {
      const m = this.oneOf.match(e);
      if (m === T) return T;
      if (m === U) r = U;
    }
    return r;
  }
  describe() {
    return `list containing ${this.oneOf.describe()}`;
  }
}
class OrMatcher implements ValueMatcher {
  constructor(private readonly ms: ValueMatcher[]) {}
  match(v: MetaValue): Tri {
    let r: Tri = F;
    for (const m of this.ms) {
      const x = m.match(v);
      if (x === T) return T;
      if (x === U) r = U;
    }
    return r;
  }
  describe() {
    return this.ms.map((m) => m.describe()).join(' or ');
  }
}

export function parseValueMatcher(v: unknown, path: string): ValueMatcher {
  const o = asObj(v, path);
  const which = oneof(o, ['null_match', 'double_match', 'string_match', 'bool_match', 'present_match', 'list_match', 'or_match'], path, 'match_pattern');
  switch (which) {
    case undefined:
      throw new RbacConfigError(path, 'ValueMatcherValidationError.MatchPattern: value is required');
    case 'null_match':
      return new NullMatcher();
    case 'double_match': {
      const dp = jp(path, 'double_match');
      const d = asObj(o.double_match, dp);
      const dw = oneof(d, ['range', 'exact'], dp, 'match_pattern');
      if (!dw) throw new RbacConfigError(dp, 'DoubleMatcherValidationError.MatchPattern: value is required');
      if (dw === 'exact') return new DoubleExactMatcher(optNum(d, 'exact', dp) ?? 0);
      const rp = jp(dp, 'range');
      const r = asObj(d.range, rp);
      return new DoubleRangeMatcher(optNum(r, 'start', rp) ?? 0, optNum(r, 'end', rp) ?? 0);
    }
    case 'string_match':
      return new StringValueMatcher(StringMatcher.parse(o.string_match, jp(path, 'string_match')));
    case 'bool_match':
      return new BoolMatcher(optBool(o, 'bool_match', path) ?? false);
    case 'present_match':
      return new PresentMatcher(optBool(o, 'present_match', path) ?? false);
    case 'list_match': {
      const lp = jp(path, 'list_match');
      const l = asObj(o.list_match, lp);
      if (l.one_of === undefined) throw new RbacConfigError(lp, 'ListMatcherValidationError.MatchPattern: value is required');
      return new ListMatcher(parseValueMatcher(l.one_of, jp(lp, 'one_of')));
    }
    case 'or_match': {
      const op = jp(path, 'or_match');
      const om = asObj(o.or_match, op);
      const list = asArr(om.value_matchers ?? [], jp(op, 'value_matchers'));
      if (list.length < 2) throw new RbacConfigError(jp(op, 'value_matchers'), 'OrMatcherValidationError.ValueMatchers: value must contain at least 2 item(s)');
      return new OrMatcher(list.map((x, i) => parseValueMatcher(x, jp(jp(op, 'value_matchers'), i))));
    }
    default:
      throw new RbacConfigError(path, `unsupported value matcher ${which}`);
  }
}

/** Walks a Struct path; `undefined` when any step is missing or not a struct. */
export function walkPath(root: MetaValue, keys: readonly string[]): MetaValue {
  let cur: MetaValue = root;
  for (const k of keys) {
    if (!isObj(cur)) return undefined;
    cur = (cur as Record<string, JsonValue>)[k];
    if (cur === undefined) return undefined;
  }
  return cur;
}

export class MetadataMatcher {
  readonly filter: string;
  readonly keys: string[];
  readonly value: ValueMatcher;
  readonly invert: boolean;

  constructor(filter: string, keys: string[], value: ValueMatcher, invert: boolean) {
    this.filter = filter;
    this.keys = keys;
    this.value = value;
    this.invert = invert;
  }

  static parse(v: unknown, path: string): MetadataMatcher {
    const o = asObj(v, path);
    const filter = optStr(o, 'filter', path) ?? '';
    if (filter.length === 0) throw new RbacConfigError(jp(path, 'filter'), 'MetadataMatcherValidationError.Filter: value length must be at least 1 characters');
    const pp = jp(path, 'path');
    const segs = asArr(o.path ?? [], pp);
    if (segs.length === 0) throw new RbacConfigError(pp, 'MetadataMatcherValidationError.Path: value must contain at least 1 item(s)');
    const keys = segs.map((s, i) => {
      const sp = jp(pp, i);
      const so = asObj(s, sp);
      const key = optStr(so, 'key', sp);
      if (key === undefined) throw new RbacConfigError(sp, 'PathSegmentValidationError.Segment: value is required');
      if (key.length === 0) throw new RbacConfigError(jp(sp, 'key'), 'PathSegmentValidationError.Key: value length must be at least 1 characters');
      return key;
    });
    if (o.value === undefined || o.value === null) throw new RbacConfigError(jp(path, 'value'), 'MetadataMatcherValidationError.Value: value is required');
    return new MetadataMatcher(filter, keys, parseValueMatcher(o.value, jp(path, 'value')), optBool(o, 'invert', path) ?? false);
  }

  lookup(metadata: Record<string, JsonValue> | null): MetaValue {
    if (!metadata) return undefined;
    return walkPath(metadata[this.filter], this.keys);
  }

  matchValue(v: MetaValue): Tri {
    const r = this.value.match(v);
    if (r === U) return U;
    return (r === T) !== this.invert ? T : F;
  }

  /** `istio_authn.request.auth.claims.iss` style, with literal keys bracketed when they contain dots. */
  pathText(): string {
    return [this.filter, ...this.keys].map((k, i) => (i > 0 && k.includes('.') ? `[${JSON.stringify(k)}]` : k)).join('.').replace(/\.\[/g, '[');
  }

  describe(): string {
    return `${this.invert ? 'not ' : ''}${this.value.describe()}`;
  }
}
