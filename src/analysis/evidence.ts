/**
 * Gathers the evidence for `report`: detects each input's kind by content, hashes every file
 * (streamed sha256, for the chain-of-custody manifest), and reads it with the real reader of its
 * kind (config dumps, access logs, captures, inventory, Istio policies). One unreadable input never
 * aborts the others: it is recorded with the reason. Inbound access records whose proxy has a
 * config dump are replayed through the RBAC decision (src/envoy/decide.ts) into Explanations.
 * When the record does not log the caller's identity, the replay takes it from the capture: the
 * client certificate of a TLS ≤ 1.2 handshake on the record's connection, else the
 * `x-forwarded-client-cert` on the sidecar-local leg of the same request.
 */
import { openInputStream, readWholeText } from '../readers/files.js';
import type { AccessRecord, Explanation, Flow } from '../model/records.js';
import { InputError, formatLocation, type Diagnostic } from '../model/errors.js';
import type { ConfigDump } from '../envoy/model.js';
import { detectInputs, type DetectedInput } from '../readers/detect.js';
import type { KeyLog } from '../protocols/tls/keylog.js';
import { emptyInventory, readInventory, type Inventory } from '../readers/inventory.js';
import { loadConfigDumps } from '../readers/configdump/index.js';
import { readAccessLogs, newStats } from '../readers/accesslog/index.js';
import { captureFile, isDamagedCompression, newCaptureStats, type CaptureStats } from '../readers/capture/index.js';
import { FileHash } from './file-hash.js';
import { parseK8sObjects, type K8sObject } from '../readers/k8s.js';
import { createStreamDecoder } from '../protocols/index.js';
import { flowsFromCapture } from './flows.js';
import type { CaptureEvent } from './capture-events.js';
import { deserializeError, type SerializedError } from '../model/errors.js';
import { inboundMtlsModes } from '../istio/mtls.js';
import { RecordReplayer } from './replay.js';
import { canonicalOrder, SpillError, type RecordSpill } from './record-spill.js';
import { readLogRecords, type LogReadCounts, type LogReaders, type LogTaskResult, type LogTaskSpec, type ReadAhead } from './log-runs.js';
import { correlate, type Correlation } from './correlate.js';
import { proxyView, type ProxyView } from './proxies.js';
import type { Evidence, ReportModel } from './report-model.js';
import { RecordCompactor } from './compact-record.js';
import { redactDeep } from '../model/redact.js';
import type { JsonValue } from '../model/attrs.js';
import type { PolicyDoc } from './findings.js';
import type { ZtunnelConfig } from '../ztunnel/model.js';
import { readZtunnelConfig } from '../readers/configdump/ztunnel.js';
import { decideHboneFlows, joinHboneFlows } from './ztunnel.js';
import { WaypointCallerIndex } from './waypoint-callers.js';
import { appendAll } from '../model/arrays.js';
import { FlowCompactor } from './compact-flow.js';
import { ATTEMPT_LIMITS, AttemptSummary, MIN_ATTEMPT_THRESHOLD, isUnansweredAttempt, type AttemptLimits, type SummarisedAttempts } from './attempts.js';
import { FlowLayerEvaluator } from './network-layers.js';
import { normalizeIp } from '../readers/ip-text.js';

/** A capture's events as a worker sends them: with its file's sha256 last when it hashed the file as it read it. */
export type RemoteCaptureEvent = CaptureEvent | { t: 'sha256'; sha256: string | null };

/**
 * Captures read elsewhere (worker threads, src/cli/parallel.ts): each one's events, consumed in input order.
 * A reader that hashed the file as it read it ends with `{ t: 'sha256' }` (null: the file could not be read
 * to its end): that file is not read again here.
 */
export interface CaptureReaders extends ReadAhead {
  events(path: string): AsyncIterable<RemoteCaptureEvent> | undefined;
  close(): Promise<void>;
}

