/**
 * ConsistentHash without carbon-c-relay (test/e2e/carbon-oracle.test.ts compares with the real
 * one): the 64-bit arithmetic against BigInt, determinism, distinct replicas, down members
 * skipped along the preference list, and that removing a member only moves that member's keys.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { RelayError } from '../../src/errors.js';
import { md5FirstWord } from '../../src/group/md5.js';
import { ConsistentHash, type HashMember, type HashMode } from '../../src/group/consistent-hash.js';
import { carbonPosition, fnv1a32, fnv1a64, fnv1aPosition, jumpBucket, type U64, xorshift64Star } from '../../src/group/hash-functions.js';
import { mulberry32, randomInt } from '../helpers/prng.js';

const M64 = (1n << 64n) - 1n;

/** consistent-hash.c and fnv1a.h in BigInt, bytes sign-extended as a signed char is on amd64. */
function refFnv1a64(key: Uint8Array): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of key) hash = ((hash ^ (BigInt(byte < 0x80 ? byte : byte - 256) & M64)) * 0x100000001b3n) & M64;
  return hash;
}
function refJump(key: bigint, buckets: number): number {
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & M64;
    j = Math.floor((b + 1) * (2147483648 / (Number(key >> 33n) + 1)));
  }
  return b;
}
function refXorshift(h: bigint): bigint {
  h ^= h >> 12n;
  h = (h ^ (h << 25n)) & M64;
  h ^= h >> 27n;
  return (h * 2685821657736338717n) & M64;
}
const u64 = (v: bigint): U64 => ({ hi: Number(v >> 32n), lo: Number(v & 0xffffffffn) });
const big = (v: U64): bigint => (BigInt(v.hi) << 32n) | BigInt(v.lo);

function randomKeys(seed: number, count: number, binary = false): Buffer[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, (_, i) => {
    if (!binary) return Buffer.from(`servers.host${randomInt(random, 0, 999)}.cpu${i}.metric_${randomInt(random, 0, 1e6)}`);
    return Buffer.from(Array.from({ length: randomInt(random, 0, 40) }, () => randomInt(random, 0, 255)));
  });
}

function members(count: number, instances = true): HashMember[] {
  return Array.from({ length: count }, (_, i) => ({ host: '10.0.0.1', port: 2003 + i, instance: instances ? `node-${i}` : undefined }));
}

test('hash functions: 64-bit FNV-1a, jump and xorshift64* equal a BigInt transcription, bytes >= 0x80 included', () => {
  const out: U64 = { hi: 0, lo: 0 };
  const scratch: U64 = { hi: 0, lo: 0 };
  for (const key of randomKeys(1, 2000, true)) {
    fnv1a64(key, out);
    const ref = refFnv1a64(key);
    assert.equal(big(out), ref);
    for (const buckets of [1, 2, 5, 64]) assert.equal(jumpBucket(out, buckets, scratch), refJump(ref, buckets));
    xorshift64Star(out);
    assert.equal(big(out), refXorshift(ref));
  }
  assert.equal(big({ hi: 0, lo: 0 }), 0n);
  assert.deepEqual(u64(0xffffffffffffffffn), { hi: 0xffffffff, lo: 0xffffffff });
});

test('hash functions: 16-bit positions (MD5 of "" is d41d8cd9..., FNV-1a 32 of "a" is e40c292c)', () => {
  assert.equal(carbonPosition(new Uint8Array(0)), 0xd41d);
  assert.equal(fnv1a32(Buffer.from('a')), 0xe40c292c);
  assert.equal(fnv1aPosition(Buffer.from('a')), 0xe40c ^ 0x292c);
  // a byte of 0x80 or above enters sign-extended, as (unsigned int)(signed char)
  assert.equal(fnv1a32(Buffer.from([0xff])), (Math.imul(0x811c9dc5 ^ 0xffffffff, 0x01000193) >>> 0) >>> 0);
});

test('md5FirstWord equals node:crypto’s MD5 for 2,000 seeded keys of 0 to 399 bytes (every padding case: 55, 56, 63, 64 bytes …)', () => {
  const random = mulberry32(5);
  for (let n = 0; n < 2000; n++) {
    const key = Uint8Array.from({ length: n % 400 }, () => randomInt(random, 0, 255));
    assert.equal(md5FirstWord(key), createHash('md5').update(key).digest().readUInt32LE(0), `key of ${key.length} bytes`);
    assert.equal(carbonPosition(key), createHash('md5').update(key).digest().readUInt16BE(0));
  }
});

const MODES: HashMode[] = ['carbon_ch', 'fnv1a_ch', 'jump_fnv1a_ch'];

test('place: the same key gets the same members, from the same or a new instance', () => {
  for (const mode of MODES) {
    const a = new ConsistentHash(mode, members(5));
    const b = new ConsistentHash(mode, members(5));
    for (const key of randomKeys(2, 500)) {
      assert.deepEqual(a.place(key, 2), a.place(key, 2), mode);
      assert.deepEqual(a.place(key, 2), b.place(key, 2), mode);
    }
  }
});

test('place: replication gives distinct members, and the first replica is the unreplicated member', () => {
  for (const mode of MODES) {
    const hash = new ConsistentHash(mode, members(6));
    const counts = new Array<number>(6).fill(0);
    for (const key of randomKeys(3, 2000)) {
      const one = hash.place(key, 1);
      for (const r of [2, 3, 6]) {
        const placed = hash.place(key, r);
        assert.equal(placed.length, r, mode);
        assert.equal(new Set(placed).size, r, mode);
        assert.equal(placed[0], one[0], mode);
        assert.deepEqual(placed.slice(0, 2), hash.place(key, 2), `${mode}: replicas are a prefix of the preference list`);
      }
      counts[one[0]!]!++;
    }
    assert.ok(Math.min(...counts) > 100, `${mode}: every member gets keys (${counts.join('/')})`);
  }
});

