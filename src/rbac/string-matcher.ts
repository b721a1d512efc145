/**
 * envoy.type.matcher.v3.StringMatcher (source/common/common/matchers.h StringMatcherImpl).
 * exact / prefix / suffix / contains compare bytes; `ignore_case` is ASCII-only (absl::EqualsIgnoreCase);
 * safe_regex is RE2 FullMatch; `custom` extensions are not evaluable offline (undecidable).
 */
import { RbacConfigError } from './errors.js';
import { FullMatchRegex } from './regex.js';
import { asObj, jp, oneof, optBool, optStr, type Obj } from './cfg.js';
import { F, T, U, type Tri } from './tri.js';

export function asciiLower(s: string): string {
  // Only A-Z: JS toLowerCase is Unicode-aware, absl's is not.
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      needs = true;
      break;
    }
  }
  return needs ? s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32)) : s;
}

export type StringMatchKind = 'exact' | 'prefix' | 'suffix' | 'contains' | 'safe_regex' | 'custom' | 'regex';

/**
 * Legacy v2 `regex` (std::regex, ECMAScript grammar, full match) from old dumps. Only patterns made of
 * literals, `.`, `*`, `+`, `?` and escaped punctuation mean the same in ECMAScript and RE2; those are
 * evaluated with RE2 (on inputs without line terminators, where `.` differs). Anything else is undecidable.
 */
const LEGACY_REGEX_SAFE = /^(?:[A-Za-z0-9 _\-\/:@=,~%#'"<>&]|\\[.\/\-:@=,~%#*+?]|[.*+?])*$/;
const LINE_TERMINATORS = /[\r\n\u2028\u2029]/;

export class StringMatcher {
  readonly kind: StringMatchKind;
  readonly value: string;
  readonly ignoreCase: boolean;
  private readonly folded: string;
  private readonly regex: FullMatchRegex | null;

  constructor(kind: StringMatchKind, value: string, ignoreCase: boolean, regex: FullMatchRegex | null) {
    this.kind = kind;
    this.value = value;
    this.ignoreCase = ignoreCase;
    this.folded = ignoreCase ? asciiLower(value) : value;
    this.regex = regex;
  }

  static exact(value: string, ignoreCase = false): StringMatcher {
    return new StringMatcher('exact', value, ignoreCase, null);
  }

  /** Parses a StringMatcher message at `path`. */
  static parse(v: unknown, path: string, msgName = 'StringMatcher'): StringMatcher {
    const o = asObj(v, path);
    const kind = oneof(o, ['exact', 'prefix', 'suffix', 'safe_regex', 'contains', 'custom', 'regex'], path, 'match_pattern') as StringMatchKind | undefined;
    if (!kind) throw new RbacConfigError(path, `${msgName}ValidationError.MatchPattern: value is required`);
    const ignoreCase = optBool(o, 'ignore_case', path) ?? false;
    if (kind === 'safe_regex') {
      if (ignoreCase) throw new RbacConfigError(jp(path, 'ignore_case'), 'ignore_case has no effect for safe_regex.');
      const re = parseRegexMatcher(o.safe_regex, jp(path, 'safe_regex'));
      return new StringMatcher('safe_regex', re.pattern, false, re);
    }
    if (kind === 'regex') {
      const pattern = optStr(o, 'regex', path) ?? '';
      const safe = LEGACY_REGEX_SAFE.test(pattern) && !/(^|[^\\])[*+?][*+?]/.test(pattern) && !/^[*+?]/.test(pattern);
      return new StringMatcher('regex', pattern, ignoreCase, safe ? new FullMatchRegex(pattern, jp(path, 'regex')) : null);
    }
    if (kind === 'custom') {
      const c = asObj(o.custom, jp(path, 'custom'));
      return new StringMatcher('custom', String(c.name ?? asObj(c.typed_config ?? {}, jp(path, 'custom'))['@type'] ?? 'custom'), false, null);
    }
    const s = optStr(o, kind, path) ?? '';
    if (kind !== 'exact' && s.length === 0) {
      const field = kind[0]!.toUpperCase() + kind.slice(1);
      throw new RbacConfigError(jp(path, kind), `${msgName}ValidationError.${field}: value length must be at least 1 characters`);
    }
    return new StringMatcher(kind, s, ignoreCase, null);
  }

  match(input: string): Tri {
    switch (this.kind) {
      case 'exact':
        return (this.ignoreCase ? asciiLower(input) === this.folded : input === this.value) ? T : F;
      case 'prefix':
        return (this.ignoreCase ? asciiLower(input) : input).startsWith(this.folded) ? T : F;
      case 'suffix':
        return (this.ignoreCase ? asciiLower(input) : input).endsWith(this.folded) ? T : F;
      case 'contains':
        return (this.ignoreCase ? asciiLower(input) : input).includes(this.folded) ? T : F;
      case 'safe_regex':
        return this.regex!.fullMatch(input) ? T : F;
      case 'custom':
        return U;
      case 'regex':
        if (!this.regex || this.ignoreCase || LINE_TERMINATORS.test(input)) return U;
        return this.regex.fullMatch(input) ? T : F;
    }
  }

  /** `exact "GET"`, `prefix "/info"`, `regex "spiffe://.+"`, with ` (ignore case)` when set. */
  private described: string | undefined;
  describe(): string {
    if (this.described === undefined) {
      const k = this.kind === 'safe_regex' ? 'regex' : this.kind === 'custom' ? 'custom matcher' : this.kind === 'regex' ? 'legacy std::regex' : this.kind;
      this.described = `${k} ${JSON.stringify(this.value)}${this.ignoreCase ? ' (ignore case)' : ''}`;
    }
    return this.described;
  }
}

/** envoy.type.matcher.v3.RegexMatcher: `{google_re2: {}, regex}`. */
export function parseRegexMatcher(v: unknown, path: string): FullMatchRegex {
  const o: Obj = asObj(v, path);
  const regex = optStr(o, 'regex', path);
  if (regex === undefined || regex.length === 0) {
    throw new RbacConfigError(jp(path, 'regex'), 'RegexMatcherValidationError.Regex: value length must be at least 1 characters');
  }
  return new FullMatchRegex(regex, jp(path, 'regex'));
}
