/** Helpers shared by the HTTP/1.x and HTTP/2 decoders. */
import type { HeaderMap } from '../model/attrs.js';
import type { HttpExchange } from '../model/records.js';

/** Most exchanges kept per flow; further ones are counted, not stored. */
export const MAX_EXCHANGES = 1000;

export function addHeader(h: HeaderMap, name: string, value: string): void {
  const k = name.toLowerCase();
  (h[k] ??= []).push(value);
}

/** RFC 3339 UTC from epoch milliseconds, keeping sub-millisecond digits when present. */
export function rfc3339(ms: number): string {
  const whole = Math.floor(ms);
  const iso = new Date(whole).toISOString();
  const micro = Math.round((ms - whole) * 1000);
  if (micro <= 0 || micro >= 1000) return iso;
  return iso.replace(/Z$/, String(micro).padStart(3, '0').replace(/0+$/, '') + 'Z');
}

export interface ExchangeSink {
  exchanges: HttpExchange[];
  dropped: number;
  notes: string[];
}

export function pushExchange(sink: ExchangeSink, x: HttpExchange): HttpExchange | null {
  if (sink.exchanges.length >= MAX_EXCHANGES) {
    sink.dropped++;
    return null;
  }
  sink.exchanges.push(x);
  return x;
}
