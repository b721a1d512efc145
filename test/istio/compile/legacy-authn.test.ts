/**
 * Pre-1.5 authentication.istio.io/v1alpha1 Policy / MeshPolicy read as PeerAuthentication: the mode each legacy
 * shape meant (peers mtls {} = STRICT, PERMISSIVE, no peers = plaintext), its scope (mesh, namespace, the
 * pods of a target Service and its ports) and the legacy note.
 */
import { describe, expect, it } from 'vitest';
import { parseK8sObjects } from '../../../src/readers/k8s.js';
import { compileForWorkload } from '../../../src/istio/compile/index.js';

const wl = { namespace: 'wordpress-app', name: 'mariadb', labels: { app: 'mariadb' }, ports: [{ port: 3306, protocol: 'tcp' }, { port: 9104, protocol: 'http' }] };
const compile = (yaml: string) => compileForWorkload(parseK8sObjects(yaml, 'legacy.yaml').objects, wl, { istioVersion: '1.4' });

describe('legacy Policy/MeshPolicy as PeerAuthentication', () => {
  it('a namespace Policy "default" with peers [{mtls: {}}] is STRICT, with a note that it is legacy', () => {
    const c = compile('apiVersion: authentication.istio.io/v1alpha1\nkind: Policy\nmetadata: {name: default, namespace: wordpress-app}\nspec:\n  peers:\n  - mtls: {}\n');
    expect(c.mtls.workload).toBe('STRICT');
    expect(c.mtls.ports.map((p) => p.mode)).toEqual(['STRICT', 'STRICT']);
    expect(c.mtls.appliedPeerAuthentications).toEqual(['wordpress-app/default']);
    expect(c.diagnostics.find((d) => /legacy authentication.istio.io\/v1alpha1 Policy/.test(d.message))?.message).toMatch(/removed in Istio 1.6.*namespace-wide PeerAuthentication mode STRICT \(peers: \[\{mtls: \{\}\}\]\)/);
  });

  it('a MeshPolicy with mtls mode PERMISSIVE is the mesh-wide mode; a namespace Policy without peers (plaintext) overrides it', () => {
    const mesh = 'apiVersion: authentication.istio.io/v1alpha1\nkind: MeshPolicy\nmetadata: {name: default}\nspec:\n  peers:\n  - mtls: {mode: PERMISSIVE}\n';
    expect(compile(mesh).mtls.workload).toBe('PERMISSIVE');
    expect(compile(mesh).mtls.appliedPeerAuthentications).toEqual(['istio-system/default']);
    const ns = '---\napiVersion: authentication.istio.io/v1alpha1\nkind: Policy\nmetadata: {name: default, namespace: wordpress-app}\nspec: {}\n';
    expect(compile(mesh + ns).mtls.workload).toBe('DISABLE');
  });

  it('targets name a Service: its pods get the mode, on the target ports only when ports are given', () => {
    const svc = 'apiVersion: v1\nkind: Service\nmetadata: {name: mariadb, namespace: wordpress-app}\nspec:\n  selector: {app: mariadb}\n  ports: [{name: mysql, port: 3306, targetPort: 3306}, {name: http-metrics, port: 9104}]\n---\n';
    const whole = compile(svc + 'apiVersion: authentication.istio.io/v1alpha1\nkind: Policy\nmetadata: {name: db, namespace: wordpress-app}\nspec:\n  targets: [{name: mariadb}]\n  peers: [{mtls: {}}]\n');
    expect(whole.mtls.workload).toBe('STRICT');
    const port = compile(svc + 'apiVersion: authentication.istio.io/v1alpha1\nkind: Policy\nmetadata: {name: db, namespace: wordpress-app}\nspec:\n  targets: [{name: mariadb, ports: [{number: 3306}]}]\n  peers: [{mtls: {}}]\n');
    expect(port.mtls.workload).toBe('PERMISSIVE');
    expect(port.mtls.ports.find((p) => p.port === 3306)!.mode).toBe('STRICT');
    expect(port.mtls.ports.find((p) => p.port === 9104)!.mode).toBe('PERMISSIVE');
  });

  it('a target Service that is not among the inputs is said, not guessed', () => {
    const c = compile('apiVersion: authentication.istio.io/v1alpha1\nkind: Policy\nmetadata: {name: db, namespace: wordpress-app}\nspec:\n  targets: [{name: mariadb}]\n  peers: [{mtls: {}}]\n');
    expect(c.mtls.workload).toBe('PERMISSIVE');
    expect(c.diagnostics.some((d) => /target service mariadb is not among the inputs/.test(d.message))).toBe(true);
  });

  it('an unsupported mtls mode is an error naming the path', () => {
    const c = compile('apiVersion: authentication.istio.io/v1alpha1\nkind: Policy\nmetadata: {name: default, namespace: wordpress-app}\nspec:\n  peers: [{mtls: {mode: OPTIONAL}}]\n');
    expect(c.diagnostics.find((d) => d.severity === 'error')!.location.path).toMatch(/\.spec\.peers\[0\]\.mtls\.mode$/);
  });
});
