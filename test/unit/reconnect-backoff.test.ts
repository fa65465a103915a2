import test from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../src/egress/backoff.js';

/** The first `n` delays of a fresh Backoff(100 ms, 30 s) with a fixed random draw. */
function delays(random: number, n: number, backoff = new Backoff(100, 30_000, () => random)): number[] {
  return Array.from({ length: n }, () => backoff.nextDelayMs());
}

test('backoff: doubles from the minimum and stops at the maximum (upper end of the jitter)', () => {
  assert.deepEqual(delays(1, 12), [100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000, 30_000, 30_000]);
});

test('backoff: jitter keeps each delay within [base/2, base]', () => {
  assert.deepEqual(delays(0, 4), [50, 100, 200, 400]);
  for (const random of [0.1, 0.5, 0.9]) {
    const got = delays(random, 12);
    const bases = delays(1, 12);
    for (const [i, d] of got.entries()) assert.ok(d >= bases[i]! / 2 && d <= bases[i]!, `delay ${i}: ${d} vs base ${bases[i]}`);
  }
});

test('backoff: reset() after a healthy connection starts again from the minimum', () => {
  const backoff = new Backoff(100, 30_000, () => 1);
  delays(1, 6, backoff);
  backoff.reset();
  assert.deepEqual(delays(1, 3, backoff), [100, 200, 400]);
});

test('backoff: a huge number of failures neither overflows nor passes the cap', () => {
  const backoff = new Backoff(100, 30_000, () => 1);
  for (let i = 0; i < 10_000; i++) backoff.nextDelayMs();
  assert.equal(backoff.nextDelayMs(), 30_000);
});
