/**
 * Built-in access-log formats, by name. Sources: istio/istio `pilot/pkg/model/telemetry_logging.go`
 * (`EnvoyTextLogFormat`, `EnvoyJSONLogFormatIstio`), Istio ≤1.8's mixer-era default, and Envoy's
 * default format (`source/common/formatter/substitution_format_string.cc` / docs "Default format string").
 * See ../shared/research/istio.md §4.1–4.2.
 */

/** Istio ≥ 1.24 default TEXT format (`%UPSTREAM_CLUSTER_RAW%`). */
export const ISTIO_TEXT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** Istio 1.9–1.23 default TEXT format (`%UPSTREAM_CLUSTER%`). Lines are identical in shape to ISTIO_TEXT. */
export const ISTIO_TEXT_1_9 = ISTIO_TEXT.replace('%UPSTREAM_CLUSTER_RAW%', '%UPSTREAM_CLUSTER%');

/** Istio ≤ 1.8 default TEXT format: mixer status instead of RESPONSE_CODE_DETAILS / CONNECTION_TERMINATION_DETAILS. */
export const ISTIO_TEXT_PRE_1_9 =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%DYNAMIC_METADATA(istio.mixer:status)%" "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** Envoy's default format (used when a file access log has no format). */
export const ENVOY_DEFAULT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

/** Istio's JSON encoding (`EnvoyJSONLogFormatIstio`): key → operator. `upstream_cluster` is `%UPSTREAM_CLUSTER_RAW%` since 1.25. */
export const ISTIO_JSON: Record<string, string> = {
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER_RAW%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
};

/** Key names seen in JSON logs that are not operator names (Istio, older Istio, Envoy Gateway). */
export const KNOWN_JSON_KEYS: Record<string, string> = {
  ...ISTIO_JSON,
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  istio_policy_status: '%DYNAMIC_METADATA(istio.mixer:status)%',
  // Envoy Gateway's default JSON access log.
  ':authority': '%REQ(:AUTHORITY)%',
  'x-envoy-origin-path': '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  'x-envoy-original-path': '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  'x-envoy-upstream-service-time': '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  'x-forwarded-for': '%REQ(X-FORWARDED-FOR)%',
  'user-agent': '%REQ(USER-AGENT)%',
  'x-request-id': '%REQ(X-REQUEST-ID)%',
  authority_for: '%REQ(:AUTHORITY)%',
  trace_id: '%REQ(X-B3-TRACEID)%',
  peer_uri_san: '%DOWNSTREAM_PEER_URI_SAN%',
  source_principal: '%DOWNSTREAM_PEER_URI_SAN%',
};

export interface BuiltinFormat {
  name: string;
  kind: 'text' | 'json';
  /** Text format string, or JSON key → operator map. */
  text?: string;
  json?: Record<string, string>;
  describe: string;
}

export const BUILTIN_FORMATS: BuiltinFormat[] = [
  { name: 'istio', kind: 'text', text: ISTIO_TEXT, describe: "Istio's default TEXT format (1.24+, %UPSTREAM_CLUSTER_RAW%)" },
  { name: 'istio-1.9', kind: 'text', text: ISTIO_TEXT_1_9, describe: "Istio 1.9–1.23 default TEXT format (%UPSTREAM_CLUSTER%)" },
  { name: 'istio-pre-1.9', kind: 'text', text: ISTIO_TEXT_PRE_1_9, describe: 'Istio ≤1.8 default TEXT format (mixer status field)' },
  { name: 'envoy', kind: 'text', text: ENVOY_DEFAULT, describe: "Envoy's default format" },
  { name: 'istio-json', kind: 'json', json: ISTIO_JSON, describe: "Istio's JSON encoding (accessLogEncoding: JSON)" },
];

export function builtinFormat(name: string): BuiltinFormat | undefined {
  return BUILTIN_FORMATS.find((f) => f.name === name);
}
