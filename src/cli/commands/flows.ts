/**
 * `meshsleuth flows <captures...>`: one row per TCP flow with its security verdict (mtls, tls,
 * plaintext, unknown), its evidence, protocol, SNI/ALPN, identities and first requests.
 */
import type { Argv, CommandModule } from 'yargs';
import { asList, asListOf, expandDirectories, EXIT_FAIL_ON, EXIT_OK, EXIT_USAGE, outputOption, parseFailOn, runCommand, OutputBatch, UsageError, warn, writeOut } from '../common.js';
import { startProgress, knownSize } from '../progress.js';
import { AUTO_MIN_CAPTURE_BYTES, PIPELINE_HELP, pipelineCapture, runTasks, threadSetting, threadsOption, workerCount } from '../parallel.js';
import { captureEvents, deserializeError, unfinishedLine, type CaptureEvent, type CaptureFileSummary } from '../../analysis/capture-events.js';
import { FRAGMENT_DROP_TEXT, type FragmentDropReason } from '../../readers/capture/index.js';
import { checkAgainstConfig, type ProxyPorts } from '../../analysis/flows.js';
import { accountingLine, type CaptureAccounting, type UdpConversationRecord } from '../../analysis/capture-stats.js';
import type { Flow, FlowSecurity } from '../../model/records.js';
import { InputError, formatLocation, type Diagnostic } from '../../model/errors.js';
import { renderTable } from '../../report/table.js';
import { redactAppFacts, redactHeaders, redactStatement } from '../../model/redact.js';
import { legScope, leftThePod, isPlaintextThatLeftThePod, type LegScope } from '../../analysis/scope.js';
import { appendAll } from '../../model/arrays.js';
import { DecryptionCounts, decryptionLine, loadKeyLog } from '../keylog.js';

const SECURITIES: readonly FlowSecurity[] = ['mtls', 'tls', 'plaintext', 'unknown'];
const FAIL_ON = ['plaintext', 'tls', 'unknown', 'not-mtls', 'config-mismatch', 'policy-deny'] as const;

interface FlowsArgs {
  captures: string[];
  output: string;
  security?: string[];
  port?: number[];
  host?: string[];
  'fail-on'?: string[];
  config?: string[];
  'show-secrets': boolean;
  'include-sidecar-local': boolean;
  threads?: string;
  keylog?: string[];
}

/** Options given once are scalars, repeated ones arrays (yargs): always an array here; commas split. */
function list<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function endpoint(e: { ip: string; port: number }): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/**
 * The JSON form of a flow (DESIGN.md contract) with its `scope` (analysis/scope.ts: sidecar-local,
 * loopback or unattributed; `flows` has no inventory, so no address is a workload), secrets redacted
 * unless asked.
 */
export function flowJson(f: Flow, showSecrets: boolean): Flow & { scope: LegScope } {
  const scope = legScope(f);
  if (showSecrets || (f.http.length === 0 && !f.app)) return { ...f, scope };
  const app = f.app ? { app: redactAppFacts(f.app) } : {};
  return {
    ...f,
    ...app,
    scope,
    http: f.http.map((x) => ({
      ...x,
      headers: redactHeaders(x.headers),
      ...(x.responseHeaders ? { responseHeaders: redactHeaders(x.responseHeaders) } : {}),
    })),
  };
}

/**
 * One NDJSON line: JSON.stringify(flowJson(f)) byte for byte. A flow with nothing to redact is serialised as it
 * is with its scope appended (the copy `{ ...f, scope }` made, and stringifying that copy cost, three times what
 * serialising the flow does: a third of the output's time on a large capture).
 */
export function flowLine(f: Flow, showSecrets: boolean): string {
  if ((showSecrets || (f.http.length === 0 && !f.app)) && !Object.prototype.hasOwnProperty.call(f, 'scope')) {
    const s = JSON.stringify(f);
    if (s.length > 2 && s.endsWith('}')) return `${s.slice(0, -1)},"scope":${JSON.stringify(legScope(f))}}`;
  }
  return JSON.stringify(flowJson(f, showSecrets));
}

function securityCell(f: Flow): string {
  let s: string = f.security;
  if (f.inferred) s += f.evidence.includes('istio-hbone') ? '**' : '*';
  const scope = legScope(f);
  if (!leftThePod(scope)) s += ` (${scope})`;
  return s;
}

