/**
 * config.route.v3.HeaderMatcher as Envoy's Http::HeaderUtility::HeaderData evaluates it
 * (source/common/http/header_utility.{h,cc}): one match against the ","-joined values, `host`
 * aliases `:authority`, present/absent rules, invert_match, treat_missing_header_as_empty,
 * range_match via absl::SimpleAtoi with an exclusive end.
 */
import { RbacConfigError } from './errors.js';
import { FullMatchRegex } from './regex.js';
import { StringMatcher, parseRegexMatcher } from './string-matcher.js';
import { asObj, describe as describeValue, jp, oneof, optBool, optStr } from './cfg.js';
import { joinHeader } from './context.js';
import { F, T, U, type Tri } from './tri.js';

type Spec =
  | { t: 'present'; present: boolean }
  | { t: 'exact_match'; value: string }
  | { t: 'string_match'; sm: StringMatcher }
  | { t: 'safe_regex_match'; re: FullMatchRegex }
  | { t: 'range_match'; start: bigint; end: bigint }
  | { t: 'prefix_match' | 'suffix_match' | 'contains_match'; value: string }
  /** Legacy v2 `regex_match` (std::regex): evaluated only where ECMAScript and RE2 agree. */
  | { t: 'regex_match'; sm: StringMatcher };

const SPECIFIERS = ['exact_match', 'safe_regex_match', 'range_match', 'present_match', 'prefix_match', 'suffix_match', 'contains_match', 'string_match', 'regex_match'] as const;

/** absl::SimpleAtoi for int64: optional surrounding ASCII whitespace and sign, base 10, no overflow. */
export function simpleAtoi64(s: string): bigint | null {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)[ \t\n\v\f\r]*$/.exec(s);
  if (!m) return null;
  const v = BigInt(m[1]!);
  if (v > 9223372036854775807n || v < -9223372036854775808n) return null;
  return v;
}

function int64Field(o: Record<string, unknown>, key: string, path: string): bigint {
  const v = o[key];
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  throw new RbacConfigError(jp(path, key), `expected an int64, found ${describeValue(v)}`);
}

export class HeaderMatcher {
  /** Name as configured. */
  readonly name: string;
  /** Lower-cased lookup key (`host` → `:authority`). */
  readonly key: string;
  readonly invert: boolean;
  readonly treatMissingAsEmpty: boolean;
  private readonly spec: Spec;

  private constructor(name: string, spec: Spec, invert: boolean, treatMissing: boolean) {
    this.name = name;
    const lower = name.toLowerCase();
    this.key = lower === 'host' ? ':authority' : lower;
    this.spec = spec;
    this.invert = invert;
    this.treatMissingAsEmpty = treatMissing;
  }

  static parse(v: unknown, path: string): HeaderMatcher {
    const o = asObj(v, path);
    const name = optStr(o, 'name', path) ?? '';
    if (name.length === 0) throw new RbacConfigError(jp(path, 'name'), 'HeaderMatcherValidationError.Name: value length must be at least 1 characters');
    if (/[\0\r\n]/.test(name)) throw new RbacConfigError(jp(path, 'name'), 'HeaderMatcherValidationError.Name: value does not match regex pattern "^[^\\x00\\n\\r]*$"');
    const invert = optBool(o, 'invert_match', path) ?? false;
    const treat = optBool(o, 'treat_missing_header_as_empty', path) ?? false;
    const which = oneof(o, SPECIFIERS, path, 'header_match_specifier');
    let spec: Spec;
    switch (which) {
      case undefined:
        spec = { t: 'present', present: true };
        break;
      case 'present_match':
        spec = { t: 'present', present: optBool(o, 'present_match', path) ?? false };
        break;
      case 'exact_match':
        spec = { t: 'exact_match', value: optStr(o, which, path) ?? '' };
        break;
      case 'string_match':
        spec = { t: 'string_match', sm: StringMatcher.parse(o.string_match, jp(path, 'string_match')) };
        break;
      case 'safe_regex_match':
        spec = { t: 'safe_regex_match', re: parseRegexMatcher(o.safe_regex_match, jp(path, 'safe_regex_match')) };
        break;
      case 'regex_match':
        spec = { t: 'regex_match', sm: StringMatcher.parse({ regex: optStr(o, 'regex_match', path) ?? '' }, path) };
        break;
      case 'range_match': {
        const rp = jp(path, 'range_match');
        const r = asObj(o.range_match, rp);
        spec = { t: 'range_match', start: int64Field(r, 'start', rp), end: int64Field(r, 'end', rp) };
        break;
      }
      default: {
        const value = optStr(o, which, path) ?? '';
        if (value.length === 0) {
          const field = which.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
          throw new RbacConfigError(jp(path, which), `HeaderMatcherValidationError.${field}: value length must be at least 1 characters`);
        }
        spec = { t: which as "prefix_match" | "suffix_match" | "contains_match", value };
      }
    }
    return new HeaderMatcher(name, spec, invert, treat);
  }

