/** Text forms of IP addresses (cached: captures repeat a few addresses millions of times). */

/**
 * Dotted-quad strings by address: captures repeat a few addresses millions of times. A direct-mapped cache (an
 * address has one slot, a newer one in the same slot replaces it) rather than a Map: a Map keyed by the 32-bit
 * value hashes a heap number on every lookup (31 ms of a 200 MB VXLAN capture's profile, four addresses a packet).
 */
const V4_SLOTS = 4096;
const v4Keys = new Uint32Array(V4_SLOTS);
const v4Strings: (string | undefined)[] = new Array<string | undefined>(V4_SLOTS).fill(undefined);

export function ipv4String(b: Uint8Array, o: number): string {
  const k = ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
  // (the low 12 bits, folded with the next 12: hosts of one subnet and the same host number in several subnets spread)
  const i = (k ^ (k >>> 12)) & (V4_SLOTS - 1);
  const s = v4Strings[i];
  if (s !== undefined && v4Keys[i] === k) return s;
  const t = `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
  v4Keys[i] = k;
  v4Strings[i] = t;
  return t;
}

/** RFC 5952 text form of an IPv6 address. */
export function ipv6String(b: Uint8Array, o: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!);
  // IPv4-mapped
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = w.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

