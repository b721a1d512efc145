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
    // The denied record and the captured exchange it was joined to are one request: one event.
    expect(events.map((e) => e.timeMs)).toEqual([T0 - 1000, T0 + 10]);
    expect(events.map((e) => e.kind)).toEqual(['request', 'denied']);
    expect(n).toBe(1);
  });

  it('a record joined to a captured flow is one event with both sources\' evidence, the connection\'s verdict and every citing finding', () => {
    const deny = events.find((e) => e.kind === 'denied')!;
    expect(deny.ref).toMatchObject({ file: late.ref.file, line: late.ref.line });
    expect(deny.correlated).toMatchObject({ file: 'cap.pcap' });
    expect(deny.security).toBe('plaintext');
    expect(deny.findings).toEqual(expect.arrayContaining(['plaintext-flow', 'rbac-denied']));
    expect(deny.from).toBe('legacy/sleep');
    expect(deny.to).toBe('default/details');
    expect(deny.summary).toContain('rbac_access_denied_matched_policy[none]');
    expect(deny.summary).toContain('captured: PLAINTEXT');
  });

  it('a captured connection that carried no logged request stays a connection event', () => {
    const lone = flow({ client: '10.0.0.5:40001', server: '10.0.0.7:9080', startMs: T0 + 100 });
    const c2 = correlate([lone], [], [], [], INV, { skewMs: 2000 });
    const t = buildTimeline([lone], [], [], c2).events;
    expect(t.map((e) => e.kind)).toEqual(['connection']);
    expect(t[0]!.security).toBe(lone.security);
  });
});

describe('timeline of many captured connections', () => {
  /** Connections from few and from many clients, ties in time across files, some plaintext (cited by a finding). */
  function capture(n: number, seed: number) {
    let x = seed;
    const rnd = (k: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x % k);
    const flows = [];
    for (let i = 0; i < n; i++) {
      const client = rnd(3) === 0 ? `10.1.${i >> 8}.${i & 255}` : `10.0.0.${1 + rnd(4)}`;
      const file = rnd(2) ? 'a.pcap' : 'b.pcap';
      // start times tie often (same ms), and arrive out of order
      flows.push(flow({ client: `${client}:${30000 + i}`, server: `10.0.1.${1 + rnd(3)}:${rnd(2) ? 8080 : 9090}`, startMs: T0 + rnd(400), file, frames: [1 + i * 3, 3 + i * 3], security: rnd(5) === 0 ? 'plaintext' : 'mtls', evidence: [], protocol: rnd(4) === 0 ? 'tcp' : 'http/1.1' }));
    }
    return flows;
  }

  it('aggregates connection rows without holding one per connection, to the same timeline', () => {
    for (const [n, limits] of [[3000, { listAll: 2000, perSignature: 5, max: 5000 }], [800, { listAll: 50, perSignature: 3, max: 40 }], [600, { listAll: 10, perSignature: 1, max: 500 }]] as const) {
      const flows = capture(n, n);
      const c = correlate(flows, [], [], [], INV, { skewMs: 2000 });
      const findings = computeFindings({ flows, records: [], explanations: [], proxies: [], policies: [], correlation: c });
      const compact = buildTimeline(flows, [], findings, c, false, limits);
      const reference = buildTimeline(flows, [], findings, c, false, limits, false);
      expect(compact.total).toBe(n);
      expect(compact.aggregated).toBeGreaterThan(0);
      expect(compact.aggregated + compact.events.length).toBe(n);
      expect(JSON.stringify(compact)).toBe(JSON.stringify(reference));
    }
  });
});
