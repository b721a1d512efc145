/** Test helpers: the official Envoy protos shipped in @grpc/grpc-js-xds (never copied into the repo). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const DEPS = fileURLToPath(new URL('../../../node_modules/@grpc/grpc-js-xds/deps/', import.meta.url));
const PB_DESCRIPTOR = fileURLToPath(new URL('../../../node_modules/protobufjs/google/protobuf/descriptor.proto', import.meta.url));
const INCLUDES = ['envoy-api', 'xds', 'protoc-gen-validate', 'googleapis'].map((d) => join(DEPS, d));

export const hasOfficialProtos = existsSync(join(DEPS, 'envoy-api/envoy/service/accesslog/v3/als.proto'));

let root: protobuf.Root | undefined;

/** The official StreamAccessLogsMessage type, loaded from @grpc/grpc-js-xds/deps with protobufjs. */
export function officialRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (_origin: string, target: string) => {
    for (const inc of INCLUDES) {
      const p = join(inc, target);
      if (existsSync(p)) return p;
    }
    if (target === 'google/protobuf/descriptor.proto') return PB_DESCRIPTOR;
    return target; // other google/protobuf/* come from protobufjs's bundled copies
  };
  r.loadSync('envoy/service/accesslog/v3/als.proto', { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/** A rich HTTP batch exercising every part of the closure the tool reads. */
export function sampleHttpMessage(i = 0, withIdentifier = true): Record<string, unknown> {
  return {
    ...(withIdentifier
      ? {
          identifier: {
            node: {
              id: 'sidecar~10.44.1.27~httpbin-7f9c.foo~foo.svc.cluster.local',
              cluster: 'httpbin.foo',
              metadata: { fields: { ISTIO_VERSION: { stringValue: '1.24.0' }, LABELS: { structValue: { fields: { app: { stringValue: 'httpbin' } } } } } },
              locality: { region: 'r1', zone: 'z1', sub_zone: 's1' },
              user_agent_name: 'envoy',
              user_agent_build_version: { version: { major_number: 1, minor_number: 32, patch: 2 } },
              extensions: [{ name: 'envoy.filters.http.rbac', category: 'envoy.filters.http' }],
              client_features: ['envoy.lb.does_not_support_overprovisioning'],
              dynamic_parameters: { 'type.googleapis.com/x': { params: { shard: '7' } } },
            },
            log_name: 'envoy-als',
          },
        }
      : {}),
    http_logs: {
      log_entry: [
        {
          common_properties: {
            downstream_remote_address: { socket_address: { address: '10.44.1.23', port_value: 37652 + i } },
            downstream_local_address: { socket_address: { address: '10.44.1.27', port_value: 80 } },
            downstream_direct_remote_address: { socket_address: { address: '10.44.1.23', port_value: 37652 + i } },
            tls_properties: {
              tls_version: 'TLSv1_3',
              tls_cipher_suite: { value: 4865 },
              tls_sni_hostname: 'outbound_.8000_._.httpbin.foo.svc.cluster.local',
              peer_certificate_properties: { subject_alt_name: [{ uri: 'spiffe://cluster.local/ns/foo/sa/sleep' }], subject: '', issuer: 'O=cluster.local' },
            },
            start_time: { seconds: 1606339578 + i, nanos: 409000000 },
            duration: { seconds: 0, nanos: 3000000 },
            upstream_remote_address: { socket_address: { address: '127.0.0.1', port_value: 80 } },
            upstream_cluster: 'inbound|8000||',
            response_flags: { no_route_found: false, upstream_connection_failure: i % 7 === 3 },
            metadata: { filter_metadata: { 'envoy.filters.http.rbac': { fields: { shadow_engine_result: { stringValue: 'denied' } } } } },
            route_name: 'default',
            filter_state_objects: {},
            custom_tags: { team: 'blue' },
            stream_id: `s-${i}`,
            downstream_wire_bytes_received: '1234',
            access_log_type: 'DownstreamEnd',
          },
          protocol_version: 'HTTP11',
          request: {
            request_method: i % 2 ? 'POST' : 'GET',
            scheme: 'http',
            authority: 'httpbin:8000',
            path: `/status/${i}`,
            user_agent: 'curl/7.73.0-DEV',
            forwarded_for: '',
            request_id: `84961386-6d84-929d-98bd-${String(i).padStart(12, '0')}`,
            request_headers: { 'x-token': 'secret', 'x-tenant': 'a' },
            request_body_bytes: '0',
          },
          response: { response_code: { value: i % 5 === 0 ? 403 : 200 }, response_code_details: i % 5 === 0 ? 'rbac_access_denied_matched_policy[ns[foo]-policy[deny-post]-rule[0]]' : 'via_upstream', response_body_bytes: '135' },
        },
      ],
    },
  };
}

export function sampleTcpMessage(i = 0): Record<string, unknown> {
  return {
    identifier: { node: { id: 'sidecar~10.64.3.9~db-0.data~data.svc.cluster.local' }, log_name: 'tcp-als' },
    tcp_logs: {
      log_entry: [
        {
          common_properties: {
            downstream_remote_address: { socket_address: { address: 'fd00::9', port_value: 45702 + i } },
            downstream_local_address: { socket_address: { address: 'fd00::5', port_value: 5432 } },
            start_time: { seconds: 1664303339, nanos: 313000000 },
            connection_termination_details: 'rbac_access_denied_matched_policy[none]',
          },
          connection_properties: { received_bytes: '233', sent_bytes: '0' },
        },
      ],
    },
  };
}
