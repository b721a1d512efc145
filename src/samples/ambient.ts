/**
 * The ambient incident sample (`samples/ambient-bookinfo`): Bookinfo in namespace `bookinfo` in ambient mode with
 * a waypoint (`bookinfo/waypoint`, class istio-waypoint, for services), two nodes, and four calls:
 *   1. productpage → reviews (VIP) GET: through the waypoint, allowed by the targetRefs policy (200);
 *   2. productpage → details (VIP) GET: the waypoint forwards it, but ztunnel on details' node rejects the
 *      waypoint's HBONE connection: `details-get-only` (selector, ALLOW with `methods`) lost its only rule in
 *      istiod's ztunnel conversion — "allow policies exist, but none allowed" (503 at the waypoint);
 *   3. sleep (ns default) → reviews (VIP) GET: the waypoint's RBAC denies it (403, no ALLOW policy matched);
 *   4. sleep → ratings pod IP: no waypoint on the path; ztunnel on ratings' node denies it (DENY notNamespaces).
 * Everything is derived from the objects below with the project's compilers (ztunnel policies, waypoint RBAC and
 * listeners) so that the evidence agrees with itself; HBONE sessions are real Node TLS 1.3 sessions (ALPN h2, no
 * SNI, both sides with workload certificates) from the generator's recording.
 */
import type { Recording } from './recording.js';
import { parseK8sObjects } from '../readers/k8s.js';
import { compileAmbientFromObjects, selectorPoliciesFor } from '../istio/compile/ambient.js';
import { compileWaypoints, waypointConfigDump } from '../istio/compile/waypoint.js';
import { tcpConversation, type Message } from '../synth/tcp.js';
import { buildCapture } from '../synth/capture.js';
import { LINKTYPE } from '../synth/link.js';

export const AMBIENT_SAMPLE = 'ambient-bookinfo';
const TD = 'cluster.local';
const ISTIO = '1.28.1';
const T0 = Date.parse('2026-11-23T14:00:00.000Z');

interface Pod {
  name: string;
  namespace: string;
  app: string;
  sa: string;
  ip: string;
  node: 'kind-worker' | 'kind-worker2';
  service?: string;
}

const NODES = { 'kind-worker': '172.18.0.3', 'kind-worker2': '172.18.0.4' } as const;
/** Interface index of each kind-worker pod's veth on the node. */
const VETH: Record<string, number> = { productpage: 5, details: 7, sleep: 9 };
const ZTUNNEL = { 'kind-worker': 'ztunnel-4xk2p', 'kind-worker2': 'ztunnel-q8n7d' } as const;

const PODS: Pod[] = [
  { name: 'productpage-v1-7d8f6c9b5d-x2k4m', namespace: 'bookinfo', app: 'productpage', sa: 'bookinfo-productpage', ip: '10.244.1.10', node: 'kind-worker', service: 'productpage' },
  { name: 'details-v1-6b9d7c5f8-r7p2q', namespace: 'bookinfo', app: 'details', sa: 'bookinfo-details', ip: '10.244.1.12', node: 'kind-worker', service: 'details' },
  { name: 'sleep-5b8d7f6c4-jw9zt', namespace: 'default', app: 'sleep', sa: 'sleep', ip: '10.244.1.15', node: 'kind-worker' },
  { name: 'reviews-v1-5c7b9d8f6-m4t8s', namespace: 'bookinfo', app: 'reviews', sa: 'bookinfo-reviews', ip: '10.244.2.20', node: 'kind-worker2', service: 'reviews' },
  { name: 'ratings-v1-8f6d5c7b9-h3n6v', namespace: 'bookinfo', app: 'ratings', sa: 'bookinfo-ratings', ip: '10.244.2.21', node: 'kind-worker2', service: 'ratings' },
  { name: 'waypoint-6f9c8d7b5-k2x4n', namespace: 'bookinfo', app: 'waypoint', sa: 'waypoint', ip: '10.244.2.30', node: 'kind-worker2', service: 'waypoint' },
];
const SVC_IP: Record<string, string> = { productpage: '10.96.20.10', reviews: '10.96.20.20', ratings: '10.96.20.30', details: '10.96.20.40', waypoint: '10.96.20.5' };
const pod = (app: string): Pod => PODS.find((p) => p.app === app)!;
const spiffe = (p: Pod): string => `spiffe://${TD}/ns/${p.namespace}/sa/${p.sa}`;
const WAYPOINT = pod('waypoint');

