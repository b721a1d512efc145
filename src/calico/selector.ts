/**
 * The Calico selector language (libcalico-go lib/selector): `all()`, `global()`, `has(k)`,
 * `k == "v"`, `k != "v"` (also true when k is absent), `k in {"a","b"}`, `k not in {...}` (true when
 * absent), `k contains "s"`, `k starts with "s"`, `k ends with "s"`, `!`, `&&`, `||` and parentheses;
 * `!` binds tighter than `&&`, which binds tighter than `||`. The empty selector is `all()`.
 */

export type SelectorNode =
  | { op: 'all' }
  | { op: 'global' }
  | { op: 'has'; key: string }
  | { op: 'eq' | 'ne' | 'contains' | 'starts' | 'ends'; key: string; value: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'not'; arg: SelectorNode }
  | { op: 'and' | 'or'; args: SelectorNode[] };

export class SelectorError extends Error {
  constructor(readonly selector: string, readonly offset: number, message: string) {
    super(`selector ${JSON.stringify(selector)} at offset ${offset}: ${message}`);
  }
}

/** What a selector is evaluated against: the entity's labels and whether it is namespaced. */
export interface SelectorSubject {
  labels: Record<string, string>;
  /** False for global entities (HostEndpoints, GlobalNetworkSets): `global()` selects those. */
  namespaced: boolean;
}

const KEY = /^[a-zA-Z0-9_./\-]+/;

export function parseSelector(text: string): SelectorNode {
  let i = 0;
  const s = text;
  const ws = () => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const peek = (t: string) => {
    ws();
    return s.startsWith(t, i);
  };
  const expect = (t: string) => {
    ws();
    if (!s.startsWith(t, i)) throw new SelectorError(s, i, `expected ${JSON.stringify(t)}`);
    i += t.length;
  };
  const str = (): string => {
    ws();
    const q = s[i];
    if (q !== '"' && q !== "'") throw new SelectorError(s, i, 'expected a quoted string');
    const end = s.indexOf(q, i + 1);
    if (end < 0) throw new SelectorError(s, i, 'unterminated string');
    const v = s.slice(i + 1, end);
    i = end + 1;
    return v;
  };
  const key = (): string => {
    ws();
    const m = KEY.exec(s.slice(i));
    if (!m) throw new SelectorError(s, i, 'expected a label key');
    i += m[0].length;
    return m[0];
  };
  const word = (w: string) => {
    ws();
    if (s.startsWith(w, i) && !/[a-zA-Z0-9_]/.test(s[i + w.length] ?? '')) {
      i += w.length;
      return true;
    }
    return false;
  };
  const set = (): string[] => {
    expect('{');
    const out: string[] = [];
    if (peek('}')) {
      i++;
      return out;
    }
    for (;;) {
      out.push(str());
      if (peek(',')) {
        i++;
        continue;
      }
      expect('}');
      return out;
    }
  };
  const unary = (): SelectorNode => {
    ws();
    if (peek('!') && !peek('!=')) {
      i++;
      return { op: 'not', arg: unary() };
    }
    if (peek('(')) {
      i++;
      const e = or();
      expect(')');
      return e;
    }
    if (/^all\s*\(\s*\)/.test(s.slice(i))) {
      i += /^all\s*\(\s*\)/.exec(s.slice(i))![0].length;
      return { op: 'all' };
    }
    if (/^global\s*\(\s*\)/.test(s.slice(i))) {
      i += /^global\s*\(\s*\)/.exec(s.slice(i))![0].length;
      return { op: 'global' };
    }
    if (/^has\s*\(/.test(s.slice(i))) {
      i += /^has\s*\(/.exec(s.slice(i))![0].length;
      const k = key();
      expect(')');
      return { op: 'has', key: k };
    }
    const k = key();
    ws();
    if (peek('==')) {
      i += 2;
      return { op: 'eq', key: k, value: str() };
    }
    if (peek('!=')) {
      i += 2;
      return { op: 'ne', key: k, value: str() };
    }
    if (word('in')) return { op: 'in', key: k, values: set() };
    if (word('not')) {
      if (!word('in')) throw new SelectorError(s, i, "expected 'in' after 'not'");
      return { op: 'notin', key: k, values: set() };
    }
    if (word('contains')) return { op: 'contains', key: k, value: str() };
    if (word('starts')) {
      if (!word('with')) throw new SelectorError(s, i, "expected 'with'");
      return { op: 'starts', key: k, value: str() };
    }
    if (word('ends')) {
      if (!word('with')) throw new SelectorError(s, i, "expected 'with'");
      return { op: 'ends', key: k, value: str() };
    }
    throw new SelectorError(s, i, `expected an operator after ${k} (==, !=, in, not in, contains, starts with, ends with)`);
  };
  const and = (): SelectorNode => {
    const args = [unary()];
    while (peek('&&')) {
      i += 2;
      args.push(unary());
    }
    return args.length === 1 ? args[0]! : { op: 'and', args };
  };
  const or = (): SelectorNode => {
    const args = [and()];
    while (peek('||')) {
      i += 2;
      args.push(and());
    }
    return args.length === 1 ? args[0]! : { op: 'or', args };
  };
  ws();
  if (i === s.length) return { op: 'all' };
  const e = or();
  ws();
  if (i !== s.length) throw new SelectorError(s, i, 'unexpected trailing input');
  return e;
}

export function selectorMatches(n: SelectorNode, subj: SelectorSubject): boolean {
  const l = subj.labels;
  const has = (k: string) => Object.prototype.hasOwnProperty.call(l, k);
  switch (n.op) {
    case 'all':
      return true;
    case 'global':
      return !subj.namespaced;
    case 'has':
      return has(n.key);
    case 'eq':
      return has(n.key) && l[n.key] === n.value;
    case 'ne':
      return !has(n.key) || l[n.key] !== n.value;
    case 'contains':
      return has(n.key) && l[n.key]!.includes(n.value);
    case 'starts':
      return has(n.key) && l[n.key]!.startsWith(n.value);
    case 'ends':
      return has(n.key) && l[n.key]!.endsWith(n.value);
    case 'in':
      return has(n.key) && n.values.includes(l[n.key]!);
    case 'notin':
      return !has(n.key) || !n.values.includes(l[n.key]!);
    case 'not':
      return !selectorMatches(n.arg, subj);
    case 'and':
      return n.args.every((a) => selectorMatches(a, subj));
    case 'or':
      return n.args.some((a) => selectorMatches(a, subj));
  }
}

/** Canonical text (libcalico-go's String()): used in explanations. */
export function formatSelector(n: SelectorNode): string {
  const q = (v: string) => `"${v}"`;
  switch (n.op) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${n.key})`;
    case 'eq':
      return `${n.key} == ${q(n.value)}`;
    case 'ne':
      return `${n.key} != ${q(n.value)}`;
    case 'contains':
      return `${n.key} contains ${q(n.value)}`;
    case 'starts':
      return `${n.key} starts with ${q(n.value)}`;
    case 'ends':
      return `${n.key} ends with ${q(n.value)}`;
    case 'in':
      return `${n.key} in {${n.values.map(q).join(', ')}}`;
    case 'notin':
      return `${n.key} not in {${n.values.map(q).join(', ')}}`;
    case 'not':
      return `!${n.arg.op === 'and' || n.arg.op === 'or' ? `(${formatSelector(n.arg)})` : formatSelector(n.arg)}`;
    case 'and':
      return n.args.map((a) => (a.op === 'or' ? `(${formatSelector(a)})` : formatSelector(a))).join(' && ');
    case 'or':
      return n.args.map(formatSelector).join(' || ');
  }
}
