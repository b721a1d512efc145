import type { Scenario } from '../bundle.js';
import { bookinfoAuthz } from './bookinfo-authz.js';

export const SCENARIOS: Scenario[] = [bookinfoAuthz];
