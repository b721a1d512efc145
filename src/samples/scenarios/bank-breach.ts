/**
 * bank-breach — customer web → account summary → database in namespace bank. With no policy a compromised
 * customer-web pod reads the database directly, and an attacker pod in another namespace, holding the
 * account-summary service account's stolen key and certificate, writes a new balance over mTLS from an IP that
 * belongs to no account-summary pod. Then the fix: STRICT mTLS, the database restricted to the summary identity
 * and GET, the summary service to customer-web and GET, customer-web to GET — and what it blocks (and not):
 * a read with the stolen key still works. Last, Calico's application layer policy (the YAO Bank tutorial's
 * GlobalNetworkPolicies) ties the account-summary identity to its pods' IPs, and the stolen key is useless.
 */
import type { Call, HttpCall, PodDef, Scenario, ServiceDef } from '../bundle.js';
import { BROWSER_UA, CURL_UA, stages } from './common.js';

const pods: PodDef[] = [
  { name: 'istio-ingressgateway-6d8f9b7c5d-7hjzq', namespace: 'istio-system', app: 'istio-ingressgateway', serviceAccount: 'istio-ingressgateway-service-account', ip: '10.244.1.50', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'docker.io/istio/proxyv2:1.19.3', containerPorts: [8080, 8443], gateway: true },
  { name: 'customer-web-5b9d7c6f8-wq4zt', namespace: 'bank', app: 'customer-web', version: 'v1', serviceAccount: 'customer-web', ip: '10.244.1.51', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: true, image: 'registry.example.com/bank/customer-web:2.4.1', containerPorts: [8080] },
  { name: 'account-summary-77c9f5d4b-m2x8k', namespace: 'bank', app: 'account-summary', version: 'v1', serviceAccount: 'account-summary', ip: '10.244.2.52', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'registry.example.com/bank/account-summary:1.9.0', containerPorts: [8080] },
  { name: 'database-0', namespace: 'bank', app: 'database', version: 'v1', serviceAccount: 'database', ip: '10.244.2.53', node: 'kind-worker2', hostIP: '172.18.0.4', sidecar: true, image: 'registry.example.com/bank/ledger-db-api:3.2.0', containerPorts: [8080] },
  { name: 'toolbox-6f5d8c9b7-zk9vd', namespace: 'ops', app: 'toolbox', serviceAccount: 'default', ip: '10.244.1.66', node: 'kind-worker', hostIP: '172.18.0.3', sidecar: false, image: 'docker.io/nicolaka/netshoot:v0.13', containerPorts: [] },
];
const GW = pods[0]!.name;
const WEB = pods[1]!.name;
const SUMMARY = pods[2]!.name;
const DB = pods[3]!.name;
const ATTACKER = pods[4]!.name;

const svc = (name: string, ip: string): ServiceDef => ({ name, namespace: 'bank', clusterIP: ip, app: name, ports: [{ name: 'http', port: 8080, targetPort: 8080, protocol: 'HTTP' }] });

const st = stages([
  { id: 'no-policy', title: 'No policy (PERMISSIVE, no authorization): every pod can call the database', start: '2026-11-22T13:00:00.000Z' },
  {
    id: 'fix',
    title: 'The fix: STRICT mTLS; database only for the account-summary identity (GET); summary only for customer-web (GET); customer-web GET only',
    start: '2026-11-22T13:30:00.000Z',
    apply: `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: bank
spec:
  mtls:
    mode: STRICT
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: database-summary-only
  namespace: bank
spec:
  selector:
    matchLabels:
      app: database
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/bank/sa/account-summary"]
    to:
    - operation:
        methods: ["GET"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: summary-web-only
  namespace: bank
spec:
  selector:
    matchLabels:
      app: account-summary
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/bank/sa/customer-web"]
    to:
    - operation:
        methods: ["GET"]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: customer-web-get-only
  namespace: bank
spec:
  selector:
    matchLabels:
      app: customer-web
  action: ALLOW
  rules:
  - to:
    - operation:
        methods: ["GET"]
`,
  },
  {
    id: 'calico',
    title: "Calico's application layer policy (the YAO Bank tutorial's three GlobalNetworkPolicies): the database only from pods of the account-summary service account, the summary only from customer-web's, customer-web GET only (Istio's GET-only rule on customer-web is replaced by Calico's)",
    start: '2026-11-22T14:00:00.000Z',
    remove: ['AuthorizationPolicy/bank/customer-web-get-only'],
    apply: `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: customer-web
spec:
  selector: app == 'customer-web'
  ingress:
  - action: Allow
    http:
      methods: ["GET"]
  egress:
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: account-summary
spec:
  selector: app == 'account-summary'
  ingress:
  - action: Allow
    source:
      serviceAccounts:
        names: ["customer-web"]
  egress:
  - action: Allow
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: database
spec:
  selector: app == 'database'
  ingress:
  - action: Allow
    source:
      serviceAccounts:
        names: ["account-summary"]
  egress:
  - action: Allow
`,
  },
]);

const ACCOUNT = '{"account":"1234","owner":"A. Customer","balance":"2310.55","currency":"EUR"}';
const SUMMARY_JSON = '{"account":"1234","balance":"2310.55","currency":"EUR","lastTransactions":3}';
const ALL_ACCOUNTS = '[{"account":"1234","owner":"A. Customer","balance":"2310.55"},{"account":"5678","owner":"B. Client","balance":"18200.00"},{"account":"9012","owner":"C. Saver","balance":"730412.10"}]';

