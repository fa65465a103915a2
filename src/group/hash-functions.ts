/**
 * The hash functions of carbon-c-relay 3.7's consistent-hash clusters (see its consistent-hash.c
 * and fnv1a.h), written from their description: a 16-bit ring position from MD5 (carbon_ch) or
 * from 32-bit FNV-1a (fnv1a_ch), and the jump consistent hash of Lamping and Veach over 64-bit
 * FNV-1a (jump_fnv1a_ch). 64-bit arithmetic is done on two uint32 halves (no BigInt on the hot path).
 *
 * Bytes: carbon-c-relay feeds `(unsigned int)*p` of a `char`, which is signed on amd64, so a byte
 * of 0x80 or above enters FNV-1a sign-extended (0xffffffxx). We do the same: the results equal
 * carbon-c-relay on amd64 (on arm64, where char is unsigned, carbon-c-relay itself differs).
 */
import crypto from 'node:crypto';

const md5: (data: Uint8Array) => Uint8Array =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('md5', data, 'buffer') : (data) => crypto.createHash('md5').update(data).digest();

/** carbon_ch's ring position of `key`: the first two bytes of its MD5, big-endian (0..65535). */
export function carbonPosition(key: Uint8Array): number {
  const digest = md5(key);
  return (digest[0]! << 8) | digest[1]!;
}

/** 32-bit FNV-1a of `key` (bytes of 0x80 and above sign-extended, as carbon-c-relay on amd64). */
export function fnv1a32(key: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    const byte = key[i]!;
    hash = Math.imul(hash ^ (byte < 0x80 ? byte : byte | 0xffffff00), 0x01000193);
  }
  return hash >>> 0;
}

/** fnv1a_ch's ring position of `key`: the two halves of its 32-bit FNV-1a xor-ed (0..65535). */
export function fnv1aPosition(key: Uint8Array): number {
  const hash = fnv1a32(key);
  return (hash >>> 16) ^ (hash & 0xffff);
}

/**
 * A 64-bit unsigned value as two uint32 halves. The functions below write their result into the
 * one they are given (no allocation per call).
 */
export interface U64 {
  hi: number;
  lo: number;
}

/** High 32 bits of the 64-bit product of two uint32s (exact: every partial sum stays below 2^53). */
function mulHigh32(a: number, b: number): number {
  const a1 = a >>> 16;
  const a0 = a & 0xffff;
  const b1 = b >>> 16;
  const b0 = b & 0xffff;
  const middle = a1 * b0 + a0 * b1;
  return (a1 * b1 + Math.floor((middle * 65536 + a0 * b0) / 4294967296)) >>> 0;
}

/** `value = value * (mulHi:mulLo) mod 2^64`. */
function mul64(value: U64, mulHi: number, mulLo: number): void {
  const { hi, lo } = value;
  value.hi = (mulHigh32(lo, mulLo) + Math.imul(lo, mulHi) + Math.imul(hi, mulLo)) >>> 0;
  value.lo = Math.imul(lo, mulLo) >>> 0;
}

/** 64-bit FNV-1a of `key` into `out` (bytes of 0x80 and above sign-extended to 64 bits). */
export function fnv1a64(key: Uint8Array, out: U64): void {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < key.length; i++) {
    const byte = key[i]!;
    if (byte < 0x80) lo = (lo ^ byte) >>> 0;
    else {
      lo = (lo ^ byte ^ 0xffffff00) >>> 0;
      hi = ~hi >>> 0;
    }
    // times the prime 2^40 + 0x1b3: lo * 0x1b3 fits in a double exactly; lo << 8 is lo * 2^40 seen from hi.
    const low = lo * 0x1b3;
    hi = (Math.imul(hi, 0x1b3) + Math.floor(low / 4294967296) + (lo << 8)) >>> 0;
    lo = low >>> 0;
  }
  out.hi = hi;
  out.lo = lo;
}

/**
 * Jump consistent hash: the bucket in [0, buckets) of the 64-bit `key` (left unchanged). The
 * bucket step is computed in doubles exactly as the C code does: (b + 1) * (2^31 / ((key >> 33) + 1)).
 */
export function jumpBucket(key: U64, buckets: number, scratch: U64): number {
  scratch.hi = key.hi;
  scratch.lo = key.lo;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    mul64(scratch, 0x27bb2ee6, 0x87b0b0fd);
    // + 1, carrying into the high half
    scratch.lo = (scratch.lo + 1) >>> 0;
    if (scratch.lo === 0) scratch.hi = (scratch.hi + 1) >>> 0;
    j = Math.floor((b + 1) * (2147483648 / ((scratch.hi >>> 1) + 1)));
  }
  return b;
}

/** The xorshift step carbon-c-relay applies to the key between two replicas: >> 12, << 25, >> 27, then times 0x2545f4914f6cdd1d. */
export function xorshift64Star(value: U64): void {
  let { hi, lo } = value;
  lo = (lo ^ ((lo >>> 12) | (hi << 20))) >>> 0;
  hi = (hi ^ (hi >>> 12)) >>> 0;
  hi = (hi ^ ((hi << 25) | (lo >>> 7))) >>> 0;
  lo = (lo ^ (lo << 25)) >>> 0;
  lo = (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0;
  hi = (hi ^ (hi >>> 27)) >>> 0;
  value.hi = hi;
  value.lo = lo;
  mul64(value, 0x2545f491, 0x4f6cdd1d);
}
