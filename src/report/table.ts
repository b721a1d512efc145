/**
 * Plain-text table rendering for people (the default `-o table`).
 *
 * Piped output (and `-o wide`) is the full table, byte for byte what scripts have always read. On a terminal
 * the CLI shell sets a {@link TableStyle} from the terminal: the table then fits its width as kubectl's do,
 * narrow by default: the widest columns give up space first, a long cell is cut at a meaningful boundary (a
 * file path keeps its file name, a JSON path is cut from the left, text at a word), the last column wraps
 * instead of being cut, and when even that does not fit the rightmost columns are left out with a note
 * (`-o wide` shows them). Severities and verdicts are coloured unless NO_COLOR is set.
 */
import { maxOf } from '../model/arrays.js';

export interface TableOptions {
  /** Column headers; upper-cased as istioctl does. */
  headers: string[];
  rows: (string | number | null | undefined)[][];
  /** Gap between columns. */
  gap?: number;
  /**
   * Headers of the columns to leave out first when a terminal is too narrow for them all (kubectl's narrow
   * default); without it, columns are left out from the right.
   */
  dropFirst?: string[];
}

/** How tables are drawn: `width` (columns) to fit, or null for the full table; colour on or off. */
export interface TableStyle {
  width: number | null;
  color: boolean;
}

let style: TableStyle = { width: null, color: false };

/** Set once per run by the CLI shell (only on a TTY, and not for `-o wide`). */
export function setTableStyle(s: TableStyle): void {
  style = s;
}

export function tableStyle(): TableStyle {
  return style;
}

/** Columns whose cells are all this short (addresses, verdicts, counts, times) are never cut. */
const ATOMIC = 26;
/** Narrowest a longer column is squeezed to (or its header). */
const MIN_COLUMN = 12;
const ELLIPSIS = '…';
const PATH = /^(\S*\/)([^/\s]+)$/;

export function renderTable({ headers, rows, gap = 3, dropFirst = [] }: TableOptions): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))))];
  const natural = headers.map((_, i) => maxOf(cells.map((r) => (r[i] ?? '').length)));
  if (style.width === null || natural.reduce((a, b) => a + b, 0) + gap * (headers.length - 1) <= style.width) return draw(cells, natural, gap, null);
  return fitted(cells, natural, gap, style.width, dropFirst);
}

/** The narrowest a column may become: short columns whole, file paths keep their file names, the last column wraps. */
function minimumWidth(cells: string[][], i: number, natural: number, last: boolean, width: number): number {
  if (natural <= ATOMIC) return natural;
  const header = (cells[0]![i] ?? '').length;
  if (last) return Math.min(natural, Math.max(header, 24, Math.floor(width / 3)));
  const names = cells.slice(1).map((r) => PATH.exec(r[i] ?? '')?.[2]?.length ?? 0);
  const name = Math.min(Math.floor(width * 0.4), maxOf(names) + 1);
  return Math.min(natural, Math.max(MIN_COLUMN, header, name));
}

/** The table within `width` columns: squeeze, cut and wrap, and leave out what still does not fit. */
function fitted(cells0: string[][], natural0: number[], gap: number, width: number, dropFirst: string[]): string {
  // which columns to show: leave out the `dropFirst` ones, then from the right, until the minimums fit
  // (the last column wraps, so it is usually the explanation: it goes last)
  const lastCol = natural0.length - 1;
  const order = [...dropFirst.map((h) => cells0[0]!.indexOf(h)).filter((i) => i > 0), ...natural0.map((_, i) => lastCol - 1 - i).filter((i) => i > 0), lastCol];
  const keep = new Set(natural0.map((_, i) => i));
  const cols = (): number[] => [...keep].sort((a, b) => a - b);
  const need = (): number => {
    const c = cols();
    return c.reduce((a, i, k) => a + minimumWidth(cells0, i, natural0[i]!, k === c.length - 1, width), 0) + gap * (c.length - 1);
  };
  for (const i of order) {
    if (need() <= width || keep.size <= 1) break;
    if (i > 0) keep.delete(i);
  }
  const shownCols = cols();
  const cells = cells0.map((r) => shownCols.map((i) => r[i] ?? ''));
  const natural = shownCols.map((i) => natural0[i]!);
  const minimum = shownCols.map((i, k) => minimumWidth(cells0, i, natural0[i]!, k === shownCols.length - 1, width));
  const shown = shownCols.length;
  const widths = [...minimum];
  const need0 = minimum.reduce((a, b) => a + b, 0) + gap * (shown - 1);
  // water-filling: the remaining space goes to the columns that want more, narrowest needs first
  let spare = width - need0;
  const wanting = widths.map((_, i) => i).filter((i) => natural[i]! > widths[i]!).sort((a, b) => natural[a]! - widths[a]! - (natural[b]! - widths[b]!));
  for (let k = 0; k < wanting.length && spare > 0; k++) {
    const share = Math.floor(spare / (wanting.length - k));
    const i = wanting[k]!;
    const add = Math.min(natural[i]! - widths[i]!, share);
    widths[i]! += add;
    spare -= add;
  }
  if (spare > 0 && shown > 0) widths[shown - 1] = Math.min(natural[shown - 1]!, widths[shown - 1]! + spare);
  const body = draw(cells, widths, gap, widths);
  const hidden = cells0[0]!.filter((_, i) => !keep.has(i));
  return hidden.length > 0 ? `${body}(${hidden.length} more column${hidden.length > 1 ? 's' : ''}: ${hidden.join(', ')}; -o wide shows every column, uncut)\n` : body;
}

