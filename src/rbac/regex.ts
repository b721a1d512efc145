import { RE2 } from 're2-wasm';
import { RbacConfigError } from './errors.js';

/**
 * An RE2 regex with Envoy's `RE2::FullMatch` semantics (source/common/common/regex.h): the whole
 * input must match. Compiled once; results for recent inputs are memoised (the matcher is a pure
 * function of its input, and RBAC sees the same few principals/paths over and over).
 */
export class FullMatchRegex {
  readonly pattern: string;
  private readonly re: RE2;
  private readonly cache = new Map<string, boolean>();

  constructor(pattern: string, path: string) {
    this.pattern = pattern;
    try {
      // Anchoring the pattern in a non-capturing group gives RE2::FullMatch; `u` = UTF-8 (RE2's default).
      this.re = new RE2(`^(?:${pattern})$`, 'u');
    } catch (e) {
      const msg = e instanceof Error ? e.message.replace(/^Invalid regular expression: \/.*\/u?: /, '') : String(e);
      throw new RbacConfigError(path, `Invalid regex '${pattern}': ${msg}`);
    }
    // `^(?:x)$` with an unbalanced `)` in x could still compile into something else (e.g. "a)|(b"):
    // RE2 rejects the pattern alone in that case, so compile it alone too.
    try {
      new RE2(pattern, 'u');
    } catch (e) {
      const msg = e instanceof Error ? e.message.replace(/^Invalid regular expression: \/.*\/u?: /, '') : String(e);
      throw new RbacConfigError(path, `Invalid regex '${pattern}': ${msg}`);
    }
  }

  fullMatch(input: string): boolean {
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
    this.re = new RE2(pattern, 'u');
  }
  test(input: string): boolean {
    return this.re.test(input);
  }
}
