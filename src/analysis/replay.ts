/**
 * The replay of one access record for `report`: an inbound sidecar record whose proxy has a config dump
 * goes through the RBAC decision (src/envoy/decide.ts) with the same ownership rule and memo as `explain`;
 * when the record does not log the caller's identity, the replay takes it from the capture (the client
 * certificate of a TLS ≤ 1.2 handshake on the record's connection, else the `x-forwarded-client-cert` on
 * the sidecar-local leg), or, for a waypoint's record, from the client ztunnel's record. An inbound
 * ztunnel record is replayed against the ztunnel config dumps. One record at a time, so a streaming
 * report replays each record as it comes (issue 17).
 */
import type { AccessRecord, Explanation } from '../model/records.js';
import type { ConfigDump } from '../envoy/model.js';
import { decideRequest } from '../envoy/decide.js';
import type { ZtunnelConfig } from '../ztunnel/model.js';
import type { RecordLookup } from './record-facts.js';
import type { Direction, LocalLegLink, RecordLink } from './correlate.js';
import { DecisionCache, explainRecord, memoizedDumpDecider, NotFromProxyError, type Decider } from './explain.js';
import { notFromProxy, type ProxyView } from './proxies.js';
import { explainWithWaypointCaller, type WaypointCallerIndex } from './waypoint-callers.js';
import { explainZtunnelRecord } from './ztunnel.js';
import type { RecordCompactor } from './compact-record.js';
import { withCaptureIdentity, withXfccIdentity } from './replay-identity.js';

export interface ReplayFacts {
  recordProxy: RecordLookup<AccessRecord, ProxyView>;
  recordDirection: RecordLookup<AccessRecord, Direction>;
  recordFlow: RecordLookup<AccessRecord, RecordLink>;
  recordLocalLeg: RecordLookup<AccessRecord, LocalLegLink>;
}

export class RecordReplayer {
  // Decisions memoized per dump (as `explain` does): records that differ only in source port or request id
  // share one decision, computed once. One size-bounded cache for all dumps.
  private readonly cache = new DecisionCache();
  private readonly deciders = new Map<ConfigDump, Decider>();

  constructor(
    private readonly opts: {
      ztunnels: ZtunnelConfig[];
      /** A waypoint's records get their caller from the client ztunnel's records (analysis/waypoint-callers.ts). */
      callers: WaypointCallerIndex;
      skewMs: number;
      compactor?: RecordCompactor | null;
    },
  ) {}

  private deciderFor(dump: ConfigDump): Decider {
    let d = this.deciders.get(dump);
    if (!d) {
      d = memoizedDumpDecider(dump, (dd: ConfigDump, req, o) => decideRequest(dd, req, o), this.cache, `${this.deciders.size}|`);
      this.deciders.set(dump, d);
    }
    return d;
  }

  /** The replay of an inbound sidecar record whose proxy has a dump (undefined for the others). */
  sidecar(r: AccessRecord, c: ReplayFacts): Explanation | undefined {
    if (r.ztunnel) return undefined;
    const proxy = c.recordProxy.get(r);
    if (!proxy || c.recordDirection.get(r) !== 'inbound') return undefined;
    const link = c.recordFlow.get(r);
    let { record: rec, note: fused } = withCaptureIdentity(r, link?.flow);
    if (!fused) ({ record: rec, note: fused } = withXfccIdentity(r, c.recordLocalLeg.get(r), proxy.dump, link?.flow));
    // The same ownership rule as `explain` (proxies.ts notFromProxy): a record whose local address is
    // not this proxy's is not compared with its dump.
    const e = explainWithWaypointCaller(rec, this.opts.callers, this.opts.skewMs, (x) =>
      explainRecord(x, (req, o) => {
        const not = notFromProxy(proxy, 'inbound', req.destination, req.source);
        if (not) throw new NotFromProxyError(not);
        return this.deciderFor(proxy.dump)(req, o);
      }),
    );
    const x = fused ? { ...e, record: r, identityEvidence: [...e.identityEvidence, fused] } : e;
    return this.opts.compactor ? this.opts.compactor.explanation(x) : x;
  }

  /** The replay of an inbound ztunnel record against the ztunnel config dumps (undefined for the others, or without dumps). */
  ztunnel(r: AccessRecord): Explanation | undefined {
    if (!this.opts.ztunnels.length || !r.ztunnel || r.ztunnel.direction !== 'inbound') return undefined;
    return explainZtunnelRecord(r, this.opts.ztunnels);
  }
}