export const AMBIENT_POLICIES = `# AuthorizationPolicies of the ambient-bookinfo sample (applied 2026-11-23T13:55:00Z)
# L4, enforced by ztunnel on ratings' node: nobody outside namespace bookinfo.
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ratings-deny-other-namespaces
  namespace: bookinfo
spec:
  selector:
    matchLabels:
      app: ratings
  action: DENY
  rules:
  - from:
    - source:
        notNamespaces: ["bookinfo"]
---
# L7, enforced by the waypoint for the reviews Service (targetRefs): only productpage, only GET.
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: reviews-get-from-productpage
  namespace: bookinfo
spec:
  targetRefs:
  - kind: Service
    group: ""
    name: reviews
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/bookinfo/sa/bookinfo-productpage"]
    to:
    - operation:
        methods: ["GET"]
---
# Meant the same for details, but written with a selector: ztunnel enforces it, and ztunnel cannot see methods.
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: details-get-only
  namespace: bookinfo
spec:
  selector:
    matchLabels:
      app: details
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/bookinfo/sa/bookinfo-productpage"]
    to:
    - operation:
        methods: ["GET"]
`;

function inventoryObjects(): Record<string, unknown>[] {
  const meta = (name: string, namespace: string, labels: Record<string, string> = {}) => ({ name, namespace, uid: uid(`${namespace}/${name}`), creationTimestamp: '2026-11-23T13:40:00Z', labels });
  const out: Record<string, unknown>[] = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bookinfo', uid: uid('ns/bookinfo'), creationTimestamp: '2026-11-23T13:39:00Z', labels: { 'istio.io/dataplane-mode': 'ambient', 'istio.io/use-waypoint': 'waypoint', 'kubernetes.io/metadata.name': 'bookinfo' } } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', uid: uid('ns/default'), creationTimestamp: '2026-11-23T13:30:00Z', labels: { 'istio.io/dataplane-mode': 'ambient', 'kubernetes.io/metadata.name': 'default' } } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { ...meta('waypoint', 'bookinfo', { 'istio.io/waypoint-for': 'service' }) },
      spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
      status: { addresses: [{ type: 'IPAddress', value: SVC_IP.waypoint }] },
    },
  ];
  for (const name of ['productpage', 'reviews', 'ratings', 'details']) {
    out.push({ apiVersion: 'v1', kind: 'Service', metadata: meta(name, 'bookinfo', { app: name, service: name }), spec: { clusterIP: SVC_IP[name], clusterIPs: [SVC_IP[name]], ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }], selector: { app: name } } });
  }
  out.push({ apiVersion: 'v1', kind: 'Service', metadata: meta('waypoint', 'bookinfo', { 'gateway.networking.k8s.io/gateway-name': 'waypoint', 'istio.io/waypoint-for': 'service' }), spec: { clusterIP: SVC_IP.waypoint, clusterIPs: [SVC_IP.waypoint], ports: [{ name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' }, { name: 'mesh', port: 15008, targetPort: 15008, protocol: 'TCP', appProtocol: 'all' }], selector: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' } } });
  for (const p of PODS) {
    const labels: Record<string, string> = p.app === 'waypoint' ? { 'gateway.networking.k8s.io/gateway-name': 'waypoint', 'istio.io/dataplane-mode': 'none' } : { app: p.app, ...(p.app !== 'sleep' ? { version: 'v1' } : {}) };
    out.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...meta(p.name, p.namespace, labels), annotations: p.app === 'waypoint' ? {} : { 'ambient.istio.io/redirection': 'enabled' } },
      spec: { nodeName: p.node, serviceAccountName: p.sa, containers: [{ name: p.app === 'waypoint' ? 'istio-proxy' : p.app, image: p.app === 'waypoint' ? `docker.io/istio/proxyv2:${ISTIO}` : p.app === 'sleep' ? 'curlimages/curl:8.5.0' : `docker.io/istio/examples-bookinfo-${p.app}-v1:1.20.2` }] },
      status: { phase: 'Running', podIP: p.ip, podIPs: [{ ip: p.ip }], hostIP: NODES[p.node], startTime: '2026-11-23T13:41:00Z' },
    });
  }
  return out;
}

