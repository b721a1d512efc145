import type { Scenario } from '../bundle.js';
import { bankBreach } from './bank-breach.js';
import { bookinfoAuthz } from './bookinfo-authz.js';
import { bookinfoNetpol } from './bookinfo-netpol.js';
import { detailsPath } from './details-path.js';
import { legacyPlaintext } from './legacy-plaintext.js';
import { tcpEcho } from './tcp-echo.js';
import { wordpressMtls } from './wordpress-mtls.js';

/** The bundled incident samples, in the order the README presents them. */
export const SCENARIOS: Scenario[] = [bookinfoAuthz, tcpEcho, legacyPlaintext, bankBreach, detailsPath, bookinfoNetpol, wordpressMtls];