test('place (dynamic): down members are skipped along the preference list; keys of up members stay', () => {
  for (const mode of MODES) {
    const hash = new ConsistentHash(mode, members(5));
    const down = new Set([1, 3]);
    const isUp = (i: number): boolean => !down.has(i);
    for (const key of randomKeys(4, 2000)) {
      const all = hash.place(key, 5);
      for (const r of [1, 2, 3]) {
        const placed = hash.place(key, r, isUp);
        assert.deepEqual(placed, all.filter(isUp).slice(0, r), mode);
        const before = hash.place(key, r);
        if (before.every(isUp)) assert.deepEqual(placed, before, `${mode}: nothing moves when the key's members are up`);
      }
      assert.deepEqual(hash.place(key, 4, isUp), all.filter(isUp), `${mode}: fewer up than replication gives fewer`);
      assert.deepEqual(
        hash.place(key, 2, () => false),
        [],
        mode,
      );
      assert.deepEqual(
        hash.place(key, 2, () => true),
        hash.place(key, 2),
        mode,
      );
    }
  }
});

test('removing a member moves only its own keys (carbon_ch, fnv1a_ch: any member; jump_fnv1a_ch: the last in instance order)', () => {
  const keys = randomKeys(5, 5000);
  const cases: { mode: HashMode; instances: boolean; removed: number }[] = [
    { mode: 'carbon_ch', instances: true, removed: 2 },
    { mode: 'fnv1a_ch', instances: true, removed: 0 },
    { mode: 'fnv1a_ch', instances: false, removed: 3 },
    { mode: 'jump_fnv1a_ch', instances: true, removed: 4 },
  ];
  for (const { mode, instances, removed } of cases) {
    const full = members(5, instances);
    const rest = full.filter((_, i) => i !== removed);
    const before = new ConsistentHash(mode, full);
    const after = new ConsistentHash(mode, rest);
    let moved = 0;
    for (const key of keys) {
      const was = full[before.place(key, 1)[0]!]!;
      const now = rest[after.place(key, 1)[0]!]!;
      if (was === full[removed]) moved++;
      else assert.equal(now, was, `${mode}: a key of ${was.port} moved to ${now.port}`);
    }
    assert.ok(moved > 500 && moved < 1500, `${mode}: the removed member had ${moved} of 5000 keys`);
  }
});

test('jump_fnv1a_ch orders members by instance, numerically when both are integers, members without instance last', () => {
  const key = Buffer.from('some.metric');
  const sorted = [
    { host: 'a', port: 1, instance: '2' },
    { host: 'b', port: 1, instance: '10' },
    { host: 'c', port: 1 },
    { host: 'd', port: 1 },
  ];
  const shuffled = [sorted[2]!, sorted[1]!, sorted[3]!, sorted[0]!];
  const a = new ConsistentHash('jump_fnv1a_ch', sorted);
  const b = new ConsistentHash('jump_fnv1a_ch', shuffled);
  for (const k of [key, ...randomKeys(6, 300)]) {
    assert.deepEqual(
      b.place(k, 4).map((i) => shuffled[i]),
      a.place(k, 4).map((i) => sorted[i]),
    );
  }
});

test('clusters carbon-c-relay would build ambiguously or refuses are ERR_CLUSTER; so is replication out of range', () => {
  const refuses = (build: () => unknown, pattern: RegExp): void =>
    assert.throws(build, (e: unknown) => e instanceof RelayError && e.code === 'ERR_CLUSTER' && pattern.test(e.message) && !e.message.includes('\n'));
  refuses(() => new ConsistentHash('carbon_ch', []), /at least one member/);
  refuses(() => new ConsistentHash('fnv1a_ch', members(65_536)), /at most 65535/);
  refuses(() => new ConsistentHash('carbon_ch', members(3, false)), /hash the same/);
  refuses(
    () =>
      new ConsistentHash('fnv1a_ch', [
        { host: 'a', port: 1, instance: 'x' },
        { host: 'b', port: 2, instance: 'x' },
      ]),
    /hash the same/,
  );
  refuses(() => new ConsistentHash('jump_fnv1a_ch', [...members(2, false), members(1, false)[0]!]), /hash the same/);
  refuses(
    () =>
      new ConsistentHash('jump_fnv1a_ch', [
        { host: 'a', port: 1, instance: '1' },
        { host: 'b', port: 1, instance: '+1' },
      ]),
    /no definite order/,
  );
  refuses(
    () =>
      new ConsistentHash(
        'jump_fnv1a_ch',
        ['10', '9', '5x'].map((instance, i) => ({ host: 'h', port: i + 1, instance })),
      ),
    /no definite order/,
  );
  refuses(() => new ConsistentHash('fnv1a_ch', [{ host: 'h', port: 0 }]), /port/);
  // members on one host are fine for fnv1a_ch without instances (the port is hashed)
  assert.equal(new ConsistentHash('fnv1a_ch', members(3, false)).size, 3);
  const hash = new ConsistentHash('carbon_ch', members(3));
  refuses(() => hash.place(Buffer.from('x'), 4), /replication 4/);
  refuses(() => hash.place(Buffer.from('x'), 0), /replication 0/);
});
