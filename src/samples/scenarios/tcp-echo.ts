/**
 * tcp-echo — istio.io "Authorization for TCP traffic" in namespace foo: Service ports 9000/9001, the pod also
 * listens on 9002. ALLOW ports 9000+9001; ALLOW with an HTTP-only `methods` field (dropped on TCP → deny all);
 * DENY with only `methods` (→ deny all); DENY `methods` + port 9000 (9000 denied, 9001 allowed).
 */
import type { Call, PodDef, Scenario } from '../bundle.js';
import { stages } from './common.js';

const pods: PodDef[] = [
  { name: 'tcp-echo-7f8c7b8d5-xq2lr', namespace: 'foo', app: 'tcp-echo', version: 'v1', serviceAccount: 'default', ip: '10.244.2.31', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'docker.io/istio/tcp-echo-server:1.3', containerPorts: [9000, 9001, 9002] },
  { name: 'sleep-9454cc476-6bnvh', namespace: 'foo', app: 'sleep', serviceAccount: 'sleep', ip: '10.244.1.32', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'curlimages/curl:8.5.0', containerPorts: [] },
];
const ECHO = pods[0]!.name;
const SLEEP = pods[1]!.name;

const st = stages([
  { id: 'no-policy', title: 'No policy: all three ports answer', start: '2026-11-22T11:00:00.000Z' },
  {
    id: 'allow-ports',
    title: 'ALLOW ports 9000 and 9001: 9002 (not in the Service, reached by pod IP) is denied on the pass-through chain',
    start: '2026-11-22T11:05:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: tcp-policy
  namespace: foo
spec:
  selector:
    matchLabels:
      app: tcp-echo
  action: ALLOW
  rules:
  - to:
    - operation:
        ports: ["9000", "9001"]
`,
  },
  {
    id: 'allow-http-only',
    title: 'ALLOW with `methods: ["GET"]` on port 9000: Istio drops the HTTP-only rule on TCP chains, so nothing is allowed',
    start: '2026-11-22T11:10:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: tcp-policy
  namespace: foo
spec:
  selector:
    matchLabels:
      app: tcp-echo
  action: ALLOW
  rules:
  - to:
    - operation:
        methods: ["GET"]
        ports: ["9000"]
`,
  },
  {
    id: 'deny-http-only',
    title: 'DENY with only `methods: ["GET"]`: on TCP the method is dropped and the rule becomes deny-all',
    start: '2026-11-22T11:15:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: tcp-policy
  namespace: foo
spec:
  selector:
    matchLabels:
      app: tcp-echo
  action: DENY
  rules:
  - to:
    - operation:
        methods: ["GET"]
`,
  },
  {
    id: 'deny-port-9000',
    title: 'DENY `methods: ["GET"]` + port 9000: 9000 denied, 9001 allowed',
    start: '2026-11-22T11:20:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: tcp-policy
  namespace: foo
spec:
  selector:
    matchLabels:
      app: tcp-echo
  action: DENY
  rules:
  - to:
    - operation:
        methods: ["GET"]
        ports: ["9000"]
`,
  },
]);

type Result = 'ok' | string;
function probe(stage: string, at: number, r9000: Result, r9001: Result, r9002: Result): Call[] {
  const one = (port: number, t: number, r: Result): Call => ({
    kind: 'tcp',
    stage,
    at: t,
    from: SLEEP,
    to: port === 9002 ? { pod: ECHO, port } : { service: 'tcp-echo.foo', port },
    send: `port ${port}\n`,
    outcome: r === 'ok' ? { reply: `hello port ${port}\n` } : { rbac: r },
  });
  return [one(9000, at, r9000), one(9001, at + 4_312, r9001), one(9002, at + 9_127, r9002)];
}

const DENY_RULE = 'ns[foo]-policy[tcp-policy]-rule[0]';

export const tcpEcho: Scenario = {
  name: 'tcp-echo',
  seed: 'meshsleuth-sample/tcp-echo/v1',
  pods,
  services: [{ name: 'tcp-echo', namespace: 'foo', clusterIP: '10.96.90.12', app: 'tcp-echo', ports: [{ name: 'tcp', port: 9000, targetPort: 9000, protocol: 'TCP' }, { name: 'tcp-other', port: 9001, targetPort: 9001, protocol: 'TCP' }] }, { name: 'sleep', namespace: 'foo', clusterIP: '10.96.17.44', app: 'sleep', ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'HTTP' }] }],
  stages: st,
  calls: [
    ...probe('no-policy', 21_020, 'ok', 'ok', 'ok'),
    ...probe('allow-ports', 33_480, 'ok', 'ok', 'none'),
    ...probe('allow-http-only', 27_915, 'none', 'none', 'none'),
    ...probe('deny-http-only', 40_266, DENY_RULE, DENY_RULE, DENY_RULE),
    ...probe('deny-port-9000', 25_731, DENY_RULE, 'ok', 'ok'),
  ],
  captured: [ECHO, SLEEP],
  sidecars: [ECHO, SLEEP],
  // the sidecars' outbound listeners, clusters (auto-mTLS) and EDS endpoints: `route` and the report explain port 9002 from the client side
  outbound: true,
};