function draw(cells: string[][], widths: number[], gap: number, limits: number[] | null): string {
  const pad = ' '.repeat(gap);
  const lines: string[] = [];
  cells.forEach((r, rowIndex) => {
    const last = r.length - 1;
    // every cell fitted to its column; the last column may wrap onto more lines
    const parts = r.map((c, i) => (limits === null || c.length <= limits[i]! ? [c] : i === last ? wrap(c, limits[i]!) : [cut(c, limits[i]!)]));
    const height = maxOf(parts.map((p) => p.length));
    for (let k = 0; k < height; k++) {
      lines.push(
        parts
          .map((p, i) => {
            const text = p[k] ?? '';
            const painted = rowIndex > 0 && k === 0 ? paint(text) : text;
            return i === last ? painted : painted + ' '.repeat(Math.max(0, widths[i]! - text.length));
          })
          .join(pad)
          .trimEnd(),
      );
    }
  });
  return lines.join('\n') + '\n';
}

/** Cuts a cell to `max` characters where it still means something (see the file comment). */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return ELLIPSIS.slice(0, max);
  // a JSON path ($.a.b[0].c) or a dotted/bracketed reference: keep its end, the most specific part
  if (/^\$[.[]/.test(text)) return ELLIPSIS + text.slice(text.length - (max - 1));
  // a file path (or file:line, file#frame): keep the file name, shorten the directories
  const path = PATH.exec(text);
  if (path) {
    const name = path[2]!;
    if (name.length + 1 <= max) return ELLIPSIS + text.slice(text.length - (max - 1));
    return cutEnd(name, max);
  }
  return cutEnd(text, max);
}

/** Text cut at the end, at a word boundary when one is close. */
function cutEnd(text: string, max: number): string {
  const room = max - 1;
  const head = text.slice(0, room);
  const space = Math.max(head.lastIndexOf(' '), head.lastIndexOf(','), head.lastIndexOf(';'));
  const at = space >= room * 0.6 ? space : room;
  return head.slice(0, at).trimEnd() + ELLIPSIS;
}

/** Word-wraps text to lines of at most `max` characters (a word longer than that is split). */
export function wrap(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    let w = word;
    while (w.length > max) {
      if (line) {
        lines.push(line);
        line = '';
      }
      lines.push(w.slice(0, max));
      w = w.slice(max);
    }
    if (!line) line = w;
    else if (line.length + 1 + w.length <= max) line += ' ' + w;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}

const RED = '\x1b[31m';
const GREEN = '\x1b[32m';
const YELLOW = '\x1b[33m';
const BLUE = '\x1b[34m';
const MAGENTA = '\x1b[35m';
const DIM = '\x1b[2m';
const BOLD_RED = '\x1b[1;31m';
const RESET = '\x1b[0m';

/** Severities, verdicts and decisions (a cell's first word), coloured on a terminal. */
const COLOURS: Record<string, string> = {
  CRITICAL: BOLD_RED,
  HIGH: RED,
  MEDIUM: YELLOW,
  LOW: BLUE,
  INFO: DIM,
  mtls: GREEN,
  tls: BLUE,
  plaintext: RED,
  unknown: YELLOW,
  ALLOW: GREEN,
  ALLOWED: GREEN,
  DENY: RED,
  DENIED: RED,
  UNDECIDABLE: YELLOW,
  undecidable: YELLOW,
  agrees: GREEN,
  disagrees: RED,
  STRICT: GREEN,
  PERMISSIVE: YELLOW,
  DISABLE: RED,
  AUDIT: MAGENTA,
  CUSTOM: MAGENTA,
};

function paint(text: string): string {
  if (!style.color || text === '') return text;
  const word = /^[A-Za-z]+/.exec(text)?.[0];
  const colour = word !== undefined ? COLOURS[word] : undefined;
  if (!colour) return text;
  // a plaintext leg that stays in the pod (sidecar-local, loopback) is plaintext by design: muted
  if (word === 'plaintext' && /\((sidecar-local|loopback)\)/.test(text)) return DIM + text + RESET;
  return colour + text + RESET;
}