/** `spiffe://cluster.local/ns/foo/sa/sleep` → `ns/foo/sa/sleep` in tables (the default trust domain); JSON keeps the full id. */
function shortId(id: string): string {
  return id.startsWith('spiffe://cluster.local/') ? id.slice('spiffe://cluster.local/'.length) : id;
}

function identities(f: Flow): string {
  const t = f.tls;
  if (!t) return '';
  const parts: string[] = [];
  if (t.uriSans.length) parts.push(`client=${t.uriSans.map(shortId).join(',')}`);
  else if (t.clientCertificateSent && t.subject) parts.push(`client=${t.subject}`);
  if (t.serverUriSans?.length) parts.push(`server=${t.serverUriSans.map(shortId).join(',')}`);
  else if (t.serverDnsSans?.length) parts.push(`server=${t.serverDnsSans[0]}${t.serverDnsSans.length > 1 ? ',…' : ''}`);
  return parts.join(' ');
}

/** A cleartext database session in the requests column: `user wp db wordpress: SELECT …` (redacted). */
function statements(f: Flow, showSecrets: boolean): string {
  const a = f.app!;
  const who = [a.user !== undefined ? `user ${a.user}` : '', a.database !== undefined ? `db ${a.database}` : ''].filter(Boolean).join(' ');
  const qs = a.statements.filter((x) => x.kind !== 'login').slice(0, 2).map((x) => {
    const t = redactStatement(a.protocol, x.text, showSecrets).replace(/\s+/g, ' ');
    return t.length > 60 ? `${t.slice(0, 59)}…` : t;
  });
  const n = a.statements.filter((x) => x.kind !== 'login').length + a.statementsNotKept;
  return `${who}${who && qs.length ? ': ' : ''}${qs.join('; ')}${n > 2 ? ` (+${n - 2})` : ''}`;
}

function requests(f: Flow, showSecrets = false): string {
  if (f.app && f.http.length === 0) return statements(f, showSecrets);
  const reqs = f.http.filter((h) => h.method || h.path).slice(0, 2).map((h) => `${h.method ?? '?'} ${h.authority ? h.authority : ''}${h.path ?? ''}${h.status !== undefined ? ` → ${h.status}` : ''}`);
  const more = f.http.length > 2 ? ` (+${f.http.length - 2})` : '';
  return reqs.join('; ') + more;
}

/** How a flow was carried, for tables: "vxlan 4096 192.168.10.1→192.168.10.2" (outermost first when nested). */
function tunnelCell(f: Flow): string {
  const t = f.tunnel;
  if (!t) return '';
  return t.layers
    .map((l) => `${l.kind}${l.vni !== undefined ? ` ${l.vni}` : l.key !== undefined ? ` key ${l.key}` : l.session !== undefined ? ` session ${l.session}` : ''} ${l.outer.src}→${l.outer.dst}`)
    .join(' / ');
}

/** `allow`, or `deny networkpolicy: NetworkPolicy ns/name ingress[0]` (the first layer that denies). */
/** What the client sidecar sent and why (both halves), short: `passthrough: undeclared port 9002 …`. */
function clientCell(f: Flow): string {
  const c = f.halves?.client;
  if (!c) return '-';
  const mism = f.halves!.mismatches.length ? ' MISMATCH' : '';
  if (!c.explaining.length) return mism ? 'not this config MISMATCH' : 'undecidable';
  return c.explaining.map((p) => `${p.mode}: ${p.cause}`).join(' | ') + mism;
}

function layersCell(f: Flow): string {
  const v = f.networkLayers;
  if (!v) return '-';
  if (!v.deniedBy) return v.verdict;
  const l = v.layers.find((x) => x.layer === v.deniedBy);
  return `deny ${v.deniedBy}: ${l?.decidedBy ?? '-'}`;
}

