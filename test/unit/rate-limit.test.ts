/**
 * SourceRateLimiter on seeded schedules, its clock driven by the test: after every message, no
 * source has had more admitted in any window than its burst plus the rate over that window; a
 * source that keeps to the rate loses nothing, whatever the others send; the table never holds
 * more than its bound, however many sources come.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { mulberry32, randomInt } from '../../src/prng.js';
import { addressKey, ipv4Key, SourceRateLimiter, type SourceBucket } from '../../src/ingest/rate-limit.js';

/** A limiter whose clock is `clock.ms`. */
function limiterAt(clock: { ms: number }, perSecond: number, burst: number, maxSources?: number): SourceRateLimiter {
  return new SourceRateLimiter({ perSecond, burst }, maxSources, () => clock.ms);
}

test('rate limit: no window admits more than burst + rate × its length, and a source within the rate loses nothing (300 seeds)', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const random = mulberry32(seed);
    const perSecond = randomInt(random, 1, 2000);
    const burst = randomInt(random, 1, 200);
    const clock = { ms: 0 };
    const limiter = limiterAt(clock, perSecond, burst);
    const sources = randomInt(random, 1, 6);
    const admitted: number[][] = Array.from({ length: sources }, () => []);
    // Source 0 is polite: it sends once per 1/perSecond, never faster.
    let politeNext = 0;
    let politeDropped = 0;
    for (let step = 0; step < 400; step++) {
      clock.ms += random() < 0.3 ? random() * (2000 / perSecond) : 0;
      const s = randomInt(random, 0, sources - 1);
      if (s === 0 && clock.ms < politeNext) continue;
      const bucket = limiter.bucketOf(`10.0.0.${s}`, () => `10.0.0.${s}`);
      if (limiter.take(bucket)) admitted[s]!.push(clock.ms);
      else if (s === 0) politeDropped++;
      if (s === 0) politeNext = clock.ms + 1000 / perSecond;
      // The bucket's promise, for every window ending now.
      const times = admitted[s]!;
      for (let i = 0; i < times.length; i++) {
        const count = times.length - i;
        const allowed = burst + ((clock.ms - times[i]!) * perSecond) / 1000;
        assert.ok(
          count <= allowed + 1e-9,
          `seed ${seed}: ${count} admitted from source ${s} in ${clock.ms - times[i]!} ms, rate ${perSecond}/s burst ${burst}`,
        );
      }
    }
    assert.equal(politeDropped, 0, `seed ${seed}: a source within the rate lost messages`);
  }
});

test('rate limit: the table stays within its bound under many sources; quiet ones go first, then the oldest', () => {
  const clock = { ms: 0 };
  const limiter = limiterAt(clock, 10, 10, 64);
  const loud = limiter.bucketOf('loud', () => 'loud');
  for (let i = 0; i < 20; i++) limiter.take(loud);
  for (let i = 0; i < 10_000; i++) {
    clock.ms += 1;
    limiter.bucketOf(i, () => `s${i}`);
    assert.ok(limiter.size <= 64, `${limiter.size} sources held`);
  }
  // A forgotten source comes back with a full burst.
  const back = limiter.bucketOf(0, () => 's0');
  let taken = 0;
  while (limiter.take(back)) taken++;
  assert.equal(taken, 10);
});

test('rate limit: a source that dropped is kept over quiet ones while there is room to free', () => {
  const clock = { ms: 0 };
  const limiter = limiterAt(clock, 1, 1, 16);
  const loud = limiter.bucketOf('loud', () => 'loud');
  limiter.take(loud);
  assert.equal(limiter.take(loud), false);
  // Quiet sources, each full again by the time the table fills: they are forgotten, loud is not.
  for (let i = 0; i < 15; i++) limiter.bucketOf(i, () => `q${i}`);
  clock.ms += 5_000;
  limiter.bucketOf('new', () => 'new');
  assert.equal(
    limiter.bucketOf('loud', () => 'fresh'),
    loud,
  );
});

test('rate limit: top offenders, most dropped first, and counts restart', () => {
  const clock = { ms: 0 };
  const limiter = limiterAt(clock, 1, 1);
  const buckets = new Map<string, SourceBucket>();
  for (const [source, sends] of [
    ['a', 5],
    ['b', 9],
    ['c', 2],
    ['d', 1],
  ] as const) {
    const b = limiter.bucketOf(source, () => source);
    buckets.set(source, b);
    for (let i = 0; i < sends; i++) limiter.take(b);
  }
  assert.deepEqual(limiter.takeTopOffenders(3), [
    { source: 'b', dropped: 8 },
    { source: 'a', dropped: 4 },
    { source: 'c', dropped: 1 },
  ]);
  assert.deepEqual(limiter.takeTopOffenders(3), []);
});

test('rate limit: a reload changes the rate in place and clips buckets to the new burst', () => {
  const clock = { ms: 0 };
  const limiter = limiterAt(clock, 100, 100);
  const b = limiter.bucketOf('a', () => 'a');
  limiter.set({ perSecond: 1, burst: 3 });
  let taken = 0;
  while (limiter.take(b)) taken++;
  assert.equal(taken, 3);
  clock.ms += 1000;
  assert.equal(limiter.take(b), true);
  assert.equal(limiter.take(b), false);
});

test('rate limit: an IPv4 source has one key from bytes, text and IPv4-mapped text; others are their text', () => {
  const bytes = Uint8Array.from([0, 192, 168, 1, 200]);
  assert.equal(ipv4Key(bytes, 1), addressKey('192.168.1.200'));
  assert.equal(addressKey('::ffff:192.168.1.200'), addressKey('192.168.1.200'));
  assert.equal(addressKey('255.255.255.255'), 0xffffffff);
  assert.equal(addressKey('::1'), '::1');
  assert.equal(addressKey('1.2.3'), '1.2.3');
});
