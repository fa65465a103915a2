/**
 * systemd's watchdog (src/service/watchdog.ts): which WATCHDOG_USEC/WATCHDOG_PID apply, the gate
 * that sends WATCHDOG=1 only while every thread's heartbeat moves (on a fake clock), the pinger on
 * mock timers, and the heartbeats the threads bump (src/service/heartbeat.ts; the native background
 * loop and its JavaScript twin). The gate end to end: test/e2e/systemd-notify.test.ts.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { allowancesMs, ProgressGate, Watchdog, watchdogTiming, type WatchdogTiming } from '../../src/service/watchdog.js';
import { BEATING_THREADS, readBeats } from '../../src/service/heartbeat.js';
import { allocateRing, BACKGROUND_BEAT, INGEST_BEAT, viewRing } from '../../src/ring/layout.js';
import { controlIndices, loadReclaimerAddon } from '../../src/background/background.js';
import { stopReclaimer } from '../../src/background/reclaimer.js';
import type { LogLevel } from '../../src/logging.js';

const PID = 4242;

test('watchdogTiming: pings at half of WATCHDOG_USEC, worker beats four times per ping (10 ms to 1 s); none for another pid or a bad value', () => {
  assert.deepEqual(watchdogTiming({ WATCHDOG_USEC: '30000000' }, PID), { timeoutMs: 30_000, pingMs: 15_000, heartbeatMs: 1000 });
  assert.deepEqual(watchdogTiming({ WATCHDOG_USEC: '1000000', WATCHDOG_PID: String(PID) }, PID), { timeoutMs: 1000, pingMs: 500, heartbeatMs: 125 });
  assert.deepEqual(watchdogTiming({ WATCHDOG_USEC: '20000' }, PID), { timeoutMs: 20, pingMs: 10, heartbeatMs: 10 });
  for (const env of [{}, { WATCHDOG_USEC: '0' }, { WATCHDOG_USEC: '-5' }, { WATCHDOG_USEC: '1e6' }, { WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }]) {
    assert.equal(watchdogTiming(env, PID), undefined, JSON.stringify(env));
  }
});

test('allowancesMs: worker threads one ping interval (at least three beats), the background three of its rounds', () => {
  const timing = watchdogTiming({ WATCHDOG_USEC: '1000000' }, PID)!;
  assert.deepEqual(allowancesMs(timing, 1000), { ingest: 500, egress: 500, background: 3000 });
  const slow = watchdogTiming({ WATCHDOG_USEC: '60000000' }, PID)!;
  assert.deepEqual(allowancesMs(slow, 1000), { ingest: 30_000, egress: 30_000, background: 30_000 });
});

/** Counts per thread in BEATING_THREADS order. */
const beats = (ingest: number, egress: number, background: number): number[] => [ingest, egress, background];

test('ProgressGate: every thread moving passes; one silent past its allowance is named with since when; it passes again once it moves', () => {
  assert.deepEqual(
    BEATING_THREADS.map((t) => t.name),
    ['ingest', 'egress', 'background'],
  );
  const gate = new ProgressGate({ ingest: 500, egress: 500, background: 3000 }, 0, beats(0, 0, 0));
  assert.deepEqual(gate.check(500, beats(4, 4, 1)), []);
  assert.deepEqual(gate.check(1000, beats(8, 8, 1)), [], 'the background beats once a second: 500 ms silent is within 3 s');
  // Egress stops at 1000 ms: still within its allowance at 1500, past it at 1501.
  assert.deepEqual(gate.check(1500, beats(12, 8, 2)), []);
  assert.deepEqual(gate.check(1501, beats(12, 8, 2)), [{ thread: 'egress', sinceMs: 1000 }]);
  assert.deepEqual(gate.check(2000, beats(16, 8, 2)), [{ thread: 'egress', sinceMs: 1000 }]);
  assert.deepEqual(gate.check(2500, beats(20, 9, 3)), [], 'egress moved again');
  // The background's allowance is its own: silent from 2500 (its last move) to 5500 passes, 5501 does not.
  assert.deepEqual(gate.check(5500, beats(40, 30, 3)), []);
  assert.deepEqual(gate.check(5501, beats(41, 31, 3)), [{ thread: 'background', sinceMs: 2500 }]);
});

test('ProgressGate: a thread that never beat after the start is stalled once its allowance passed; a counter that wraps still moves', () => {
  const gate = new ProgressGate({ ingest: 500, egress: 500, background: 3000 }, 100, beats(7, 7, 7));
  assert.deepEqual(gate.check(600, beats(7, 8, 8)), [], 'ingest silent for exactly its allowance');
  assert.deepEqual(gate.check(601, beats(7, 9, 9)), [{ thread: 'ingest', sinceMs: 100 }]);
  const wrap = new ProgressGate({ ingest: 10, egress: 10, background: 10 }, 0, beats(2 ** 31 - 1, 0, 0));
  assert.deepEqual(wrap.check(20, beats(-(2 ** 31), 1, 1)), []);
});

