/** The RBAC engine: pure (no I/O, no CLI, no Istio knowledge). */
export { RbacConfigError } from './errors.js';
export { parseRbacFilter, parseRbacPerRoute, evaluateRbacFilter, normalizeRbacConfig } from './engine.js';
export type { RbacFilter, RbacPerRoute, RbacEngine, RulesEngine, MatcherEngine, EvaluateOptions, RbacAction } from './engine.js';
export { closestMiss, explainText, responseCodeDetails, connectionTerminationDetails } from './explain.js';
export { buildContext, UNKNOWN_ATTRIBUTES } from './context.js';
export type { EvalContext } from './context.js';
export { StringMatcher, asciiLower } from './string-matcher.js';
export { HeaderMatcher, simpleAtoi64 } from './header-matcher.js';
export { CidrRange, parseIp, formatIp } from './cidr.js';
export { MetadataMatcher } from './metadata-matcher.js';
export { PolicyMatcher, compareUtf8 } from './policy.js';
export { createPermission, createPrincipal, removeQueryAndFragment, uriTemplateToRegex, dnsNameMatch } from './matchers.js';
export type { Matcher } from './matchers.js';
export { FullMatchRegex } from './regex.js';
export { parseRequestAttrs } from './request.js';
