/**
 * Zeek's TCP connection states (conn.log `conn_state`), from the per-endpoint states Zeek's TCP
 * analyzer tracks (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET) and the
 * decision Zeek's base/protocols/conn/main.zeek `conn_state()` makes from them:
 *
 *   S0 attempt, no reply · S1 established, not terminated · SF normal establishment and termination
 *   REJ attempt rejected · S2 established, originator closed, no reply · S3 established, responder
 *   closed, no reply · RSTO / RSTR originator / responder aborted · RSTOS0 originator SYN then RST,
 *   no SYN-ACK · RSTRH responder SYN-ACK then RST, no SYN seen · SH originator SYN then FIN, no
 *   SYN-ACK · SHR responder SYN-ACK then FIN, no SYN · OTH no SYN, mid-stream traffic.
 *
 * The originator is the flow's client (the SYN's sender; mid-stream, the side guessed as client).
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from './decode.js';

export type ZeekConnState = 'S0' | 'S1' | 'SF' | 'REJ' | 'S2' | 'S3' | 'RSTO' | 'RSTR' | 'RSTOS0' | 'RSTRH' | 'SH' | 'SHR' | 'OTH';

const INACTIVE = 0;
const SYN_SENT = 1;
const SYN_ACK_SENT = 2;
const PARTIAL = 3;
const ESTABLISHED = 4;
const CLOSED = 5;
const RESET = 6;

export class ZeekTcpState {
  /** Endpoint states: [originator, responder]. */
  readonly state = [INACTIVE, INACTIVE];
  /**
   * Zeek's RSTOS0 needs a history matching /^?S[^HAFGIQ]*R/: the connection began with the
   * originator's SYN and no SYN-ACK, ACK or FIN came before the RST.
   */
  private packets = 0;
  private startedWithSyn = false;
  private ackOrFinBeforeRst = false;

  /** One segment from the originator (`orig`) or the responder. */
  update(orig: boolean, flags: number, payloadLen: number): void {
    const e = orig ? 0 : 1;
    const p = orig ? 1 : 0;
    const s = this.state;
    if (this.packets++ === 0) this.startedWithSyn = orig && (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (!(flags & TCP_RST) && flags & (TCP_ACK | TCP_FIN)) this.ackOrFinBeforeRst ||= this.state[0] !== RESET && this.state[1] !== RESET;
    if (flags & TCP_RST) {
      s[e] = RESET;
      return;
    }
    if (s[e] === RESET) return;
    if (flags & TCP_SYN) {
      if (s[e] === INACTIVE) s[e] = flags & TCP_ACK ? SYN_ACK_SENT : SYN_SENT;
    } else if (flags & TCP_ACK || payloadLen > 0) {
      if (s[e] === INACTIVE) s[e] = PARTIAL;
      // the handshake completes when the side that sent the SYN acknowledges the other's SYN-ACK
      else if ((s[e] === SYN_SENT || s[e] === SYN_ACK_SENT) && flags & TCP_ACK && (s[p] === SYN_ACK_SENT || s[p] === SYN_SENT || s[p] === ESTABLISHED)) {
        s[e] = ESTABLISHED;
        if (s[p] === SYN_SENT || s[p] === SYN_ACK_SENT) s[p] = ESTABLISHED;
      }
    }
    if (flags & TCP_FIN) {
      // a FIN piggy-backed on the ACK that completes the handshake establishes first (above)
      s[e] = CLOSED;
    }
  }

  /** Zeek's conn_state(); sizes are the payload bytes each side sent. */
  connState(origSize: number, respSize: number): ZeekConnState {
    const [os, rs] = this.state as [number, number];
    const oInactive = os === INACTIVE || os === PARTIAL;
    const rInactive = rs === INACTIVE || rs === PARTIAL;
    if (rs === RESET) {
      if (os === SYN_SENT || os === SYN_ACK_SENT || (os === RESET && origSize === 0 && respSize === 0)) return 'REJ';
      return oInactive ? 'RSTRH' : 'RSTR';
    }
    if (os === RESET) {
      if (rInactive) return this.startedWithSyn && !this.ackOrFinBeforeRst ? 'RSTOS0' : 'OTH';
      return 'RSTO';
    }
    if (rs === CLOSED && os === CLOSED) return 'SF';
    if (os === CLOSED) return rInactive ? 'SH' : 'S2';
    if (rs === CLOSED) return oInactive ? 'SHR' : 'S3';
    if (os === SYN_SENT && rs === INACTIVE) return 'S0';
    if (os === ESTABLISHED && rs === ESTABLISHED) return 'S1';
    return 'OTH';
  }
}
