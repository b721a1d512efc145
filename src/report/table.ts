/** Plain-text table rendering for people (the default `-o table`). */
import { maxOf } from '../model/arrays.js';

export interface TableOptions {
  /** Column headers; upper-cased as istioctl does. */
  headers: string[];
  rows: (string | number | null | undefined)[][];
  /** Gap between columns. */
  gap?: number;
}

export function renderTable({ headers, rows, gap = 3 }: TableOptions): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))))];
  const widths = headers.map((_, i) => maxOf(cells.map((r) => (r[i] ?? '').length)));
  const pad = ' '.repeat(gap);
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
          .join(pad)
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
