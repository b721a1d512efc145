/**
 * Zeek's conn_state for TCP: each state of base/protocols/conn/main.zeek reached by the packet
 * sequence Zeek documents for it, and on whole synthetic flows (SF, RSTO/RSTR, S1, mid-stream OTH).
 */
import { describe, expect, it } from 'vitest';
import { ZeekTcpState } from '../../../src/readers/capture/conn-state.js';
import { TCP_ACK as A, TCP_FIN as F, TCP_RST as R, TCP_SYN as S } from '../../../src/readers/capture/decode.js';
import { flowsFromCapture } from '../../../src/analysis/flows.js';
import { captureBuffer } from '../../../src/readers/capture/index.js';
import { createStreamDecoder } from '../../../src/protocols/index.js';
import { buildCapture } from '../../../src/synth/capture.js';
import { tcpConversation, type TcpConversationOptions } from '../../../src/synth/tcp.js';

/** [orig?, flags, payload bytes] */
type Pkt = [boolean, number, number?];
function state(pkts: Pkt[]): string {
  const z = new ZeekTcpState();
  let o = 0;
  let r = 0;
  for (const [orig, flags, len = 0] of pkts) {
    z.update(orig, flags, len);
    if (orig) o += len;
    else r += len;
  }
  return z.connState(o, r);
}

const O = true;
const Rp = false;

describe("Zeek's conn_state", () => {
  const cases: [string, Pkt[]][] = [
    ['S0', [[O, S], [O, S]]],
    ['S1', [[O, S], [Rp, S | A], [O, A], [O, A, 100], [Rp, A, 50]]],
    ['SF', [[O, S], [Rp, S | A], [O, A], [O, A, 10], [O, F | A], [Rp, F | A], [O, A]]],
    ['REJ', [[O, S], [Rp, R | A]]],
    ['S2', [[O, S], [Rp, S | A], [O, A], [O, F | A]]],
    ['S3', [[O, S], [Rp, S | A], [O, A], [Rp, F | A]]],
    ['RSTO', [[O, S], [Rp, S | A], [O, A], [O, A, 200], [O, R | A]]],
    // the STRICT-port / bad-certificate case: the server resets right after the ClientHello
    ['RSTR', [[O, S], [Rp, S | A], [O, A], [O, A, 517], [Rp, R | A]]],
    ['RSTOS0', [[O, S], [O, R]]],
    ['RSTRH', [[Rp, S | A], [Rp, R]]],
    ['SH', [[O, S], [O, F]]],
    ['SHR', [[Rp, S | A], [Rp, F | A]]],
    ['OTH', [[O, A, 100], [Rp, A, 100]]],
  ];
  for (const [want, pkts] of cases) it(`${want}`, () => expect(state(pkts)).toBe(want));

  it('an originator that ACKed before its RST, with a silent responder, is OTH, not RSTOS0', () => {
    expect(state([[O, S], [O, A], [O, R]])).toBe('OTH');
  });

  async function flowOf(o: Partial<TcpConversationOptions>) {
    const packets = tcpConversation([{ dir: 'c2s', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n') }, { dir: 's2c', bytes: Buffer.from('HTTP/1.1 204 No Content\r\n\r\n') }], { client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 80 }, startMs: 1_700_000_000_000, ...o });
    const out = [];
    for await (const f of flowsFromCapture(captureBuffer('t', buildCapture([{ packets }])), { decoder: createStreamDecoder })) out.push(f);
    return out[0]!;
  }

  it('on whole flows: FIN both ways is SF, no close is S1, a capture without the handshake is OTH; duration in seconds', async () => {
    const sf = await flowOf({});
    expect(sf.connState).toBe('SF');
    expect(sf.duration).toBeCloseTo((sf.endMs - sf.startMs) / 1000, 6);
    expect((await flowOf({ close: 'none' })).connState).toBe('S1');
    expect((await flowOf({ handshake: false, close: 'none' })).connState).toBe('OTH');
    expect(['RSTO', 'RSTR']).toContain((await flowOf({ close: 'rst' })).connState);
  });
});