test('Watchdog: pings every pingMs while the gate passes, none while a thread is stalled (said once), again after; stop() ends it', () => {
  mock.timers.enable({ apis: ['setInterval', 'Date'] });
  try {
    const timing: WatchdogTiming = { timeoutMs: 1000, pingMs: 500, heartbeatMs: 125 };
    let now = 0;
    let counts = beats(0, 0, 0);
    const gate = new ProgressGate(allowancesMs(timing, 1000), now, counts);
    const lines: [LogLevel, string][] = [];
    let pings = 0;
    const watchdog = new Watchdog(
      timing,
      gate,
      () => counts,
      () => pings++,
      (level, message) => lines.push([level, message]),
      () => now,
    );
    watchdog.start();
    const step = (next: number[]): void => {
      counts = next;
      now += 500;
      mock.timers.tick(500);
    };
    step(beats(4, 4, 1));
    step(beats(8, 8, 1));
    assert.equal(pings, 2);
    step(beats(12, 8, 2)); // egress silent for 500 ms: still within
    assert.equal(pings, 3);
    step(beats(16, 8, 2));
    step(beats(20, 8, 3));
    assert.equal(pings, 3, 'no WATCHDOG=1 while egress is silent');
    assert.equal(lines.length, 1, 'the stall is said once');
    assert.equal(lines[0]![0], 'error');
    assert.match(
      lines[0]![1],
      /^watchdog: no progress from the egress \(silent for 1000 ms\) thread\(s\): not sending WATCHDOG=1, systemd restarts the relay after 1000 ms/,
    );
    step(beats(24, 9, 3));
    assert.equal(pings, 4);
    assert.deepEqual(lines[1], ['info', 'watchdog: every thread makes progress again; pinging systemd again']);
    watchdog.stop();
    step(beats(28, 10, 4));
    assert.equal(pings, 4, 'stopped');
  } finally {
    mock.timers.reset();
  }
});

test('heartbeat: a worker thread bumps its word from its event loop every period; readBeats reads each thread word', async () => {
  const ring = allocateRing(64 * 1024, 2);
  const control = new Int32Array(ring.control);
  // A worker running only a heartbeat, as ingest-thread.ts starts it.
  const url = new URL('../../src/service/heartbeat.js', import.meta.url).href;
  const worker = new Worker(
    `import { workerData, parentPort } from 'node:worker_threads';
     const { startHeartbeat } = await import(workerData.url);
     startHeartbeat(new Int32Array(workerData.control), workerData.index, 5);
     parentPort.on('message', () => {});`,
    { eval: true, workerData: { url, control: ring.control, index: INGEST_BEAT } },
  );
  try {
    const deadline = Date.now() + 5000;
    while (Atomics.load(control, INGEST_BEAT) < 3) {
      assert.ok(Date.now() < deadline, 'the worker beat three times within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(readBeats(control)[0], Atomics.load(control, INGEST_BEAT));
    assert.equal(readBeats(control)[1], 0, 'egress never beat');
  } finally {
    await worker.terminate();
  }
});

/** Waits until the background beat passed `count`; at most 5 s. */
async function backgroundBeats(control: Int32Array, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Atomics.load(control, BACKGROUND_BEAT) < count) {
    assert.ok(Date.now() < deadline, `the background loop beat ${count} times within 5 s (${Atomics.load(control, BACKGROUND_BEAT)})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test('heartbeat: the native background loop bumps BACKGROUND_BEAT once per round', async (t) => {
  const addon = loadReclaimerAddon();
  if (addon === undefined) return t.skip('the native addon is not available');
  const v = viewRing(allocateRing(64 * 1024, 2));
  const handle = addon.reclaimerStart(v.control, controlIndices(v), 5);
  try {
    await backgroundBeats(v.control, 3);
  } finally {
    stopReclaimer(v);
    addon.reclaimerJoin(handle);
  }
  const { BEAT: _, ...withoutBeat } = controlIndices(v);
  const before = Atomics.load(v.control, BACKGROUND_BEAT);
  assert.equal(addon.reclaimerComputeHead(v.control, withoutBeat), 0, 'indices without BEAT still work');
  assert.equal(Atomics.load(v.control, BACKGROUND_BEAT), before);
});

test('heartbeat: the JavaScript background loop (no addon) bumps BACKGROUND_BEAT once per round', async () => {
  const ring = allocateRing(64 * 1024, 2);
  const v = viewRing(ring);
  const worker = new Worker(new URL('../../src/background/background-thread.js', import.meta.url), { workerData: { ring, reclaimIntervalMs: 5 } });
  try {
    await backgroundBeats(v.control, 3);
  } finally {
    stopReclaimer(v);
    await once(worker, 'exit');
  }
});