function uid(s: string): string {
  let h = 2166136261;
  const hex: string[] = [];
  for (let r = 0; r < 4; r++) {
    for (const c of `${r}:${s}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    hex.push(h.toString(16).padStart(8, '0'));
  }
  const x = hex.join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-a${x.slice(17, 20)}-${x.slice(20, 32)}`;
}

/** `istioctl ztunnel-config all -o json` of one node's ztunnel. */
function ztunnelDump(node: keyof typeof NODES, policies: unknown[], attached: (p: Pod) => string[]): Record<string, unknown> {
  const workloads: Record<string, unknown> = {};
  for (const p of PODS) {
    workloads[`network1/${p.ip}`] = {
      workloadIps: [p.ip],
      ...(p.namespace === 'bookinfo' && p.app !== 'waypoint' ? { waypoint: { destination: `network1/${SVC_IP.waypoint}`, hboneMtlsPort: 15008 } } : {}),
      protocol: 'HBONE',
      uid: `Kubernetes//Pod/${p.namespace}/${p.name}`,
      name: p.name,
      namespace: p.namespace,
      trustDomain: TD,
      serviceAccount: p.sa,
      workloadName: p.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, ''),
      workloadType: 'deployment',
      canonicalName: p.app,
      canonicalRevision: p.app === 'sleep' || p.app === 'waypoint' ? 'latest' : 'v1',
      clusterId: 'Kubernetes',
      node: p.node,
      status: 'Healthy',
      ...(attached(p).length ? { authorizationPolicies: attached(p) } : {}),
    };
  }
  const services: Record<string, unknown> = {};
  for (const name of ['productpage', 'reviews', 'ratings', 'details', 'waypoint']) {
    const p = pod(name);
    const ports: Record<string, number> = name === 'waypoint' ? { '15021': 15021, '15008': 15008 } : { '9080': 9080 };
    services[`network1/${SVC_IP[name]}`] = {
      name,
      namespace: 'bookinfo',
      hostname: `${name}.bookinfo.svc.cluster.local`,
      vips: [`network1/${SVC_IP[name]}`],
      ports,
      endpoints: { [`Kubernetes//Pod/bookinfo/${p.name}:network1/${p.ip}`]: { workloadUid: `Kubernetes//Pod/bookinfo/${p.name}`, service: '', port: ports } },
      ...(name !== 'waypoint' ? { waypoint: { destination: `network1/${SVC_IP.waypoint}`, hboneMtlsPort: 15008 } } : {}),
      subjectAltNames: [],
    };
  }
  const local = PODS.filter((p) => p.node === node && p.app !== 'waypoint');
  return {
    workloads,
    services,
    policies,
    certificates: local.map((p) => ({ identity: spiffe(p), state: 'Available', certChain: [{ pem: '', serialNumber: serial(p.name), validFrom: '2026-11-23T06:00:00Z', expirationTime: '2026-11-24T06:00:00Z' }] })),
    workloadState: Object.fromEntries(local.map((p) => [`Kubernetes//Pod/${p.namespace}/${p.name}`, { connections: { inbound: [], outbound: [] } }])),
  };
}

function serial(s: string): string {
  return uid(`serial/${s}`).replace(/-/g, '');
}

// ---- the calls and what each component logged ----

interface Leg {
  /** HBONE client / server */
  client: Pod;
  server: Pod;
  clientPort: number;
  /** the CONNECT :authority (ztunnel's dst.hbone_addr) */
  authority: string;
  startMs: number;
  /** the inner bytes the client sends through the tunnel and what comes back; null = CONNECT refused with 401 */
  inner: { request: string; response: string } | null;
}

function http1(method: string, path: string, host: string, ua: string, rid: string): string {
  return `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nuser-agent: ${ua}\r\naccept: */*\r\nx-request-id: ${rid}\r\n\r\n`;
}
function http1Resp(status: number, reason: string, body: string, extra = ''): string {
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: ${status === 200 ? 'application/json' : 'text/plain'}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

/** HTTP/2 frames (RFC 9113) with HPACK literal fields without indexing (RFC 7541 §6.2.2, no Huffman). */
function h2Frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h.writeUInt8(type, 3);
  h.writeUInt8(flags, 4);
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
function hpackLiteral(fields: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  // String literal: H=0 and the length as an integer with a 7-bit prefix (RFC 7541 §5.1).
  const str = (s: string) => {
    const b = Buffer.from(s, 'latin1');
    const len: number[] = [];
    if (b.length < 127) len.push(b.length);
    else {
      len.push(127);
      let n = b.length - 127;
      while (n >= 128) {
        len.push((n % 128) + 128);
        n = Math.floor(n / 128);
      }
      len.push(n);
    }
    return Buffer.concat([Buffer.from(len), b]);
  };
  for (const [n, v] of fields) parts.push(Buffer.from([0x00]), str(n), str(v));
  return Buffer.concat(parts);
}
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** The client's and server's bytes inside one HBONE tunnel (ztunnel's CONNECT with baggage and forwarded). */
function hboneInner(leg: Leg, dstService: string | null): { client: Buffer[]; server: Buffer[] } {
  const c = leg.client;
  const headers: Array<[string, string]> = [
    [':method', 'CONNECT'],
    [':authority', leg.authority],
    ['baggage', `k8s.cluster.name=Kubernetes,k8s.namespace.name=${c.namespace},k8s.deployment.name=${c.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, '')},service.name=${c.app},service.version=${c.app === 'sleep' || c.app === 'waypoint' ? 'latest' : 'v1'}`],
    ['forwarded', `for=${c.ip}${dstService ? `;host=${dstService}` : ''}`],
    ['traceparent', `00-${uid(`trace/${leg.startMs}`).replace(/-/g, '')}-${uid(`span/${leg.startMs}`).replace(/-/g, '').slice(0, 16)}-00`],
  ];
  const settings = h2Frame(0x4, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100, 0, 4, 0, 0x40, 0, 0]));
  const ack = h2Frame(0x4, 0x1, 0, Buffer.alloc(0));
  const client = [Buffer.concat([PREFACE, settings, h2Frame(0x1, 0x4, 1, hpackLiteral(headers))])];
  if (!leg.inner) return { client, server: [Buffer.concat([settings, ack, h2Frame(0x1, 0x5, 1, hpackLiteral([[':status', '401']]))])] };
  client.push(Buffer.concat([ack, h2Frame(0x0, 0, 1, Buffer.from(leg.inner.request, 'latin1'))]));
  const server = [Buffer.concat([settings, ack, h2Frame(0x1, 0x4, 1, hpackLiteral([[':status', '200']]))]), h2Frame(0x0, 0x1, 1, Buffer.from(leg.inner.response, 'latin1'))];
  return { client, server };
}

function fmtTime(ms: number, us = 0): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_m, f: string) => `.${f}${String(us).padStart(3, '0')}Z`);
}

