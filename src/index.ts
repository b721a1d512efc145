/**
 * meshsleuth as a library: the same layers the CLI uses, in data-flow order.
 * readers → protocols → model → engines (rbac, envoy) → analysis → report.
 */
export * from './model/index.js';
export { VERSION } from './version.js';

// Readers
export { loadConfigDumps, parseConfigDump, isConfigDump } from './readers/configdump/index.js';
export { parseStructured } from './readers/structured.js';
export { captureFile, captureBuffer, readCaptureFrames, readTcpSegments, newCaptureStats } from './readers/capture/index.js';
export { readAccessLogs, readAccessLogBatches, isAccessLog } from './readers/accesslog/index.js';
export { AlsCollector } from './readers/accesslog/collector.js';
export { readInventory, parseInventory, WorkloadIndex } from './readers/inventory.js';
export { detectInputs } from './readers/detect.js';

// Protocol decoders (pure)
export { createStreamDecoder } from './protocols/index.js';
export type { StreamDecoder, StreamFacts } from './protocols/stream.js';

// Engines
export { parseRbacFilter, parseRbacPerRoute, evaluateRbacFilter, closestMiss, explainText, RbacConfigError } from './rbac/index.js';
export { decideRequest, decideWithFilter } from './envoy/decide.js';
export { selectFilterChain } from './envoy/select.js';
export { matchRoute } from './envoy/routes.js';
export type { ConfigDump, Listener, FilterChain, NetworkFilter, HttpFilter, RouteConfiguration } from './envoy/model.js';
export { toSnakeCase, toCamelCase } from './envoy/normalize.js';

// Istio conventions
export { parsePolicyId } from './istio/policy-id.js';
export { inboundMtlsModes } from './istio/mtls.js';
export { parseIstioSni, isIstioAlpn } from './istio/traffic.js';
export { compileForWorkload, compileToConfigDump } from './istio/compile/index.js';

// Analysis
export { flowsFromCapture } from './analysis/flows.js';
export { explainRecord, deciderOver } from './analysis/explain.js';
export { gatherEvidence } from './analysis/evidence.js';
export { buildReportModel } from './analysis/report-model.js';
export { buildReportStreaming, type RecordSource } from './analysis/report-stream.js';
export { RecordSpill } from './analysis/record-spill.js';
export { computeFindings, FINDING_IDS } from './analysis/findings.js';

// Reporters
export { renderHtml } from './report/html.js';
export { renderSarif } from './report/sarif.js';