function tableOf(flows: Flow[], withConfig: boolean, wide: boolean, showSecrets = false): string {
  const headers = ['client', 'server', 'security', 'evidence', 'protocol', 'sni / alpn', 'identities', 'requests', 'frames'];
  if (withConfig) headers.splice(4, 0, 'port mode');
  const halves = flows.some((f) => f.halves?.client);
  if (halves) headers.splice(withConfig ? 5 : 4, 0, 'client sent');
  const layers = flows.some((f) => f.networkLayers);
  if (layers) headers.splice((withConfig ? 5 : 4) + (halves ? 1 : 0), 0, 'policy layers');
  // the tunnel column only when a flow came out of one; wide adds what a tshark/Zeek user expects
  const tunnels = flows.some((f) => f.tunnel);
  if (tunnels) headers.push('tunnel');
  if (wide) headers.push('duration', 'bytes c→s/s→c', 'conn_state', 'cipher', 'ja4', 'ja3');
  const rows = flows.map((f) => {
    const sniAlpn = f.tls ? [f.tls.sni ?? '-', f.tls.alpnSelected ?? (f.tls.alpn.length ? f.tls.alpn.join(',') : '-')].join(' / ') : '';
    const frames = f.frames.length ? `${f.frames[0]}-${f.frames[f.frames.length - 1]}` : '';
    const row = [endpoint(f.client), endpoint(f.server), securityCell(f), f.evidence.join(','), f.protocol, sniAlpn, identities(f), requests(f, showSecrets), frames];
    if (withConfig) {
      const c = f.configCheck;
      row.splice(4, 0, c ? `${c.mode}${c.consistent === false ? ' MISMATCH' : ''}` : '-');
    }
    if (halves) row.splice(withConfig ? 5 : 4, 0, clientCell(f));
    if (layers) row.splice((withConfig ? 5 : 4) + (halves ? 1 : 0), 0, layersCell(f));
    if (tunnels) row.push(tunnelCell(f));
    if (wide) {
      row.push(
        f.duration !== undefined ? `${f.duration.toFixed(3)}s` : '',
        `${f.bytes.clientToServer}/${f.bytes.serverToClient}`,
        f.connState ?? '',
        f.tls?.cipherSuiteName ?? '',
        f.tls?.ja4 ?? '',
        f.tls?.ja3 ?? '',
      );
    }
    return row;
  });
  // a narrow terminal shows who, how secure, what protocol and which identities first (report/table.ts)
  return renderTable({ headers: headers.map((h) => h.toUpperCase()), rows, dropFirst: ['FRAMES', 'TUNNEL', 'EVIDENCE', 'SNI / ALPN', 'REQUESTS'] });
}

/** UDP conversations shown in the table at most (`-o json` lists them all). */
const UDP_TABLE_ROWS = 20;

/** UDP conversations, Zeek conn.log style: they are listed, not judged. */
function udpTableOf(convs: UdpConversationRecord[]): string {
  const headers = ['ORIGINATOR', 'RESPONDER', 'SERVICE', 'START', 'DURATION', 'PKTS O/R', 'BYTES O/R', 'CONN_STATE', 'TUNNEL'];
  const rows = convs.slice(0, UDP_TABLE_ROWS).map((c) => [
    endpoint(c.client),
    endpoint(c.server),
    c.service ?? '-',
    c.start,
    `${c.duration.toFixed(3)}s`,
    `${c.packets.clientToServer}/${c.packets.serverToClient}`,
    `${c.bytes.clientToServer}/${c.bytes.serverToClient}`,
    c.connState,
    c.tunnel ? c.tunnel.map((t) => t.kind).join('/') : '',
  ]);
  const more = convs.length > UDP_TABLE_ROWS ? `… ${convs.length - UDP_TABLE_ROWS} more (-o json lists all)\n` : '';
  return `UDP conversations (listed, not judged for security):\n${renderTable({ headers, rows })}${more}`;
}

/** Verdict counts for the summary line (kept as counters so streaming output stays bounded). */
export class FlowCounts {
  total = 0;
  by: Record<FlowSecurity, number> = { mtls: 0, tls: 0, plaintext: 0, unknown: 0 };
  sidecarPlain = 0;
  loopbackPlain = 0;
  inferred = 0;
  add(f: Pick<Flow, 'security' | 'sidecarLocal' | 'inferred' | 'client' | 'server'>): void {
    this.total++;
    this.by[f.security]++;
    if (f.security === 'plaintext') {
      const scope = legScope(f);
      if (scope === 'sidecar-local') this.sidecarPlain++;
      else if (scope === 'loopback') this.loopbackPlain++;
    }
    if (f.inferred) this.inferred++;
  }
}