  /** The one value this matcher accepts when it is a plain case-sensitive exact match (else null). */
  requiredExactValue(): Set<string> | null {
    if (this.invert || this.treatMissingAsEmpty) return null;
    const s = this.spec;
    if (s.t === 'exact_match' && s.value !== '') return new Set([s.value]);
    if (s.t === 'string_match' && s.sm.kind === 'exact' && !s.sm.ignoreCase) return new Set([s.sm.value]);
    return null;
  }

  get isPresentType(): boolean {
    return this.spec.t === 'present';
  }

  /** The joined value Envoy matches, or null when the header is absent. */
  lookup(headers: Map<string, string[]>): string | null {
    const vs = headers.get(this.key);
    if (!vs || vs.length === 0) return null;
    return joinHeader(this.key, vs);
  }

  private specific(value: string): Tri {
    const s = this.spec;
    switch (s.t) {
      case 'present':
        return T;
      case 'exact_match':
        return s.value === '' || value === s.value ? T : F;
      case 'string_match':
      case 'regex_match':
        return s.sm.match(value);
      case 'safe_regex_match':
        return s.re.fullMatch(value) ? T : F;
      case 'range_match': {
        const n = simpleAtoi64(value);
        return n !== null && s.start <= n && n < s.end ? T : F;
      }
      case 'prefix_match':
        return value.startsWith(s.value) ? T : F;
      case 'suffix_match':
        return value.endsWith(s.value) ? T : F;
      case 'contains_match':
        return value.includes(s.value) ? T : F;
    }
  }

  /** Evaluates against a joined value (null = header absent). */
  matchValue(value: string | null): Tri {
    const s = this.spec;
    if (s.t === 'present') {
      if (value === null && !this.treatMissingAsEmpty) return this.invert === s.present ? T : F;
      return s.present !== this.invert ? T : F;
    }
    if (value === null) {
      if (!this.treatMissingAsEmpty) return F;
      value = '';
    }
    const r = this.specific(value);
    if (r === U) return U;
    return (r === T) !== this.invert ? T : F;
  }

  match(headers: Map<string, string[]>): Tri {
    return this.matchValue(this.lookup(headers));
  }

  /** `exact "GET"`, `present`, `range [0, 10)`, prefixed `not ` when inverted. */
  private described: string | undefined;
  describe(): string {
    return (this.described ??= this.describeUncached());
  }

  private describeUncached(): string {
    const s = this.spec;
    let d: string;
    switch (s.t) {
      case 'present':
        d = s.present ? 'present' : 'absent (present_match: false)';
        break;
      case 'exact_match':
        d = s.value === '' ? 'present (exact_match "")' : `exact ${JSON.stringify(s.value)}`;
        break;
      case 'string_match':
      case 'regex_match':
        d = s.sm.describe();
        break;
      case 'safe_regex_match':
        d = `regex ${JSON.stringify(s.re.pattern)}`;
        break;
      case 'range_match':
        d = `integer in [${s.start}, ${s.end})`;
        break;
      default:
        d = `${s.t.replace('_match', '')} ${JSON.stringify(s.value)}`;
    }
    const extra = this.treatMissingAsEmpty ? ' (missing treated as "")' : '';
    return `${this.invert ? 'not ' : ''}${d}${extra}`;
  }
}
