/** The hostile generators build exactly the records they describe (the bulk ones patch a template record). */
import { describe, expect, it } from 'vitest';
import { headersOnlyWithLoss, RawPcap, tcpFrame, TCP } from '../../src/synth/hostile.js';

/** headersOnlyWithLoss written one record at a time, frame by frame (as it was before the template). */
function reference(segments: number, lost: number, mss: number, t0Us = 1_700_000_000_000_000): Buffer {
  const w = new RawPcap(54);
  const c = { src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 8080 };
  const s = { src: c.dst, sport: c.dport, dst: c.src, dport: c.sport };
  let t = t0Us;
  w.add(t++, tcpFrame({ ...c, seq: 1000, flags: TCP.SYN }));
  w.add(t++, tcpFrame({ ...s, seq: 5000, ack: 1001, flags: TCP.SYN | TCP.ACK }));
  w.add(t++, tcpFrame({ ...c, seq: 1001, ack: 5001, flags: TCP.ACK }));
  for (let i = 0; i < segments; i++) {
    if (i !== lost) w.add(t++, tcpFrame({ ...c, seq: 1001 + i * mss, ack: 5001, flags: TCP.ACK | TCP.PSH, payloadLen: mss }), 54 + mss);
  }
  const end = 1001 + segments * mss;
  w.add(t++, tcpFrame({ ...c, seq: end, ack: 5001, flags: TCP.FIN | TCP.ACK }));
  w.add(t++, tcpFrame({ ...s, seq: 5001, ack: end + 1, flags: TCP.FIN | TCP.ACK }));
  w.add(t++, tcpFrame({ ...c, seq: end + 1, ack: 5002, flags: TCP.ACK }));
  return w.toBuffer();
}

describe('headersOnlyWithLoss', () => {
  it('is the record-by-record capture: handshake, every segment but the lost one (54 bytes captured of 54 + mss), FIN exchange', () => {
    for (const [segments, lost, mss] of [[50, 3, 1400], [10, 0, 536], [10, 9, 1460], [10, -1, 1400], [3, 7, 100]] as const) {
      expect(headersOnlyWithLoss(segments, lost, mss).equals(reference(segments, lost, mss)), `${segments}/${lost}/${mss}`).toBe(true);
    }
  });

  it('carries microseconds into seconds as the per-record build does', () => {
    expect(headersOnlyWithLoss(2000, 5, 1400, 1_700_000_000_999_990).equals(reference(2000, 5, 1400, 1_700_000_000_999_990))).toBe(true);
  });
});