type ZtRecord = { node: keyof typeof NODES; at: number; line: string };

function ztLine(at: number, us: number, level: 'info' | 'error', fields: Array<[string, string | number, boolean?]>): string {
  return `${fmtTime(at, us)}\t${level}\taccess\tconnection complete\t${fields.map(([k, v, q]) => `${k}=${q ? JSON.stringify(v) : v}`).join(' ')}`;
}

function ztFields(src: { pod: Pod; port: number; identity: boolean }, dst: { addr: string; hbone: string; service?: string; pod: Pod; identity: boolean }, direction: string, sent: number, recv: number, ms: number, error?: string): Array<[string, string | number, boolean?]> {
  const f: Array<[string, string | number, boolean?]> = [
    ['src.addr', `${src.pod.ip}:${src.port}`],
    ['src.workload', src.pod.name, true],
    ['src.namespace', src.pod.namespace, true],
  ];
  if (src.identity) f.push(['src.identity', spiffe(src.pod), true]);
  f.push(['dst.addr', dst.addr], ['dst.hbone_addr', dst.hbone]);
  if (dst.service) f.push(['dst.service', dst.service, true]);
  f.push(['dst.workload', dst.pod.name, true], ['dst.namespace', dst.pod.namespace, true]);
  if (dst.identity) f.push(['dst.identity', spiffe(dst.pod), true]);
  f.push(['direction', direction, true], ['bytes_sent', sent], ['bytes_recv', recv], ['duration', `${ms}ms`, true]);
  if (error) f.push(['error', error, true]);
  return f;
}

const ENVOY_LOG = (at: number, method: string, path: string, status: number, flags: string, details: string, recv: number, sent: number, dur: number, upstreamMs: string, ua: string, rid: string, authority: string, upstreamHost: string, cluster: string, upstreamLocal: string, local: string, remote: string): string =>
  `[${new Date(at).toISOString()}] "${method} ${path} HTTP/1.1" ${status} ${flags} ${details} - "-" ${recv} ${sent} ${dur} ${upstreamMs} "-" "${ua}" "${rid}" "${authority}" "${upstreamHost}" ${cluster} ${upstreamLocal} ${local} ${remote} - default`;

