/** report/table.ts: the full table when piped; fitted to a terminal's width with meaningful cuts. */
import { afterEach, describe, expect, it } from 'vitest';
import { cut, renderTable, setTableStyle, wrap } from '../../src/report/table.js';

afterEach(() => setTableStyle({ width: null, color: false }));

const table = {
  headers: ['SEVERITY', 'EXAMPLE', 'PATH', 'SUMMARY'],
  rows: [
    ['CRITICAL', 'samples/bookinfo-authz/logs/details-v1-5f4d584748-2w7mh.default.istio-proxy.log:6', '$.configs[2].dynamic_listeners[0].active_state.listener.filter_chains[3]', 'a long explanation of what happened and why it matters to the responder reading this table'],
  ],
};

describe('cells cut at meaningful boundaries', () => {
  it('a file path keeps its file name (and line)', () => {
    expect(cut('samples/bookinfo-authz/logs/details.log:6', 20)).toBe('…/logs/details.log:6');
    expect(cut('a/b/very-long-file-name.log', 12)).toBe('very-long-f…');
  });
  it('a JSON path is cut from the left, keeping its most specific end', () => {
    expect(cut('$.configs[2].dynamic_listeners[0].name', 16)).toBe('…listeners[0].name'.slice(-16).replace(/^./, '…'));
    expect(cut('$.configs[2].dynamic_listeners[0].name', 16).endsWith('[0].name')).toBe(true);
  });
  it('text is cut at a word boundary when one is close', () => {
    expect(cut('mTLS chains and plaintext chains both accept', 20)).toBe('mTLS chains and…');
  });
  it('wraps words onto lines of at most the width', () => {
    expect(wrap('one two three four', 9)).toEqual(['one two', 'three', 'four']);
  });
});

describe('renderTable', () => {
  it('without a terminal width draws the full table, as before', () => {
    const out = renderTable(table);
    expect(out.split('\n')[1]).toContain('samples/bookinfo-authz/logs/details-v1-5f4d584748-2w7mh.default.istio-proxy.log:6');
    expect(out).not.toMatch(/…/);
  });

  for (const width of [80, 120]) {
    it(`fits ${width} columns: no line wider, the last column wrapped, left-out columns named`, () => {
      setTableStyle({ width, color: false });
      const out = renderTable(table);
      for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(width);
      expect(out).toContain('CRITICAL');
      expect(out).toMatch(/a long explanation/);
    });
  }

  it('colours severities only when asked', () => {
    setTableStyle({ width: 200, color: true });
    expect(renderTable(table)).toContain('\x1b[1;31mCRITICAL\x1b[0m');
    setTableStyle({ width: 200, color: false });
    expect(renderTable(table)).not.toContain('\x1b[');
  });
});