/** `37 flows: 30 mtls, 2 tls, 5 plaintext (3 sidecar-local, 1 loopback)`: the plaintext not in parentheses left the pod. */
export function summaryLine(c: FlowCounts): string {
  const n = c.by;
  const parts: string[] = [];
  if (n.mtls) parts.push(`${n.mtls} mtls${c.inferred ? ` (${c.inferred} inferred)` : ''}`);
  if (n.tls) parts.push(`${n.tls} tls`);
  const stayed = [c.sidecarPlain ? `${c.sidecarPlain} sidecar-local` : '', c.loopbackPlain ? `${c.loopbackPlain} loopback` : ''].filter(Boolean);
  if (n.plaintext) parts.push(`${n.plaintext} plaintext${stayed.length ? ` (${stayed.join(', ')})` : ''}`);
  if (n.unknown) parts.push(`${n.unknown} unknown`);
  return `${c.total} flow${c.total === 1 ? '' : 's'}${parts.length ? ': ' + parts.join(', ') : ''}`;
}

function matches(f: Flow, a: FlowsArgs): boolean {
  if (a.security?.length) {
    const want = a.security;
    const ok = want.some((s) => (s === 'sidecar-local' || s === 'loopback' ? legScope(f) === s : s === f.security));
    if (!ok) return false;
  }
  if (a.port?.length && !a.port.some((p) => p === f.server.port || p === f.client.port)) return false;
  if (a.host?.length) {
    const hay = [f.client.ip, f.server.ip, f.tls?.sni ?? '', ...f.http.map((h) => h.authority ?? '')].map((s) => s.toLowerCase());
    if (!a.host.some((h) => hay.some((x) => x === h.toLowerCase() || (x !== '' && x.split(':')[0] === h.toLowerCase()) || (h.includes('.') && x.endsWith('.' + h.toLowerCase()))))) return false;
  }
  return true;
}

/** --port and --host apply to UDP conversations too (--security does not: they are not judged). */
function udpMatches(c: UdpConversationRecord, a: FlowsArgs): boolean {
  if (a.port?.length && !a.port.some((p) => p === c.server.port || p === c.client.port)) return false;
  if (a.host?.length && !a.host.some((h) => h.toLowerCase() === c.client.ip || h.toLowerCase() === c.server.ip)) return false;
  return true;
}

function failOnHit(f: Flow, conds: Set<string>): boolean {
  // Only traffic that left the pod counts (analysis/scope.ts): sidecar-local and loopback legs never do.
  if (conds.has('plaintext') && isPlaintextThatLeftThePod(f)) return true;
  if (conds.has('tls') && f.security === 'tls') return true;
  if (conds.has('unknown') && f.security === 'unknown') return true;
  if (conds.has('not-mtls') && f.security !== 'mtls' && leftThePod(legScope(f))) return true;
  if (conds.has('config-mismatch') && (f.configCheck?.consistent === false || (f.halves?.mismatches.length ?? 0) > 0)) return true;
  if (conds.has('policy-deny') && f.networkLayers?.verdict === 'deny') return true;
  return false;
}

function diagLine(d: Diagnostic): string {
  const where = formatLocation(d.location);
  return `${d.severity}: ${where ? where + ': ' : ''}${d.message}`;
}

