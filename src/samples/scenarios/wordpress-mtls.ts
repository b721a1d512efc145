/**
 * wordpress-mtls — enabling mTLS in two parts, WordPress → MariaDB in namespace wordpress-app, seen in node
 * captures (Geneve, as NSX-T's overlay carries it). The mesh runs with auto mTLS off (MeshConfig
 * `enableAutoMtls: false`, as meshes from before Istio 1.5 did) and a 100 ms protocol detection timeout.
 * Stage 1: no policy, plaintext (MySQL readable on the wire). Stage 2: the namespace PeerAuthentication STRICT
 * alone: the client sidecar still sends plaintext, the server finds no filter chain and closes every connection.
 * Stage 3: the DestinationRule ISTIO_MUTUAL for "*.wordpress-app.svc.cluster.local": mTLS, the query encrypted.
 */
import type { Call, MysqlCall, PodDef, Scenario } from '../bundle.js';
import { stages } from './common.js';

const NS = 'wordpress-app';
const pods: PodDef[] = [
  { name: 'wordpress-6d8f9c7b5-k2x9q', namespace: NS, app: 'wordpress', serviceAccount: 'wordpress', ip: '10.244.1.15', node: 'worker-1', hostIP: '192.168.40.11', sidecar: true, image: 'docker.io/library/wordpress:6.4-apache', containerPorts: [80] },
  { name: 'mariadb-0', namespace: NS, app: 'mariadb', serviceAccount: 'mariadb', ip: '10.244.2.20', node: 'worker-2', hostIP: '192.168.40.12', sidecar: true, image: 'docker.io/library/mariadb:10.11', containerPorts: [3306] },
];
const WP = pods[0]!.name;

const st = stages([
  { id: 'plaintext', title: 'No policy: WordPress talks to MariaDB in plaintext (auto mTLS is off)', start: '2026-11-24T09:00:00.000Z' },
  {
    id: 'strict-no-dr',
    title: 'PeerAuthentication STRICT for the namespace, no DestinationRule: the client still sends plaintext and every connection is refused',
    start: '2026-11-24T09:10:00.000Z',
    apply: `
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata:
  name: default
  namespace: ${NS}
spec:
  mtls:
    mode: STRICT
`,
  },
  {
    id: 'dr-istio-mutual',
    title: 'DestinationRule ISTIO_MUTUAL for *.wordpress-app.svc.cluster.local: the client sidecar originates mTLS',
    start: '2026-11-24T09:20:00.000Z',
    apply: `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: wordpress-mtls
  namespace: ${NS}
spec:
  host: "*.${NS}.svc.cluster.local"
  trafficPolicy:
    tls:
      mode: ISTIO_MUTUAL
`,
  },
]);

const SITEURL = { sql: "SELECT option_value FROM wp_options WHERE option_name = 'siteurl' LIMIT 1", columns: [{ table: 'wp_options', name: 'option_value' }], rows: [['https://blog.example.com']] };
const POSTS = {
  sql: "SELECT ID, post_title FROM wp_posts WHERE post_type = 'post' AND post_status = 'publish' ORDER BY post_date DESC LIMIT 2",
  columns: [
    { table: 'wp_posts', name: 'ID' },
    { table: 'wp_posts', name: 'post_title' },
  ],
  rows: [
    ['42', 'Quarterly results are in'],
    ['41', 'Welcome to the new blog'],
  ],
};

const calls: Call[] = [];
for (const s of st) {
  for (const [at, queries] of [[2_000, [SITEURL]], [31_000, [SITEURL, POSTS]]] as const) {
    const c: MysqlCall = {
      kind: 'mysql',
      stage: s.id,
      at,
      from: WP,
      to: { service: `mariadb.${NS}`, port: 3306 },
      user: 'wordpress',
      password: 'w0rdpr3ss-db-pass',
      database: 'wordpress',
      queries: [...queries],
      outcome: s.id === 'strict-no-dr' ? 'noFilterChain' : 'ok',
    };
    calls.push(c);
  }
}

export const wordpressMtls: Scenario = {
  name: 'wordpress-mtls',
  seed: 'meshsleuth-sample/wordpress-mtls/v1',
  pods,
  services: [
    { name: 'wordpress', namespace: NS, clusterIP: '10.96.120.31', app: 'wordpress', ports: [{ name: 'http', port: 80, targetPort: 80, protocol: 'HTTP' }] },
    { name: 'mariadb', namespace: NS, clusterIP: '10.96.14.7', app: 'mariadb', ports: [{ name: 'mysql', port: 3306, targetPort: 3306, protocol: 'TCP' }] },
  ],
  stages: st,
  calls,
  captured: [],
  sidecars: pods.map((p) => p.name),
  mesh: { enableAutoMtls: false, protocolDetectionTimeoutMs: 100 },
  outbound: true,
  nodeCaptures: [{ node: 'worker-2', file: 'worker-2.geneve.pcap' }],
  extraFiles: {
    'mesh-config.yaml': `# istio ConfigMap data.mesh of this cluster (kubectl -n istio-system get cm istio -o jsonpath='{.data.mesh}')
enableAutoMtls: false
protocolDetectionTimeout: 100ms
rootNamespace: istio-system
trustDomain: cluster.local
`,
    'legacy/mtls-policy-v1alpha1.yaml': `# What the write-ups for Istio 1.4 and earlier applied instead of the PeerAuthentication of stage 01
# (authentication.istio.io/v1alpha1 was removed in Istio 1.6; meshsleuth compile still reads it).
apiVersion: authentication.istio.io/v1alpha1
kind: Policy
metadata:
  name: default
  namespace: ${NS}
spec:
  peers:
  - mtls: {}
`,
  },
  overlay: {
    vni: 71682,
    teps: { 'worker-1': { ip: '192.168.50.11', mac: '00:50:56:a1:3c:11' }, 'worker-2': { ip: '192.168.50.12', mac: '00:50:56:a1:3c:12' } },
  },
};
