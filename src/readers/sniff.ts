/**
 * Binary files named by their first bytes, for "expected text, found …" messages (without the YAML readers:
 * the key log reader imports it on `flows`' path).
 */

/** Recognises binary formats that are certainly not JSON/YAML. */
export function sniffBinary(buf: Uint8Array): string | null {
  if (buf.length >= 4) {
    const m = ((buf[0]! << 24) | (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!) >>> 0;
    if (m === 0xa1b2c3d4 || m === 0xd4c3b2a1 || m === 0xa1b23c4d || m === 0x4d3cb2a1) return 'a pcap capture (binary)';
    if (m === 0x0a0d0d0a) return 'a pcapng capture (binary)';
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) return 'gzip-compressed data';
  if (buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04) return 'a zip archive';
  const n = Math.min(buf.length, 4096);
  for (let i = 0; i < n; i++) if (buf[i] === 0) return 'binary data (NUL bytes)';
  return null;
}
