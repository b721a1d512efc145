import { describe, expect, it } from 'vitest';
import { buildTimeline } from '../../src/analysis/timeline.js';
import { correlate } from '../../src/analysis/correlate.js';
import { computeFindings } from '../../src/analysis/findings.js';
import { exchange, flow, inventory, iso, pod, record, T0 } from './report-fixtures.js';

const INV = inventory([pod('sleep-1', 'legacy', '10.0.0.5', 'sleep', 'sleep'), pod('details-1', 'default', '10.0.0.7', 'bookinfo-details', 'details')]);

describe('timeline', () => {
  const f = flow({ client: '10.0.0.5:40000', server: '10.0.0.7:9080', startMs: T0, http: [exchange({ time: iso(T0 + 5), path: '/x' })] });
  const late = record({ from: '10.0.0.5:40000', to: '10.0.0.7:9080', timeMs: T0 + 10, responseCode: 403, responseCodeDetails: 'rbac_access_denied_matched_policy[none]' });
  const early = record({ from: '10.0.0.8:1', to: '10.0.0.7:9080', timeMs: T0 - 1000 });
  const untimed = { ...record({ from: '10.0.0.8:2', to: '10.0.0.7:9080' }), time: undefined, timeMs: undefined };
  const c = correlate([f], [late, early, untimed], [], [], INV, { skewMs: 2000 });
  const findings = computeFindings({ flows: [f], records: [late, early, untimed], explanations: [], proxies: [], policies: [], correlation: c });
  const { events, untimed: n } = buildTimeline([f], [late, early, untimed], findings, c);

  it('puts captures and logs on one clock, in time order, counting records without a time', () => {
    expect(events.map((e) => e.timeMs)).toEqual([T0 - 1000, T0, T0 + 5, T0 + 10]);
    expect(events.map((e) => e.kind)).toEqual(['request', 'connection', 'exchange', 'denied']);
    expect(n).toBe(1);
  });

  it('links each event to its evidence, the correlated evidence and the findings citing it', () => {
    const conn = events.find((e) => e.kind === 'connection')!;
    expect(conn.ref).toMatchObject({ file: 'cap.pcap', frame: 1 });
    expect(conn.findings).toContain('plaintext-flow');
    expect(conn.from).toBe('legacy/sleep');
    expect(conn.to).toBe('default/details');
    const deny = events.find((e) => e.kind === 'denied')!;
    expect(deny.findings).toContain('rbac-denied');
    expect(deny.correlated).toMatchObject({ file: 'cap.pcap' });
    expect(deny.summary).toContain('rbac_access_denied_matched_policy[none]');
  });
});
