/**
 * Address text as evidence files spell it, made comparable (without the YAML readers: the capture path
 * imports it, and `flows` starts faster without loading a YAML parser it does not use).
 */

/** Strips IPv4-mapped IPv6 prefixes and brackets so that addresses from different sources compare equal. */
export function normalizeIp(ip: string): string {
  if (digitsAndDots(ip)) return ip; // the common case (an IPv4 address), already normal
  let s = ip.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  if (m) return m[1]!;
  return s.toLowerCase();
}

/** Non-empty and only ASCII digits and dots (normalizeIp leaves such a string as it is). */
function digitsAndDots(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c !== 46 && (c < 48 || c > 57)) return false;
  }
  return true;
}