export const flowsCommand: CommandModule<object, FlowsArgs> = {
  builder: (y: Argv) =>
    threadsOption(outputOption(y, ['table', 'wide', 'json', 'ndjson', 'yaml']), PIPELINE_HELP)
      .positional('captures', { type: 'string', array: true, describe: 'pcap or pcapng files; `-` for standard input' })
      .option('security', { type: 'string', coerce: asListOf([...SECURITIES, 'sidecar-local', 'loopback']), describe: 'only flows with this verdict (mtls, tls, plaintext, unknown) or scope (sidecar-local, loopback); repeatable or comma-separated' })
      .option('port', { type: 'string', coerce: asList, describe: 'only flows with this client or server port' })
      .option('host', { type: 'string', coerce: asList, describe: 'only flows whose client/server IP, SNI or HTTP authority is this host (or a subdomain of it)' })
      .option('fail-on', { type: 'string', coerce: asListOf(FAIL_ON), describe: `exit 1 when a listed flow exists: ${FAIL_ON.join(', ')} (plaintext and not-mtls count only traffic that left the pod: never sidecar-local or loopback legs)` })
      .option('config', { type: 'string', coerce: asList, describe: 'config dump(s) of the destination proxy (each verdict checked against the port\'s mTLS mode) and/or Kubernetes, Calico and Istio objects (inventory, NetworkPolicy, Calico policy, AuthorizationPolicy, PeerAuthentication: every policy layer\'s verdict per flow); files or directories' })
      .option('show-secrets', { type: 'boolean', default: false, describe: 'do not redact Authorization, Cookie and token headers' })
      .option('include-sidecar-local', { type: 'boolean', default: true, describe: 'list app↔sidecar legs (use --no-include-sidecar-local to hide them)' })
      .option('keylog', { type: 'string', coerce: asList, describe: 'NSS key log file(s) (SSLKEYLOGFILE, Envoy key_log): decrypt TLS 1.2/1.3 sessions, show the TLS 1.3 client certificate and the HTTP inside' })
      .example('$0 flows capture.pcap', 'table of flows and verdicts')
      .example('tcpdump -i any -w - | $0 flows - -o ndjson', 'stream from a live capture')
      .example('$0 flows pod.pcap --security plaintext --fail-on plaintext', 'CI gate: fail on cleartext that left the pod')
      .example('$0 flows pod.pcap --keylog sslkeys.log', 'decrypt TLS sessions: proven mTLS and the HTTP inside') as unknown as Argv<FlowsArgs>,
  handler: (argv) =>
    runCommand(async () => {
      const security = list(argv.security).flatMap((s) => String(s).split(',')).map((s) => s.trim()).filter(Boolean);
      for (const s of security) {
        if (!(SECURITIES as readonly string[]).includes(s) && s !== 'sidecar-local' && s !== 'loopback') throw new UsageError(`--security: unknown verdict '${s}' (expected one of ${[...SECURITIES, 'sidecar-local', 'loopback'].join(', ')})`);
      }
      const portTexts = list(argv.port).flatMap((p) => String(p).split(',')).map((p) => p.trim());
      for (const p of portTexts) {
        if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new UsageError(`--port: expected a port number 0-65535, found '${p}'`);
      }
      const ports = portTexts.map(Number);
      const failOn = parseFailOn(list(argv['fail-on']), FAIL_ON);
      const configs = list(argv.config);
      const hosts = list(argv.host).flatMap((h) => String(h).split(','));
      if ((argv.captures ?? []).length === 0) throw new UsageError('name at least one capture file (pcap or pcapng), or `-` for standard input');
      const captures = await expandDirectories(argv.captures, 'capture', 'pcap or pcapng captures');
      const args: FlowsArgs = { ...argv, security, captures, port: ports, host: hosts };
      // (the config side — dumps, Kubernetes objects, every policy engine — loads only with --config)
      const config = configs.length ? await (await import('../../analysis/flow-config.js')).loadFlowConfig(configs) : null;
      const flowHalves = config?.proxies.length ? (await import('../../analysis/both-halves.js')).flowHalves : null;
      for (const d of config?.diagnostics ?? []) warn(diagLine(d));
      const proxies = config?.proxies ?? [];
      const layers = config?.layers ?? null;
      const layerDiagnostics = layers?.inputs.diagnostics.length ?? 0;
      /** Flows that left a pod but touch no pod the inventory knows: no layer can judge them (counted, said). */
      let noLayers = 0;
      if (failOn.has('config-mismatch') && !proxies.length) throw new UsageError('--fail-on config-mismatch needs --config with a config dump');
      if (failOn.has('policy-deny') && !layers) throw new UsageError('--fail-on policy-deny needs --config with Kubernetes objects: pods (an inventory) and policies');
      const keylogs = list(argv.keylog).flatMap((k) => String(k).split(',')).filter(Boolean);
      // read here first: a bad key log is a usage error before any capture is read (workers read it again)
      const keys = await loadKeyLog(keylogs);
      const decryption = new DecryptionCounts();
      const fmt = argv.output;
      const kept: Flow[] = [];
      const udp: UdpConversationRecord[] = [];
      const accounting: CaptureAccounting[] = [];
      /** Verdicts of every listed flow (ndjson streams flows without keeping them). */
      const listed = new FlowCounts();
      let total = 0;
      let unreadable = 0;
      let failHit = false;
      const size = await knownSize(captures);
      // progress counts the bytes read from each file (a compressed capture: its compressed bytes), against the files' sizes
      const prog = startProgress({ label: 'flows', totalBytes: await knownSize(captures, { compressed: true }), unit: 'frames' });
      const setting = threadSetting(argv.threads);
      // One capture on two cores: read and decoded here, TCP and the protocol decoders in a worker.
      const pipeline = captures.length === 1 && pipelineCapture(setting, size) ? (await import('../capture-pipeline.js')).pipelinedCaptureEvents : null;
      const threads = pipeline ? 0 : workerCount(setting, captures.includes('-') ? 0 : captures.length, size ?? 0, AUTO_MIN_CAPTURE_BYTES);
      // In parallel: each capture in a worker, consumed here in input order (the output is the same).
      // ndjson writes flows as it goes, so a capture whose turn has not come is held to a window.
      const pool = threads > 0 ? runTasks(captures.map((path) => ({ kind: 'flows-capture' as const, path, ...(keylogs.length ? { keylog: keylogs } : {}) })), threads, fmt === 'ndjson' ? 64 : Infinity) : null;
      let doneBytes = 0;
      let doneFrames = 0;
      try {
        for (const [index, path] of captures.entries()) {
          const events = (pool ? pool.streams[index]! : pipeline ? pipeline(path, keylogs) : captureEvents(path, keys ?? undefined)) as AsyncIterable<CaptureEvent>;
          const fileStart = kept.length;
          let fileBytes = 0;
          let fileFrames = 0;
          let summary: CaptureFileSummary | null = null;
          // ndjson lines wait in a batch until the next event that is not flows (progress comes after every batch
          // of frames, so flows still print as connections end) or the batch is full (the end of a capture
          // completes every open connection at once): one write per batch, not a write and its wait per flow
          // (~5% of flows' time), and stdout still in step with the warnings on stderr
          const lines = new OutputBatch();
          try {
            for await (const ev of events) {
              if (ev.t !== 'flows') await lines.flush();
              if (ev.t === 'progress') {
                fileBytes = ev.fileBytes ?? ev.bytes;
                fileFrames = ev.frames;
                prog.update({ bytes: doneBytes + fileBytes, records: doneFrames + fileFrames, detail: captures.length > 1 ? `${index + 1}/${captures.length}` : undefined });
              } else if (ev.t === 'diag') {
                prog.clear();
                warn(diagLine(ev.d));
              } else if (ev.t === 'error') {
                prog.clear();
                const err = deserializeError(ev.error);
                if (err instanceof InputError) warn(err.message);
                else if (isFsError(err)) warn(`${path}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`);
                else throw err;
                unreadable++;
              } else if (ev.t === 'end') summary = ev.summary;
              else {
                for (const f of ev.flows) {
                  if (proxies.length) {
                    const c = checkAgainstConfig(f, proxies);
                    if (c) f.configCheck = c;
                    const h = flowHalves!(f, config?.dumps ?? []);
                    if (h) f.halves = h;
                  }
                  if (layers) {
                    const v = layers.decide(f);
                    if (v) f.networkLayers = v;
                    else if (!f.sidecarLocal) noLayers++;
                  }
                  total++;
                  if (!args['include-sidecar-local'] && f.sidecarLocal) continue;
                  if (!matches(f, args)) continue;
                  listed.add(f);
                  decryption.add(f);
                  if (failOnHit(f, failOn)) failHit = true;
                  if (fmt !== 'ndjson') kept.push(f);
                  else if (lines.add(flowLine(f, argv['show-secrets']) + '\n')) await lines.flush();
                }
              }
            }
          } finally {
            // (also when reading fails: the flows before it are printed, as they were one by one)
            await lines.flush();
          }
          doneBytes += fileBytes;
          doneFrames += fileFrames;
          if (!summary) continue;
          prog.clear();
          // Flows come out as connections end; list them in capture order (first packet).
          const mine = kept.splice(fileStart).sort((a, b) => (a.stream ?? 0) - (b.stream ?? 0));
          appendAll(kept, mine);
          if (summary.hadError) unreadable++;
          const fr = summary.fragments;
          if (fr.dropped > 0) {
            const why = Object.entries(fr.droppedBy).map(([k, n]) => `${n} ${FRAGMENT_DROP_TEXT[k as FragmentDropReason]}`);
            warn(`${path}: ${fr.dropped} IP fragment(s) could not be reassembled (${why.join(', ')}; ${fr.reassembled} datagram(s) reassembled from ${fr.seen} fragments)`);
          }
          const unfinished = unfinishedLine(path, summary.tcp);
          if (unfinished) warn(unfinished);
          // Never silent: every frame that gave no TCP segment is accounted for by reason.
          const acc = summary.accounting;
          accounting.push(acc);
          const line = accountingLine(acc);
          if (line) warn(line);
          if (fmt !== 'ndjson' && !args.security?.length) udp.push(...summary.udp.filter((c) => udpMatches(c, args)));
        }
      } finally {
        prog.done();
        await pool?.close();
      }
      if (noLayers) warn(`${noLayers} flow(s) between addresses no pod in the --config inventory owns: no per-layer verdict for them`);
      // The Istio compiler's diagnostics appear as destinations are first compiled.
      for (const m of new Set((layers?.inputs.diagnostics ?? []).slice(layerDiagnostics).map(diagLine))) warn(m);
      const doc = () => ({
        flows: kept.map((f) => flowJson(f, argv['show-secrets'])),
        udp,
        stats: accounting,
        ...(keys ? { decryption: { sessions: decryption.total, decrypted: decryption.decrypted, noKey: decryption.noKey, failed: decryption.failed, unsupported: decryption.unsupported } } : {}),
      });
      const udpCount = accounting.reduce((n, a) => n + a.udp.conversations, 0);
      const udpNote = udpCount ? `; ${udpCount} UDP conversation${udpCount === 1 ? '' : 's'} (listed, not judged)` : '';
      if (fmt === 'json') await writeOut((await import('../../report/serialize.js')).toJson(doc()));
      else if (fmt === 'yaml') await writeOut((await import('../../report/serialize.js')).toYaml(doc()));
      else if (fmt === 'table' || fmt === 'wide') {
        if (kept.length) await writeOut(tableOf(kept, proxies.length > 0, fmt === 'wide', argv['show-secrets']));
        if (udp.length) await writeOut(`${kept.length ? '\n' : ''}${udpTableOf(udp)}`);
        const sum = summaryLine(listed) + udpNote;
        const filtered = listed.total !== total ? ` (of ${total} in the capture${captures.length > 1 ? 's' : ''})` : '';
        // One footnote per kind of inference: a sidecar's Istio ClientHello, or ambient's HBONE (src/ztunnel/hbone.ts).
        const hbone = kept.some((f) => f.inferred && f.evidence.includes('istio-hbone'));
        const sidecar = kept.some((f) => f.inferred && !f.evidence.includes('istio-hbone'));
        const inferred = (sidecar ? '\n* inferred from the Istio ClientHello (ALPN istio*/SNI outbound_.*): TLS 1.3 and resumed sessions hide the client certificate' : '')
          + (hbone ? `\n** istio-hbone: ambient HBONE (TLS 1.3 to port 15008, ALPN exactly h2, no SNI), mutual by construction; TLS 1.3 encrypts both certificates, so the identities are only in the ztunnel log (report joins them)` : '');
        await writeOut(`${kept.length || udp.length ? '\n' : ''}${sum}${filtered}${inferred}\n`);
      }
      if (fmt !== 'table' && fmt !== 'wide') process.stderr.write(`${summaryLine(listed)}${udpNote}\n`);
      if (keys) warn(decryptionLine(decryption));
      if (unreadable > 0 || (config?.unusable ?? 0) > 0) return EXIT_USAGE;
      return failHit ? EXIT_FAIL_ON : EXIT_OK;
    }),
};

function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && 'syscall' in err;
}
