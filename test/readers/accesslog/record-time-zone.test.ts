/**
 * A logged time without a zone is UTC whatever the time zone of the machine running the analysis: the same
 * log gives the same times (and so the same order, joins and report) under any TZ.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { readAccessLogs } from '../../../src/readers/accesslog/index.js';
import { zonelessAsUtc } from '../../../src/readers/accesslog/record.js';
import type { AccessRecord } from '../../../src/model/records.js';

const ZONES = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Pacific/Chatham'];
const saved = process.env.TZ;

afterEach(() => {
  if (saved === undefined) delete process.env.TZ;
  else process.env.TZ = saved;
});

async function readText(text: string, format: string): Promise<AccessRecord[]> {
  const out: AccessRecord[] = [];
  for await (const r of readAccessLogs({ path: 'mem.log', stream: Readable.from([text]) }, { format })) out.push(r);
  return out;
}

const T = Date.UTC(2026, 10, 22, 10, 0, 0);

describe('logged times without a zone are UTC under any TZ', () => {
  it.each(ZONES)('a custom %%START_TIME(fmt)%% without %%z, TZ=%s', async (tz) => {
    process.env.TZ = tz;
    // (the machine's zone is in effect: a local-time reading would differ from UTC here)
    if (tz !== 'UTC') expect(new Date(T).getTimezoneOffset()).not.toBe(0);
    const rs = await readText('[2026-11-22 10:00:00] 200\n[2026-11-22 10:00:01.250] 403\n', '[%START_TIME(%Y-%m-%d %H:%M:%S)%] %RESPONSE_CODE%\n');
    expect(rs.map((r) => [r.timeMs, r.time])).toEqual([
      [T, '2026-11-22T10:00:00Z'],
      [T + 1250, '2026-11-22T10:00:01.250Z'],
    ]);
  });

  it.each(ZONES)('zonelessAsUtc: no zone → UTC; a zone or offset in the text is kept, TZ=%s', (tz) => {
    process.env.TZ = tz;
    expect(zonelessAsUtc('2026-11-22T10:00:00')).toBe(T);
    expect(zonelessAsUtc('2026-11-22T10:00:00.123')).toBe(T + 123);
    expect(zonelessAsUtc('2026/11/22 10:00:00')).toBe(T);
    expect(zonelessAsUtc('Sun Nov 22 10:00:00 2026')).toBe(T);
    expect(zonelessAsUtc('22 Nov 2026 10:00:00')).toBe(T);
    expect(zonelessAsUtc('2026-11-22')).toBe(Date.UTC(2026, 10, 22));
    expect(zonelessAsUtc('2026-11-22T10:00:00Z')).toBe(T);
    expect(zonelessAsUtc('2026-11-22T10:00:00+01:00')).toBe(T - 3_600_000);
    expect(zonelessAsUtc('2026/11/22 10:00:00 -0500')).toBe(T + 5 * 3_600_000);
    expect(zonelessAsUtc('Sun Nov 22 2026 10:00:00 GMT+0100 (Central European Standard Time)')).toBe(T - 3_600_000);
    expect(zonelessAsUtc('2026/11/22 10:00:00 PST')).toBe(T + 8 * 3_600_000);
    expect(zonelessAsUtc('2026-11-22 10:00:00 UTC')).toBe(T);
    expect(zonelessAsUtc('not a time')).toBeNaN();
  });
});