export interface GatherOptions {
  /**
   * Called once with the captures found among the inputs: may start reading them in parallel (the CLI's
   * worker threads). A capture it returns events for is not read here; the result is the same.
   */
  parallelCaptures?: (captures: { path: string; bytes: number }[]) => CaptureReaders | null;
  /**
   * With a `spill` only: called once with the access logs among the inputs (in input order), as worker tasks
   * (src/cli/worker.ts `report-log`, log-runs.ts) short of the spill directory and budget, which the caller
   * fills in: may start reading them in parallel. A log it returns events for is read there (parsed,
   * window-filtered, compacted, written as sorted runs into the spill's directory) and its runs are adopted
   * in input order; the result is the same.
   */
  parallelLogs?: (logs: LogTaskSpec[]) => LogReaders | null;
  /** Clock-skew window for joining records to captures before replay (ms). */
  skewMs?: number;
  /** Called as the inputs are read, often (every chunk read): how far reading got (the CLI draws it on a TTY only). */
  onRead?: (p: ReadProgress) => void;
  /** Called when a step with no count of its own starts after the reading ("sorting the records"). */
  onStep?: (what: string) => void;
  /** Limit on diagnostics kept per input (the count stays exact). */
  maxDiagnosticsPerInput?: number;
  /** Config dumps that come from elsewhere than the evidence files (e.g. policy manifests compiled for a workload). */
  extraDumps?: ConfigDump[];
  /**
   * `--since` / `--until` (epoch ms, inclusive), applied while reading: a record outside it (or without a
   * time) is counted and dropped at once; a captured flow is kept when its span comes within the skew window
   * of it (so the records inside can still be joined to it).
   */
  window?: { sinceMs?: number; untilMs?: number };
  /** Key-log secrets (`--keylog`): the captures' TLS sessions found in it are decrypted. */
  keys?: KeyLog;
  /**
   * Keep records compact (analysis/compact-record.ts): shared strings and lists, and only the logged fields
   * the analysis reads. The report is the same once `fillElidedFields` has re-read the fields it shows.
   * A RecordCompactor given here is the one used (its bounds).
   */
  compactRecords?: boolean | RecordCompactor;
  /** How connection attempts nobody answered are summarised (attempts.ts; default ATTEMPT_LIMITS). */
  attemptLimits?: AttemptLimits;
  /**
   * Send the records to this spill instead of `records` (streaming report, report-stream.ts): sealed at the
   * end; nothing is joined or replayed here (`records` and `explanations` stay empty).
   */
  spill?: RecordSpill;
}

/** How far reading the inputs got (GatherOptions.onRead). */
export interface ReadProgress {
  /** The input being read, and its kind. */
  file: string;
  kind: DetectedInput['kind'];
  /**
   * Bytes read of the inputs (those of a known kind) and their total (the files' sizes): a compressed input
   * counts its compressed bytes; a file hashed before it is parsed (dumps, inventories, policies, compressed
   * captures read on this thread) counts as read once hashed.
   */
  bytes: number;
  totalBytes: number;
  /** Log records read so far. */
  records: number;
}

/** What a --since/--until window left out, per kind of evidence. */
export interface WindowCounts {
  sinceMs: number | null;
  untilMs: number | null;
  recordsOutside: number;
  recordsWithoutTime: number;
  flowsOutside: number;
}


function describeError(e: unknown): string {
  if (e instanceof InputError) return e.message;
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'ENOENT') return 'no such file or directory';
  if (err && err.code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(e);
}

