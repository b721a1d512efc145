/** Istio ambient: ztunnel's L4 authorization (mirrors ztunnel's src/rbac.rs and src/state.rs). */
export type * from './model.js';
export { evaluatePolicy, parseSpiffeIdentity, identityString, stringMatches, principalMatches, serviceAccountMatches, isEmptyMatch, describeStringMatch } from './rbac.js';
export type { ZtConnectionAttrs, ZtIdentity, ZtPolicyEvaluation } from './rbac.js';
export { decideZtunnel, policiesForWorkload, workloadsForPolicy, findWorkloadByIp, connectionFromAttrs, policyKey, REJECTION, POLICY_REJECTION_PREFIX, FILTER_ALLOW, FILTER_DENY } from './state.js';
export type { SelectedPolicy, PolicySource, ZtDecisionOptions } from './state.js';
