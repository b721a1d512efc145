import type { RE2 } from 're2-wasm';
import { re2 } from '../model/lazy.js';
import { RbacConfigError } from './errors.js';

/**
 * An RE2 regex with Envoy's `RE2::FullMatch` semantics (source/common/common/regex.h): the whole
 * input must match. Compiled once; results for recent inputs are memoised (the matcher is a pure
 * function of its input, and RBAC sees the same few principals/paths over and over).
 */
/**
 * Necessary conditions for a full match, read conservatively from the pattern's top level: literal runs
 * that must occur, a literal prefix and a literal suffix. They only ever rule a match OUT (then RE2 is not
 * called); a string that passes still goes to RE2. Any construct we do not fully understand (alternation,
 * flags, \Q…\E, non-ASCII) disables the prefilter.
 */
export interface LiteralPrefilter {
  prefix: string;
  suffix: string;
  required: string[];
}

const ESCAPED_LITERAL = /[\\.\/\-+*?()[\]{}|^$#&~ !"%',:;<=>@_`]/;

export function literalPrefilter(pattern: string): LiteralPrefilter | null {
  if (/[^\x20-\x7e]/.test(pattern) || pattern.includes('\\Q') || pattern.includes('(?')) return null;
  // Tokens: a literal char, or OTHER (any non-literal atom, possibly quantified).
  const OTHER = null;
  const toks: (string | null)[] = [];
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i]!;
    let atom: string | null;
    if (c === '|') return null;
    if (c === '\\') {
      const d = pattern[i + 1];
      if (d === undefined) return null;
      atom = ESCAPED_LITERAL.test(d) ? d : OTHER; // \d, \w, \pL, \b, \x41, … are not literal
      if (atom === OTHER && (d === 'p' || d === 'P') && pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i);
        if (close === -1) return null;
        i = close + 1;
      } else if (atom === OTHER && d === 'x') {
        if (pattern[i + 2] === '{') {
          const close = pattern.indexOf('}', i);
          if (close === -1) return null;
          i = close + 1;
        } else i += 4;
      } else i += 2;
    } else if (c === '[') {
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < n && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : pattern.startsWith('[:', j) ? Math.max(pattern.indexOf(':]', j) + 2 - j, 1) : 1;
      if (j >= n) return null;
      atom = OTHER;
      i = j + 1;
    } else if (c === '(') {
      let depth = 0;
      let j = i;
      for (; j < n; j++) {
        const ch = pattern[j]!;
        if (ch === '\\') {
          j++;
          continue;
        }
        if (ch === '[') {
          let k = j + 1;
          if (pattern[k] === '^') k++;
          if (pattern[k] === ']') k++;
          while (k < n && pattern[k] !== ']') k += pattern[k] === '\\' ? 2 : 1;
          j = k;
          continue;
        }
        if (ch === '(') depth++;
        else if (ch === ')' && --depth === 0) break;
      }
      if (j >= n) return null;
      atom = OTHER;
      i = j + 1;
    } else if (c === '^' || c === '$') {
      if (!((c === '^' && i === 0) || (c === '$' && i === n - 1))) return null;
      i++;
      continue;
    } else if ('.*+?{)]}'.includes(c)) {
      if (c === '.') {
        atom = OTHER;
        i++;
      } else return null; // a quantifier with nothing to apply to, or a stray bracket
    } else {
      atom = c;
      i++;
    }
    // Quantifier after the atom?
    const q = pattern[i];
    if (q === '*' || q === '+' || q === '?' || q === '{') {
      if (q === '{') {
        const close = pattern.indexOf('}', i);
        if (close === -1 || !/^\{\d+(,\d*)?\}$/.test(pattern.slice(i, close + 1))) return null;
        i = close + 1;
      } else i++;
      if (pattern[i] === '?' || pattern[i] === '+') i++;
      atom = OTHER;
    }
    toks.push(atom);
  }
  const runs: string[] = [];
  let cur = '';
  for (const t of toks) {
    if (t === OTHER) {
      if (cur) runs.push(cur);
      cur = '';
    } else cur += t;
  }
  if (cur) runs.push(cur);
  const prefix: string[] = [];
  for (const t of toks) {
    if (t === OTHER) break;
    prefix.push(t);
  }
  const suffix: string[] = [];
  for (let k = toks.length - 1; k >= 0; k--) {
    const t = toks[k]!;
    if (t === OTHER) break;
    suffix.unshift(t);
  }
  if (runs.length === 0) return null;
  return { prefix: prefix.join(''), suffix: suffix.join(''), required: runs };
}

/**
 * re2-wasm keeps every compiled regex in a fixed 16 MB wasm heap until `.delete()`: identical patterns
 * share one compiled object, and validation-only compiles are freed at once.
 */
const compiled = new Map<string, RE2>();

type Deletable = { wrapper?: { delete?: () => void } };
function free(re: RE2): void {
  (re as unknown as Deletable).wrapper?.delete?.();
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message.replace(/^Invalid regular expression: \/.*\/u?: /, '') : String(e);
}

function compileFullMatch(pattern: string, path: string): RE2 {
  const hit = compiled.get(pattern);
  if (hit) return hit;
  // The pattern alone must compile: `^(?:x)$` could otherwise accept an unbalanced x such as "a)|(b".
  let alone: RE2;
  try {
    alone = new (re2())(pattern, 'u');
  } catch (e) {
    throw new RbacConfigError(path, `Invalid regex '${pattern}': ${reason(e)}`);
  }
  free(alone);
  let re: RE2;
  try {
    // Anchoring the pattern in a non-capturing group gives RE2::FullMatch; `u` = UTF-8 (RE2's default).
    re = new (re2())(`^(?:${pattern})$`, 'u');
  } catch (e) {
    throw new RbacConfigError(path, `Invalid regex '${pattern}': ${reason(e)}`);
  }
  compiled.set(pattern, re);
  return re;
}

export class FullMatchRegex {
  readonly pattern: string;
  private readonly re: RE2;
  private readonly cache = new Map<string, boolean>();
  private readonly pre: LiteralPrefilter | null;

  constructor(pattern: string, path: string) {
    this.pattern = pattern;
    this.re = compileFullMatch(pattern, path);
    this.pre = literalPrefilter(pattern);
  }

  fullMatch(input: string): boolean {
    const pre = this.pre;
    if (pre !== null) {
      if (!input.startsWith(pre.prefix) || !input.endsWith(pre.suffix)) return false;
      for (let k = 0; k < pre.required.length; k++) if (!input.includes(pre.required[k]!)) return false;
    }
    const hit = this.cache.get(input);
    if (hit !== undefined) return hit;
    const r = this.re.test(input);
    if (this.cache.size >= 4096) this.cache.clear();
    this.cache.set(input, r);
    return r;
  }
}

/** RE2 partial match (CEL `matches`). */
export class PartialMatchRegex {
  private readonly re: RE2;
  constructor(pattern: string) {
    this.re = new (re2())(pattern, 'u');
  }
  test(input: string): boolean {
    return this.re.test(input);
  }
}
