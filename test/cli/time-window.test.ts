import { describe, expect, it } from 'vitest';
import { parseDuration, parseTimeBound, parseTimeWindow } from '../../src/cli/time-window.js';
import { UsageError } from '../../src/cli/common.js';

/** A fixed clock: relative times never depend on the date the tests run. */
const NOW = Date.parse('2026-11-22T12:00:00.000Z');
const at = (v: string): string => new Date(parseTimeBound(v, '--since', NOW)!).toISOString();

describe('--since / --until values', () => {
  it('RFC 3339 times with Z or an offset, fractional seconds, and a date alone (midnight UTC)', () => {
    expect(at('2026-11-22T10:00:00Z')).toBe('2026-11-22T10:00:00.000Z');
    expect(at('2026-11-22T10:00:00.250Z')).toBe('2026-11-22T10:00:00.250Z');
    expect(at('2026-11-22T12:00:00+02:00')).toBe('2026-11-22T10:00:00.000Z');
    expect(at('2026-11-22')).toBe('2026-11-22T00:00:00.000Z');
  });

  it('durations before now as kubectl and journalctl users type them', () => {
    expect(at('2h')).toBe('2026-11-22T10:00:00.000Z');
    expect(at('30m')).toBe('2026-11-22T11:30:00.000Z');
    expect(at('1d')).toBe('2026-11-21T12:00:00.000Z');
    expect(at('1h30m')).toBe('2026-11-22T10:30:00.000Z');
    expect(at('90s')).toBe('2026-11-22T11:58:30.000Z');
    expect(at('-2h')).toBe('2026-11-22T10:00:00.000Z');
    expect(at('2h ago')).toBe('2026-11-22T10:00:00.000Z');
    expect(at('30 min ago')).toBe('2026-11-22T11:30:00.000Z');
    expect(at('1w')).toBe('2026-11-15T12:00:00.000Z');
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5h')).toBe(5_400_000);
  });

  it('anything else is a usage error naming the flag and the accepted forms', () => {
    for (const bad of ['yesterday', '2', '2x', 'h2', '2026-11-22T10:00:00', '']) {
      expect(() => parseTimeBound(bad, '--until', NOW), bad).toThrow(UsageError);
    }
    expect(() => parseTimeBound('soon', '--until', NOW)).toThrow(/^--until: expected an RFC 3339 time .* or a duration before now .*found 'soon'/);
    expect(parseTimeBound(undefined, '--since', NOW)).toBeUndefined();
  });

  it('one clock reading for both bounds; a window that ends before it starts is refused', () => {
    expect(parseTimeWindow('2h', '1h', NOW)).toEqual({ sinceMs: NOW - 7_200_000, untilMs: NOW - 3_600_000 });
    expect(parseTimeWindow(undefined, '30m', NOW)).toEqual({ untilMs: NOW - 1_800_000 });
    expect(() => parseTimeWindow('1h', '2h', NOW)).toThrow(/window is empty/);
  });
});
