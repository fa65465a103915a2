/**
 * What one wake of an idle Node worker costs here, the fixed cost the relay pays per burst in each
 * of its two threads (bench/RESULTS.md, "Where the CPU goes"). A pacing worker bumps a counter and
 * Atomics.notify()s RATE times a second (it sleeps in a blocking Atomics.wait between, as a C
 * thread would); the woken worker waits in Atomics.waitAsync, as egress does, and does nothing
 * else. Per-thread CPU from /proc/PID/task/TID/stat over SECONDS.
 *
 *   node bench/wake-cost.mjs [RATE=2000] [SECONDS=5]
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

const rate = Number(process.argv[2] ?? 2000);
const seconds = Number(process.argv[3] ?? 5);
const shared = new Int32Array(new SharedArrayBuffer(16));
const TICKS_PER_SECOND = 100; // USER_HZ: /proc stat fields 14-15 count these

const tid = `const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());`;
const woken = new Worker(
  `${tid}
  const { workerData: shared, parentPort } = require('node:worker_threads');
  parentPort.postMessage(tid);
  let seen = 0;
  const park = () => {
    const wait = Atomics.waitAsync(shared, 0, seen);
    if (!wait.async) { seen = Atomics.load(shared, 0); return park(); }
    wait.value.then(() => { seen = Atomics.load(shared, 0); Atomics.add(shared, 1, 1); park(); });
  };
  park();
  setInterval(() => {}, 1e9); // a pending waitAsync does not keep a worker alive`,
  { eval: true, workerData: shared },
);
const pacer = new Worker(
  `${tid}
  const { workerData, parentPort } = require('node:worker_threads');
  const { shared, rate, seconds } = workerData;
  parentPort.postMessage(tid);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const start = performance.now();
  for (let i = 1; performance.now() - start < (seconds + 1) * 1000; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) Atomics.wait(nap, 0, 0, wait);
    Atomics.add(shared, 0, 1);
    Atomics.notify(shared, 0);
  }`,
  { eval: true, workerData: { shared, rate, seconds } },
);
const tids = await Promise.all([woken, pacer].map((w) => new Promise((resolve) => w.once('message', resolve))));
const cpuTicks = (t) => {
  const fields = readFileSync(`/proc/${process.pid}/task/${t}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
};
await new Promise((resolve) => setTimeout(resolve, 500));
const before = tids.map(cpuTicks);
const wakesBefore = Atomics.load(shared, 1);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
const after = tids.map(cpuTicks);
const wakes = Atomics.load(shared, 1) - wakesBefore;
const us = (i) => (((after[i] - before[i]) / TICKS_PER_SECOND) * 1e6) / wakes;
console.log(
  `${wakes} wakes in ${seconds} s: woken worker ${us(0).toFixed(1)} µs CPU per wake, notifying worker ${us(1).toFixed(1)} µs per notify (its own timed sleep included)`,
);
await Promise.all([woken.terminate(), pacer.terminate()]);