function normal(stage: string, at: number, label: string): Call[] {
  return [
    { kind: 'http', stage, at, appMs: 22, from: GW, to: { service: 'customer-web.bank', port: 8080 }, method: 'GET', path: '/accounts/1234', authority: 'bank.example.com', userAgent: BROWSER_UA, requestLabel: label, outcome: { status: 200, body: SUMMARY_JSON } },
    { kind: 'http', stage, at: at + 5, appMs: 9, from: WEB, to: { service: 'account-summary.bank', port: 8080 }, method: 'GET', path: '/summary/1234', authority: 'account-summary:8080', userAgent: 'okhttp/4.12.0', requestLabel: label, outcome: { status: 200, body: SUMMARY_JSON } },
    { kind: 'http', stage, at: at + 9, from: SUMMARY, to: { service: 'database.bank', port: 8080 }, method: 'GET', path: '/accounts/1234', authority: 'database:8080', userAgent: 'Go-http-client/1.1', requestLabel: label, outcome: { status: 200, body: ACCOUNT } },
  ];
}

const stolen = { spiffeId: 'spiffe://cluster.local/ns/bank/sa/account-summary', sni: 'database.bank.svc.cluster.local', alpn: ['istio-http/1.1', 'http/1.1'], tlsVersion: 'TLSv1.2' as const };
const attackerPut = (stage: string, at: number, outcome: HttpCall['outcome']): Call => ({
  kind: 'http',
  stage,
  at,
  from: ATTACKER,
  to: { service: 'database.bank', port: 8080 },
  method: 'PUT',
  path: '/accounts/1234/balance',
  authority: 'database.bank.svc.cluster.local:8080',
  userAgent: 'python-requests/2.31.0',
  headers: [['Content-Type', 'application/json']],
  body: '{"balance":"1000000.00"}',
  impersonate: stolen,
  outcome,
});

/** The attacker reads another customer's account with the stolen identity. */
const attackerGet = (stage: string, at: number, outcome: HttpCall['outcome']): Call => ({
  kind: 'http',
  stage,
  at,
  from: ATTACKER,
  to: { service: 'database.bank', port: 8080 },
  method: 'GET',
  path: '/accounts/5678',
  authority: 'database.bank.svc.cluster.local:8080',
  userAgent: 'python-requests/2.31.0',
  impersonate: stolen,
  outcome,
});

export const bankBreach: Scenario = {
  name: 'bank-breach',
  seed: 'meshsleuth-sample/bank-breach/v1',
  pods,
  services: [svc('customer-web', '10.96.120.10'), svc('account-summary', '10.96.120.11'), svc('database', '10.96.120.12'), { name: 'istio-ingressgateway', namespace: 'istio-system', clusterIP: '10.96.0.80', app: 'istio-ingressgateway', ports: [{ name: 'http2', port: 80, targetPort: 8080, protocol: 'HTTP' }] }],
  stages: st,
  calls: [
    ...normal('no-policy', 61_337, 'n0'),
    // the customer-web pod is compromised: a shell in it dumps every account straight from the database
    { kind: 'http', stage: 'no-policy', at: 244_918, from: WEB, to: { service: 'database.bank', port: 8080 }, method: 'GET', path: '/accounts', authority: 'database:8080', userAgent: CURL_UA, outcome: { status: 200, body: ALL_ACCOUNTS } },
    // the attacker pod (no sidecar, namespace ops) uses the stolen account-summary key and certificate
    attackerPut('no-policy', 512_406, { status: 200, body: '{"account":"1234","balance":"1000000.00","currency":"EUR"}' }),
    ...normal('no-policy', 742_220, 'n1'),
    ...normal('fix', 95_004, 'n2'),
    { kind: 'http', stage: 'fix', at: 311_652, from: WEB, to: { service: 'database.bank', port: 8080 }, method: 'GET', path: '/accounts', authority: 'database:8080', userAgent: CURL_UA, outcome: { rbac: 'none' } },
    attackerPut('fix', 402_877, { rbac: 'none' }),
    attackerGet('fix', 433_190, { status: 200, body: '{"account":"5678","owner":"B. Client","balance":"18200.00","currency":"EUR"}' }),
    ...normal('calico', 64_518, 'n3'),
    // Calico's database rule needs the account-summary identity AND a source IP of an account-summary pod:
    // the stolen key no longer helps, the SYN from the toolbox pod is dropped at the node
    attackerGet('calico', 287_404, { dropped: 'GlobalNetworkPolicy database' }),
    // customer-web takes GET only: Dikastes (ext_authz in its sidecar) refuses a POST through the gateway
    { kind: 'http', stage: 'calico', at: 352_866, from: GW, to: { service: 'customer-web.bank', port: 8080 }, method: 'POST', path: '/accounts/1234/transfer', authority: 'bank.example.com', userAgent: BROWSER_UA, headers: [['Content-Type', 'application/json']], body: '{"to":"9012","amount":"500.00"}', outcome: { extAuthz: 'GlobalNetworkPolicy customer-web' } },
  ],
  captured: [WEB, DB, ATTACKER],
  sidecars: [WEB, SUMMARY, DB],
};