export interface AmbientBundle {
  files: Map<string, Buffer>;
}

export async function buildAmbientSample(rec: Recording): Promise<AmbientBundle> {
  const files = new Map<string, Buffer>();
  const inventory = inventoryObjects();
  const policyObjects = parseK8sObjects(AMBIENT_POLICIES, 'policies.yaml').objects;
  const invObjects = parseK8sObjects(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: inventory }), 'inventory.json').objects;
  const zt = compileAmbientFromObjects(policyObjects, { rootNamespace: 'istio-system', istioVersion: ISTIO });
  const attached = (p: Pod) => selectorPoliciesFor(zt, { namespace: p.namespace, labels: { app: p.app } }, 'istio-system');
  const wpc = compileWaypoints([...policyObjects, ...invObjects], { rootNamespace: 'istio-system', istioVersion: ISTIO, waypoint: 'bookinfo/waypoint' });
  if (wpc.waypoints.length !== 1) throw new Error('ambient sample: the waypoint did not compile');

  files.set('policies.yaml', Buffer.from(AMBIENT_POLICIES));
  files.set('inventory.json', Buffer.from(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: inventory, metadata: { resourceVersion: '' } }, null, 2) + '\n'));
  for (const node of Object.keys(NODES) as (keyof typeof NODES)[]) {
    files.set(`config_dumps/${ZTUNNEL[node]}.istio-system.ztunnel.json`, Buffer.from(JSON.stringify(ztunnelDump(node, zt.policies, attached), null, 2) + '\n'));
  }
  files.set(`config_dumps/${WAYPOINT.name}.bookinfo.json`, Buffer.from(JSON.stringify(waypointConfigDump(wpc.waypoints[0]!, { ip: WAYPOINT.ip, istioVersion: ISTIO, podName: WAYPOINT.name }), null, 2) + '\n'));

  const pp = pod('productpage');
  const details = pod('details');
  const reviews = pod('reviews');
  const ratings = pod('ratings');
  const sleep = pod('sleep');
  const zlog: ZtRecord[] = [];
  const wlog: string[] = [];
  const legs: Leg[] = [];
  const svc = (n: string) => `${n}.bookinfo.svc.cluster.local`;
  const rid = (n: number) => uid(`request/${n}`);

  // A client ztunnel's outbound record logs the app's own socket (src.addr = pod IP and the app's ephemeral port,
  // istio/ztunnel src/proxy/outbound.rs); the HBONE connection it opens (or takes from its pool) has another port, which
  // is what the waypoint (%DOWNSTREAM_REMOTE_ADDRESS%), the destination ztunnel's inbound record and the capture see.
  // 1. productpage → reviews VIP, through the waypoint: allowed (200).
  {
    const t = T0 + 5_112;
    const req = http1('GET', '/reviews/0', 'reviews:9080', 'python-requests/2.31.0', rid(1));
    const body = '{"id": "0","podname": "reviews-v1-5c7b9d8f6-m4t8s","clustername": "null","reviews": [{  "reviewer": "Reviewer1",  "text": "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!"},{  "reviewer": "Reviewer2",  "text": "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare."}]}';
    const resp = http1Resp(200, 'OK', body, 'server: istio-envoy\r\nx-envoy-upstream-service-time: 6\r\n');
    legs.push({ client: pp, server: WAYPOINT, clientPort: 41872, authority: `${SVC_IP.reviews}:9080`, startMs: t, inner: { request: req, response: resp } });
    legs.push({ client: WAYPOINT, server: reviews, clientPort: 52214, authority: `${reviews.ip}:9080`, startMs: t + 2, inner: { request: req, response: http1Resp(200, 'OK', body) } });
    zlog.push({ node: 'kind-worker', at: t + 9, line: ztLine(t + 9, 214, 'info', ztFields({ pod: pp, port: 50412, identity: true }, { addr: `${WAYPOINT.ip}:15008`, hbone: `${SVC_IP.reviews}:9080`, service: svc('reviews'), pod: WAYPOINT, identity: true }, 'outbound', req.length, resp.length, 9)) });
    zlog.push({ node: 'kind-worker2', at: t + 8, line: ztLine(t + 8, 631, 'info', ztFields({ pod: WAYPOINT, port: 52214, identity: true }, { addr: `${reviews.ip}:9080`, hbone: `${reviews.ip}:9080`, pod: reviews, identity: true }, 'inbound', body.length + 75, req.length, 6)) });
    wlog.push(ENVOY_LOG(t + 1, 'GET', '/reviews/0', 200, '-', 'via_upstream', 0, body.length, 7, '6', 'python-requests/2.31.0', rid(1), 'reviews:9080', `envoy://connect_originate/${reviews.ip}:9080`, `inbound-vip|9080|http|${svc('reviews')}`, 'envoy://internal_client_address/', `${SVC_IP.reviews}:9080`, `${pp.ip}:41872`));
  }
  // 2. productpage → details VIP: the waypoint forwards it; ztunnel at details rejects the waypoint (ALLOW lost its rule).
  {
    const t = T0 + 7_406;
    const req = http1('GET', '/details/0', 'details:9080', 'python-requests/2.31.0', rid(2));
    const body = 'upstream connect error or disconnect/reset before headers. reset reason: connection termination';
    const resp = http1Resp(503, 'Service Unavailable', body, 'server: istio-envoy\r\n');
    legs.push({ client: pp, server: WAYPOINT, clientPort: 41880, authority: `${SVC_IP.details}:9080`, startMs: t, inner: { request: req, response: resp } });
    legs.push({ client: WAYPOINT, server: details, clientPort: 52230, authority: `${details.ip}:9080`, startMs: t + 2, inner: null });
    zlog.push({ node: 'kind-worker', at: t + 1, line: ztLine(t + 1, 902, 'error', ztFields({ pod: WAYPOINT, port: 52230, identity: true }, { addr: `${details.ip}:9080`, hbone: `${details.ip}:9080`, pod: details, identity: true }, 'inbound', 0, 0, 0, 'connection closed due to policy rejection: allow policies exist, but none allowed')) });
    zlog.push({ node: 'kind-worker', at: t + 5, line: ztLine(t + 5, 377, 'info', ztFields({ pod: pp, port: 50424, identity: true }, { addr: `${WAYPOINT.ip}:15008`, hbone: `${SVC_IP.details}:9080`, service: svc('details'), pod: WAYPOINT, identity: true }, 'outbound', req.length, resp.length, 5)) });
    wlog.push(ENVOY_LOG(t + 1, 'GET', '/details/0', 503, 'UF', 'upstream_reset_before_response_started{connection_termination}', 0, body.length, 3, '-', 'python-requests/2.31.0', rid(2), 'details:9080', `envoy://connect_originate/${details.ip}:9080`, `inbound-vip|9080|http|${svc('details')}`, '-', `${SVC_IP.details}:9080`, `${pp.ip}:41880`));
  }
  // 3. sleep → reviews VIP: the waypoint's RBAC denies it (403).
  {
    const t = T0 + 9_851;
    const req = http1('GET', '/reviews/0', 'reviews.bookinfo:9080', 'curl/8.5.0', rid(3));
    const body = 'RBAC: access denied';
    const resp = http1Resp(403, 'Forbidden', body, 'server: istio-envoy\r\n');
    legs.push({ client: sleep, server: WAYPOINT, clientPort: 39456, authority: `${SVC_IP.reviews}:9080`, startMs: t, inner: { request: req, response: resp } });
    zlog.push({ node: 'kind-worker', at: t + 3, line: ztLine(t + 3, 58, 'info', ztFields({ pod: sleep, port: 45880, identity: true }, { addr: `${WAYPOINT.ip}:15008`, hbone: `${SVC_IP.reviews}:9080`, service: svc('reviews'), pod: WAYPOINT, identity: true }, 'outbound', req.length, resp.length, 3)) });
    wlog.push(ENVOY_LOG(t + 1, 'GET', '/reviews/0', 403, '-', 'rbac_access_denied_matched_policy[none]', 0, body.length, 0, '-', 'curl/8.5.0', rid(3), 'reviews.bookinfo:9080', '-', `inbound-vip|9080|http|${svc('reviews')}`, '-', `${SVC_IP.reviews}:9080`, `${sleep.ip}:39456`));
  }
  // 4. sleep → ratings pod IP: no waypoint (it serves services); ztunnel at ratings denies it.
  {
    const t = T0 + 12_240;
    legs.push({ client: sleep, server: ratings, clientPort: 39470, authority: `${ratings.ip}:9080`, startMs: t, inner: null });
    zlog.push({ node: 'kind-worker2', at: t + 1, line: ztLine(t + 1, 415, 'error', ztFields({ pod: sleep, port: 39470, identity: true }, { addr: `${ratings.ip}:9080`, hbone: `${ratings.ip}:9080`, pod: ratings, identity: true }, 'inbound', 0, 0, 0, 'connection closed due to policy rejection: explicitly denied by: bookinfo/ratings-deny-other-namespaces')) });
    zlog.push({ node: 'kind-worker', at: t + 3, line: ztLine(t + 3, 806, 'error', ztFields({ pod: sleep, port: 45892, identity: true }, { addr: `${ratings.ip}:15008`, hbone: `${ratings.ip}:9080`, pod: ratings, identity: true }, 'outbound', 0, 0, 3, 'http status: 401 Unauthorized')) });
  }

  for (const node of Object.keys(NODES) as (keyof typeof NODES)[]) {
    const lines = zlog.filter((r) => r.node === node).sort((a, b) => a.at - b.at).map((r) => r.line);
    const start = `${fmtTime(T0 - 3_600_000 + 1_000, 118)}\tinfo\tztunnel\tversion: version.BuildInfo{Version:"${ISTIO}", GitRevision:"unknown", RustVersion:"1.85.0", BuildProfile:"release", BuildStatus:"Clean", GitTag:"${ISTIO}", IstioVersion:"unknown"}\n`;
    files.set(`logs/${ZTUNNEL[node]}.istio-system.ztunnel.log`, Buffer.from(start + lines.join('\n') + '\n'));
  }
  files.set(`logs/${WAYPOINT.name}.bookinfo.istio-proxy.log`, Buffer.from(wlog.join('\n') + '\n'));

  // The node capture: `tcpdump -i any` on kind-worker sees the HBONE legs that start or end there.
  const flows = [];
  for (const leg of legs.filter((l) => l.client.node === 'kind-worker' || l.server.node === 'kind-worker')) {
    const inner = hboneInner(leg, leg.server === WAYPOINT ? svc(leg.authority.startsWith(SVC_IP.reviews!) ? 'reviews' : 'details') : null);
    const steps = [
      ...inner.client.slice(0, 1).map((d) => ({ send: 'client' as const, data: d })),
      ...inner.server.slice(0, 1).map((d) => ({ send: 'server' as const, data: d })),
      ...inner.client.slice(1).map((d) => ({ send: 'client' as const, data: d })),
      ...inner.server.slice(1).map((d) => ({ send: 'server' as const, data: d })),
      { end: 'client' as const },
      { end: 'server' as const },
    ];
    const s = await rec.session({ ca: rec.ca.certPem, server: rec.leaf(spiffe(leg.server)), client: rec.leaf(spiffe(leg.client)), clientAlpn: ['h2'], serverAlpn: ['h2'], minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', steps });
    const msgs: Message[] = [];
    let at = leg.startMs;
    for (const c of s.wire) {
      if (!('data' in c)) continue;
      msgs.push({ dir: c.from === 'client' ? 'c2s' : 's2c', bytes: c.data, timeMs: at });
      at += 1;
    }
    // Seen on the kind-worker end's veth (`tcpdump -i any` on the node): what the local pod sends arrives at the host
    // (packet type 0), what it receives is sent by the host (4).
    const localPod = leg.client.node === 'kind-worker' ? leg.client : leg.server;
    const ifIndex = VETH[localPod.app] ?? 3;
    const mac = Buffer.from([0x0a, 0x58, ...localPod.ip.split('.').map(Number)]);
    const toLocal = localPod === leg.client ? 's2c' : 'c2s';
    flows.push({
      packets: tcpConversation(msgs, { client: { ip: leg.client.ip, port: leg.clientPort }, server: { ip: leg.server.ip, port: 15008 }, startMs: leg.startMs - 1, seed: leg.clientPort }),
      link: { ifIndex, arphrd: 1 },
      linkByDir: { [toLocal]: { packetType: 4, srcMac: Buffer.from([0xee, 0xee, 0xee, 0xee, 0xee, 0xee]) }, [toLocal === 'c2s' ? 's2c' : 'c2s']: { packetType: 0, srcMac: mac } },
    });
  }
  files.set('captures/kind-worker.node.pcap', buildCapture(flows, { linkType: LINKTYPE.LINUX_SLL2 }));
  return { files };
}
