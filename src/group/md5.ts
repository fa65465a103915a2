/**
 * MD5 (RFC 1321) of a short key, for carbon_ch's ring position: only the digest's first 32-bit
 * word is returned. carbon_ch places every item of a group once, so this is on the hot path;
 * written here because node:crypto costs about 1 µs a call (a binding and a Buffer per call),
 * several times the hash itself for a metric name of a few dozen bytes. Checked against
 * node:crypto in test/unit/consistent-hash.test.ts.
 */

/** Left-rotation amounts per round step. */
const S = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16,
  23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];
/** K[i] = floor(2^32 * |sin(i + 1)|). */
const K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(2 ** 32 * Math.abs(Math.sin(i + 1))));
/** One 64-byte block as 16 little-endian words (reused). */
const M = new Int32Array(16);

/** The first word of MD5(`key`), as the digest's first four bytes read little-endian. */
export function md5FirstWord(key: Uint8Array): number {
  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  const length = key.length;
  // The message, 0x80, zeros, then its length in bits (64-bit little-endian): whole blocks.
  const blocks = Math.floor((length + 8) / 64) + 1;
  for (let block = 0; block < blocks; block++) {
    const base = block * 64;
    for (let w = 0; w < 16; w++) {
      const at = base + w * 4;
      if (at + 3 < length) {
        M[w] = key[at]! | (key[at + 1]! << 8) | (key[at + 2]! << 16) | (key[at + 3]! << 24);
        continue;
      }
      let word = 0;
      for (let b = 3; b >= 0; b--) word = (word << 8) | (at + b < length ? key[at + b]! : at + b === length ? 0x80 : 0);
      M[w] = word;
    }
    if (block === blocks - 1) {
      M[14] = length * 8;
      M[15] = Math.floor(length / 0x20000000);
    }
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const sum = (a + f + K[i]! + M[g]!) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << S[i]!) | (sum >>> (32 - S[i]!)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  return a0 >>> 0;
}
