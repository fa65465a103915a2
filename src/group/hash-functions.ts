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
import { md5FirstWord } from './md5.js';

/** carbon_ch's ring position of `key`: the first two bytes of its MD5, big-endian (0..65535). */
export function carbonPosition(key: Uint8Array): number {
  const word = md5FirstWord(key);
  return ((word & 0xff) << 8) | ((word >>> 8) & 0xff);
}

/** 32-bit FNV-1a of `key` (bytes of 0x80 and above sign-extended, as carbon-c-relay on amd64). */
export function fnv1a32(key: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    // (key[i] << 24) >> 24 is the byte as a signed char; constants above 2^31 here would cost 4x
    hash = Math.imul(hash ^ ((key[i]! << 24) >> 24), 0x01000193);
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

/**
 * 64-bit FNV-1a of `key` into `out` (bytes of 0x80 and above sign-extended to 64 bits). Computed on
 * four 16-bit limbs so every intermediate stays a small integer (uint32 halves were 3x slower).
 */
export function fnv1a64(key: Uint8Array, out: U64): void {
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (let i = 0; i < key.length; i++) {
    const signed = (key[i]! << 24) >> 24; // the byte as a signed char
    const extension = (signed >> 31) & 0xffff; // its sign extension into the upper limbs
    h0 ^= signed & 0xffff;
    h1 ^= extension;
    h2 ^= extension;
    h3 ^= extension;
    // times the prime 2^40 + 0x1b3: 0x1b3 per limb, and 2^40 moves limb k to limb k + 2, 8 bits up
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (h0 << 8) + (t1 >>> 16);
    h3 = (h3 * 0x1b3 + (h1 << 8) + (t2 >>> 16)) & 0xffff;
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
  }
  out.hi = ((h3 << 16) | h2) >>> 0;
  out.lo = ((h1 << 16) | h0) >>> 0;
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