function toPolicyDocs(text: string, file: string): { docs: PolicyDoc[]; diagnostics: Diagnostic[] } {
  const res = parseK8sObjects(text, file);
  const docs: PolicyDoc[] = [];
  for (const o of res.objects) {
    if (!/^security\.istio\.io\//.test(o.apiVersion)) continue;
    const spec = o.raw.spec;
    docs.push({
      file,
      ...(o.source.line !== undefined ? { line: o.source.line } : {}),
      path: o.source.path,
      kind: o.kind,
      name: o.metadata.name,
      namespace: o.metadata.namespace ?? 'default',
      spec: spec && typeof spec === 'object' && !Array.isArray(spec) ? (spec as Record<string, unknown>) : {},
      annotations: o.metadata.annotations ?? {},
    });
  }
  return { docs, diagnostics: res.diagnostics };
}

export async function gatherEvidence(paths: string[], opts: GatherOptions = {}): Promise<Gathered> {
  const inputs: DetectedInput[] = await detectInputs(paths);
  const parallel = opts.parallelCaptures?.(inputs.filter((i) => i.kind === 'capture').map((i) => ({ path: i.path, bytes: i.bytes }))) ?? null;
  let logs: LogReaders | null = null;
  try {
    if (opts.spill && opts.parallelLogs) {
      const win = opts.window && (opts.window.sinceMs !== undefined || opts.window.untilMs !== undefined) ? opts.window : undefined;
      const maxDiagnostics = opts.maxDiagnosticsPerInput ?? 20;
      const specs = inputs.flatMap((i, idx): LogTaskSpec[] =>
        i.kind === 'access-log' ? [{ path: i.path, bytes: i.bytes, ...(i.compressed ? { compressed: i.compressed } : {}), maxDiagnostics, ...(win ? { window: { ...win } } : {}), compact: !!opts.compactRecords, prefix: `log${idx}` }] : [],
      );
      if (specs.length) logs = opts.parallelLogs(specs);
    }
    return await gatherInputs(inputs, opts, parallel, logs);
  } finally {
    await logs?.close();
    await parallel?.close();
  }
}

/** What gatherEvidence returns: the evidence, the dumps read, and how many of the records are ztunnel (ambient) records. */
export type Gathered = Evidence & { dumps: ConfigDump[]; ztunnelRecords: number };

async function gatherInputs(inputs: DetectedInput[], opts: GatherOptions, parallel: CaptureReaders | null, parallelLogs: LogReaders | null = null): Promise<Gathered> {
  const maxDiag = opts.maxDiagnosticsPerInput ?? 20;
  const keys = opts.keys;
  const hashes = new Map<string, string | null>();
  const items = new Map<string, number>();
  const problems = new Map<string, number>();
  const unreadable = new Map<string, string>();
  const damaged = new Set<string>();
  const diagnostics: Diagnostic[] = [];
  /** Per capture: the connections its TCP table handed over unfinished (idle, or over the open cap). */
  const captureTcp = new Map<string, CaptureStats['tcp']>();
  const flows: Flow[] = [];
  /** Flows are kept compact (shared strings and lists): a capture may hold millions of connections. */
  const flowCompactor = new FlowCompactor();
  const records: AccessRecord[] = [];
  /** With a spill (streaming report), the records go there instead of `records`: replayed and joined by report-stream.ts. */
  const spill = opts.spill ?? null;
  let ztunnelRecords = 0;
  const dumps: ConfigDump[] = [...(opts.extraDumps ?? [])];
  const policies: PolicyDoc[] = [];
  const ztunnels: ZtunnelConfig[] = [];
  /** Kubernetes objects of inventory and network-policy inputs, for the network policy layers. */
  const k8sObjects: K8sObject[] = [];
  let inventory: Inventory | null = null;
  const compactor = opts.compactRecords instanceof RecordCompactor ? opts.compactRecords : opts.compactRecords ? new RecordCompactor() : null;

  const win = opts.window && (opts.window.sinceMs !== undefined || opts.window.untilMs !== undefined) ? opts.window : undefined;
  const windowCounts: WindowCounts | undefined = win ? { sinceMs: win.sinceMs ?? null, untilMs: win.untilMs ?? null, recordsOutside: 0, recordsWithoutTime: 0, flowsOutside: 0 } : undefined;
  const skew = opts.skewMs ?? 2000;
  const flowIn = (f: Flow): boolean => {
    if (!win || !windowCounts) return true;
    if ((win.sinceMs !== undefined && f.endMs < win.sinceMs - skew) || (win.untilMs !== undefined && f.startMs > win.untilMs + skew)) {
      windowCounts.flowsOutside++;
      return false;
    }
    return true;
  };

  // Captures are read after every other input (the dumps, logs and Kubernetes objects decide how their
  // connection attempts are kept: see keepFlow); each input's diagnostics stay in input order.
  const order = inputs.map((_, i) => i).sort((a, b) => Number(inputs[a]!.kind === 'capture') - Number(inputs[b]!.kind === 'capture') || a - b);
  const byInput: Diagnostic[][] = inputs.map(() => []);
  let inputDiagnostics: Diagnostic[] = [];
  const note = (path: string, list: Diagnostic[], total = list.length): void => {
    problems.set(path, (problems.get(path) ?? 0) + total);
    appendAll(inputDiagnostics, list.slice(0, maxDiag));
    if (total > maxDiag) inputDiagnostics.push({ severity: 'warning', location: { file: path }, message: `${total - maxDiag} more problem(s) in this input not listed` });
  };

  /**
   * Connection attempts nobody answered (attempts.ts): kept as flows up to the threshold, then summarised
   * into bounded groups when the evidence allows it (one capture, no ztunnel, no dump at either end).
   */
  const attemptLimits = opts.attemptLimits ?? ATTEMPT_LIMITS;
  let attempts: AttemptSummary | null = null;
  /** Read order of each flow once attempts are summarised (attempts.ts SummarisedAttempts.flowOrd). */
  const flowOrd: number[] = [];
  let ord = 0;
  let heldAttempts = 0;
  let dumpIps: Set<string> | null = null;
  const summarisable = inputs.filter((i) => i.kind === 'capture').length === 1;
  const attemptAllowed = (f: Flow): boolean => isUnansweredAttempt(f) && !dumpIps!.has(normalizeIp(f.client.ip)) && !dumpIps!.has(normalizeIp(f.server.ip));
  const keepFlow = (raw: Flow): void => {
    const f = flowCompactor.compact(raw);
    if (attempts) {
      if (attemptAllowed(f)) attempts.add(f, ord++);
      else {
        flows.push(f);
        flowOrd.push(ord++);
      }
      return;
    }
    flows.push(f);
    if (!summarisable || ztunnels.length > 0) return;
    if (!dumpIps) {
      // (every dump and log is read by now: captures come last)
      if (ztunnelRecords > 0) return;
      dumpIps = new Set(dumps.flatMap((d) => proxyView(d, []).ips.map(normalizeIp)));
    }
    if (!attemptAllowed(f) || ++heldAttempts <= Math.max(attemptLimits.threshold, MIN_ATTEMPT_THRESHOLD)) return;
    // Past the threshold: the attempts held so far become groups, in read order, and so will the next ones.
    attempts = new AttemptSummary(k8sObjects.length ? FlowLayerEvaluator.fromObjects(k8sObjects, { nodeLayersOnly: true }) : null, attemptLimits);
    let w = 0;
    for (let i = 0; i < flows.length; i++) {
      const x = flows[i]!;
      if (attemptAllowed(x)) attempts.add(x, i);
      else {
        flows[w++] = x;
        flowOrd.push(i);
      }
    }
    ord = flows.length;
    flows.length = w;
  };

  // Progress (opts.onRead): the sizes of the inputs done, plus the bytes read of the one being read.
  const totalBytes = inputs.reduce((a, i) => a + (i.kind === 'unknown' ? 0 : i.bytes), 0);
  let bytesDone = 0;
  let recordsRead = 0;
  let reading: DetectedInput | null = null;
  /** Of the input being read (never back: a capture read in a worker is hashed here after). */
  let readingBytes = 0;
  const onRead = opts.onRead;
  // Inputs read in worker threads get ahead of their turn (the logs and captures after the one read here): counted
  // as they go, so the line does not stand still and then jump. Shown figures never go back (when an input's turn
  // comes, its share moves from `ahead` to this thread's count, which may lag the latest it heard by a message).
  const aheadOf: ReadAhead[] = [parallel, parallelLogs].filter((r): r is CaptureReaders | LogReaders => r?.ahead !== undefined);
  let shownBytes = 0;
  let shownRecords = 0;
  const readAt = (n: number): void => {
    if (!onRead || !reading) return;
    readingBytes = Math.max(readingBytes, Math.min(n, reading.bytes));
    let bytes = bytesDone + readingBytes;
    let records = recordsRead;
    for (const r of aheadOf) {
      const a = r.ahead!();
      bytes += a.bytes;
      records += a.records;
    }
    shownBytes = Math.max(shownBytes, Math.min(bytes, totalBytes));
    shownRecords = Math.max(shownRecords, records);
    onRead({ file: reading.path, kind: reading.kind, bytes: shownBytes, totalBytes, records: shownRecords });
  };

  for (const idx of order) {
    const input = inputs[idx]!;
    inputDiagnostics = byInput[idx]!;
    const p = input.path;
    if (reading) bytesDone += reading.bytes;
    reading = input.kind === 'unknown' ? null : input;
    readingBytes = 0;
    // Captures and logs are hashed in the same pass that parses them; everything else first.
    // (a compressed capture's reader pulls decompressed bytes: its file is hashed first, unless a worker reads it)
    const remote = input.kind === 'capture' ? parallel?.events(p) : undefined;
    const hashInPass = (input.kind === 'capture' && (!input.compressed || remote !== undefined)) || input.kind === 'access-log';
    const fileHash = new FileHash(p);
    // a compressed capture is hashed first, then its compressed bytes are counted as they are parsed (below)
    if (onRead && !(input.kind === 'capture' && input.compressed)) fileHash.onBytes = readAt;
    if (!hashInPass && (input.bytes > 0 || input.kind !== 'unknown' || input.reason === 'empty file')) {
      try {
        hashes.set(p, await fileHash.digest());
      } catch (e) {
        if (input.kind !== 'unknown') unreadable.set(p, describeError(e));
        hashes.set(p, null);
      }
    }
    if (input.damaged) damaged.add(p);
    if (input.kind === 'unknown' || unreadable.has(p)) continue;
    try {
      switch (input.kind) {
        case 'config-dump': {
          const res = await loadConfigDumps([p]);
          appendAll(dumps, res.dumps);
          items.set(p, res.dumps.length);
          note(p, res.diagnostics);
          break;
        }
        case 'ztunnel-config': {
          const z = await readZtunnelConfig(p);
          if (z) {
            ztunnels.push(z);
            items.set(p, z.workloads.length + z.policies.length);
          }
          break;
        }
        case 'access-log': {
          const remote = spill ? parallelLogs?.events(p) : undefined;
          let c: LogReadCounts | null = null;
          let res: LogTaskResult | null = null;
          let seen = 0;
          if (remote && spill) {
            // read in a worker into sorted runs: adopted here, in input order (their records numbered after the ones before)
            let failed: SerializedError | null = null;
            try {
              for await (const ev of remote) {
                if (ev.t === 'progress') {
                  recordsRead += ev.records - seen;
                  seen = ev.records;
                  readAt(ev.bytes);
                } else if (ev.t === 'log') res = ev.result;
                else if (ev.t === 'error') failed = ev.error;
              }
            } catch {
              // the worker itself failed (out of its heap, killed): nothing of its runs is adopted, and the log is read here
              res = null;
              recordsRead -= seen;
              seen = 0;
            }
            if (failed) throw deserializeError(failed);
          }
          if (res && spill) {
            recordsRead += res.records - seen;
            hashes.set(p, res.hash); // (hashed by the worker as it read the file)
            if (res.spillError) throw new SpillError(res.spillError);
            if (res.runs) spill.adopt(res.runs);
            c = { ...res, error: res.error ? deserializeError(res.error) : null };
          } else {
            c = await readLogRecords(p, input.compressed, fileHash, {
              maxDiagnostics: maxDiag,
              window: win,
              compactor,
              keep: spill ? (x) => spill.add(x) : (x) => records.push(x),
              onRecord: () => recordsRead++,
            });
          }
          if (windowCounts) {
            windowCounts.recordsOutside += c.outside;
            windowCounts.recordsWithoutTime += c.withoutTime;
          }
          ztunnelRecords += c.ztunnel;
          if (c.error !== null && !c.damaged) throw c.error;
          items.set(p, c.records);
          note(p, c.stats.diagnostics, c.stats.skipped);
          if (c.damaged) throw c.error;
          if (c.records === 0) unreadable.set(p, `looked like an access log, but no line fits a known format (${c.stats.skipped} line(s) skipped)`);
          break;
        }
        case 'capture': {
          const ds: Diagnostic[] = [];
          let n = 0;
          if (remote) {
            // read in a worker: the same flows and diagnostics; the worker hashes the file as it reads it
            // (its sha256 comes last, after an error too), else it is hashed here after (see below)
            let failed: Error | null = null;
            for await (const ev of remote) {
              if (ev.t === 'flows') {
                for (const f of ev.flows) {
                  n++;
                  if (flowIn(f)) keepFlow(f);
                }
              } else if (ev.t === 'diag') ds.push(ev.d);
              else if (ev.t === 'progress') readAt(ev.fileBytes ?? 0);
              else if (ev.t === 'error') failed ??= deserializeError(ev.error);
              else if (ev.t === 'end') captureTcp.set(p, { ...ev.summary.tcp });
              else if (ev.t === 'sha256') hashes.set(p, ev.sha256);
            }
            if (failed) throw failed;
            items.set(p, n);
            note(p, ds);
            break;
          }
          const stats = newCaptureStats(p);
          for await (const f of flowsFromCapture(input.compressed ? captureFile(p, onRead ? readAt : undefined) : fileHash.capture(), { decoder: keys ? () => createStreamDecoder({ keys }) : createStreamDecoder, onDiagnostic: (d) => ds.push(d) }, stats)) {
            n++;
            if (flowIn(f)) keepFlow(f);
          }
          captureTcp.set(p, { ...stats.tcp });
          items.set(p, n);
          note(p, ds);
          break;
        }
        case 'inventory': {
          const ds: Diagnostic[] = [];
          const before = inventory ? inventory.pods.length + inventory.services.length + inventory.serviceAccounts.length : 0;
          inventory = await readInventory(p, ds, inventory ?? emptyInventory());
          items.set(p, inventory.pods.length + inventory.services.length + inventory.serviceAccounts.length - before);
          note(p, ds);
          // The same file may carry namespaces and policies for the network layers.
          appendAll(k8sObjects, parseK8sObjects(await readWholeText(p), p).objects);
          break;
        }
        case 'network-policy': {
          const res = parseK8sObjects(await readWholeText(p), p);
          appendAll(k8sObjects, res.objects);
          items.set(p, res.objects.length);
          note(p, res.diagnostics);
          break;
        }
        case 'istio-policy': {
          const text = await readWholeText(p);
          const res = toPolicyDocs(text, p);
          appendAll(policies, res.docs);
          // Istio's layers (PeerAuthentication, AuthorizationPolicy) per observed flow, beside the network layers.
          appendAll(k8sObjects, parseK8sObjects(text, p).objects);
          items.set(p, res.docs.length);
          note(p, res.diagnostics);
          break;
        }
      }
    } catch (e) {
      // the spill's temporary disk failing ends the report (the command words it), as at seal
      if (e instanceof SpillError) throw e;
      unreadable.set(p, describeError(e));
      if (isDamagedCompression(e)) damaged.add(p);
      inputDiagnostics.push({ severity: 'error', location: { file: p }, message: `input skipped: ${describeError(e)}` });
    }
    if (hashInPass && !hashes.has(p)) hashes.set(p, await fileHash.digest().catch(() => null));
  }
  const summarised: SummarisedAttempts | undefined = attempts ? { groups: (attempts as AttemptSummary).list(), total: (attempts as AttemptSummary).total, flowOrd } : undefined;
  if (summarised) {
    // Past the group cap a group no longer names each attempt's client: say so (its counts stay exact).
    const folded = summarised.groups.reduce((n, g) => n + (g.fold === 'address' ? 0 : g.count), 0);
    const at = inputs.findIndex((i) => i.kind === 'capture');
    if (folded > 0 && at >= 0) {
      byInput[at]!.push({
        severity: 'warning',
        location: { file: inputs[at]!.path },
        message: `${folded} unanswered connection attempt(s) from client addresses past the first ${attemptLimits.maxKeys} groups were folded into "other addresses" per server port: counted exactly, but their graph edge, timeline rows and per-source NetworkPolicy findings name each group's first attempt, not each client`,
      });
    }
  }
  for (const list of byInput) appendAll(diagnostics, list);

  const proxies: ProxyView[] = dumps.map((d) =>
    proxyView(
      d,
      inboundMtlsModes(d).map((m) => ({ port: m.port === '*' ? null : m.port, mode: m.mode, listener: m.listener, ...(m.chains[0] ? { jsonPath: m.chains[0].jsonPath } : {}) })),
    ),
  );

  if (spill) {
    // Streaming report (report-stream.ts): the records are sealed in the spill; the joins, replay and ztunnel
    // facts are made there, pass by pass.
    opts.onStep?.('sorting the records');
    // (records read on this thread were compacted fully: a buffer of records not rebuilt to size raised the 1M
    // report's peak RSS with --threads 1 from 298 to 360 MB; worker threads compact theirs only as runs need it)
    await spill.seal();
    return { inputs, hashes, items, problems, unreadable, damaged, captureTcp, flows, ...(summarised ? { attempts: summarised } : {}), records, explanations: [], proxies, inventory, policies, k8sObjects, diagnostics, dumps, ztunnels, ztunnelRecords, ...(windowCounts ? { window: windowCounts } : {}) };
  }
  // Records in canonical order (by time, records without a time last; record-spill.ts), as the streaming report reads them.
  canonicalOrder(records);

  // Replay inbound records whose proxy has a dump (outbound records are not subject to the server's RBAC).
  const explanations: Explanation[] = [];
  /** The correlation the replay used, handed to the report (built once: it is the biggest index). */
  let pre: Correlation | undefined;
  const callers = new WaypointCallerIndex();
  for (const r of records) if (r.ztunnel) callers.addRecord(r);
  const replayer = new RecordReplayer({ ztunnels, callers, skewMs: opts.skewMs ?? 2000, compactor });
  if (proxies.length > 0 && records.length > 0) {
    opts.onStep?.('replaying the records');
    pre = correlate(flows, records, [], proxies, inventory, { skewMs: opts.skewMs ?? 2000 });
    for (const r of records) {
      const x = replayer.sidecar(r, pre);
      if (!x) continue;
      explanations.push(x);
    }
  }

  // Ambient: HBONE flows get the identities the ztunnel log shows for them.
  if (records.some((r) => r.ztunnel)) joinHboneFlows(flows, records, opts.skewMs ?? 2000);
  // ... and what the ztunnel config alone decides for them (the caller is the client IP's workload).
  if (ztunnels.length) decideHboneFlows(flows, ztunnels);
  // ztunnel (ambient) records are replayed against the ztunnel config dumps.
  for (const r of records) {
    const x = replayer.ztunnel(r);
    if (x) explanations.push(x);
  }

  if (pre) for (const e of explanations) pre.explanationFor.set(e.record, e);
  return { inputs, hashes, items, problems, unreadable, damaged, captureTcp, flows, ...(summarised ? { attempts: summarised } : {}), records, explanations, proxies, inventory, policies, k8sObjects, diagnostics, dumps, ztunnels, ztunnelRecords, ...(pre ? { correlation: pre } : {}), ...(windowCounts ? { window: windowCounts } : {}) };
}

export { formatLocation };

/** An evidence reference as one string (file, line, frame, stream, index). */
function refKey(r: { file: string; line?: number; frame?: number; stream?: string; index?: number }): string {
  return `${r.file}|${r.line ?? ''}|${r.frame ?? ''}|${r.stream ?? ''}|${r.index ?? ''}`;
}

/**
 * Fills `fields` of the listed requests that show them (cited by a finding, or the replay did not agree) but
 * whose record was kept compact (`compactRecords`): each log holding one is read again and the records at
 * those references give their fields, redacted as the report model redacts them. A reference the log no
 * longer yields (the file changed since it was hashed) keeps `fields: null`; returns how many were filled.
 */
export async function fillElidedFields(model: ReportModel, showSecrets: boolean): Promise<number> {
  const want = new Map<string, Map<string, ReportModel['requests'][number][]>>();
  for (const v of model.requests) {
    if (v.fields !== null || (v.findings.length === 0 && (!v.explanation || v.explanation.verdict === 'agrees'))) continue;
    let byRef = want.get(v.ref.file);
    if (!byRef) want.set(v.ref.file, (byRef = new Map()));
    const k = refKey(v.ref);
    byRef.set(k, [...(byRef.get(k) ?? []), v]);
  }
  let filled = 0;
  for (const [file, byRef] of want) {
    let left = byRef.size;
    try {
      for await (const r of readAccessLogs({ path: file, stream: await openInputStream(file, 'access-log data') }, { stats: newStats(), maxDiagnostics: 0 })) {
        const views = byRef.get(refKey(r.ref));
        if (!views) continue;
        const fields = redactDeep(r.fields, showSecrets) as Record<string, JsonValue>;
        for (const v of views) v.fields = fields;
        filled += views.length;
        byRef.delete(refKey(r.ref));
        if (--left === 0) break;
      }
    } catch {
      // unreadable now: those requests keep fields: null (the manifest holds the hash of what was read)
    }
  }
  return filled;
}

export { inboundXfccModes, withCaptureIdentity, withXfccIdentity } from './replay-identity.js';
