/**
 * The other thread of the used-bytes test: moves TAIL forward and releases right behind it, as
 * ingest publishing followed at once by egress releasing everything it just got: Atomics.store
 * of TAIL first, then RELEASED + 0 = that TAIL. So the bytes some destination needs are never
 * more than one step, and never more than the ring's capacity.
 *
 * Runs `steps` steps or `maxMs` milliseconds, whichever comes first. flags[0] = 1 once it runs,
 * flags[1] = 1 once it has stopped (the main thread spins and cannot take messages meanwhile);
 * then it posts { steps } (steps made).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RELEASED, TAIL, advance, viewRing, type RingBuffers } from '../../src/ring/layout.js';

const { buffers, steps, maxMs, maxStep, flags } = workerData as {
  buffers: RingBuffers;
  steps: number;
  maxMs: number;
  /** Bytes per step are 1..maxStep (at most the capacity: ingest cannot publish more). */
  maxStep: number;
  flags: SharedArrayBuffer;
};
const v = viewRing(buffers);
const state = new Int32Array(flags);
const deadline = Date.now() + maxMs;
let tail = Atomics.load(v.control, TAIL) >>> 0;
let done = 0;
Atomics.store(state, 0, 1);
while (done < steps) {
  // Varying steps (a cheap deterministic sequence) so the tail lands everywhere, across the u32 wrap.
  tail = advance(tail, 1 + ((done * 7919) % maxStep));
  Atomics.store(v.control, TAIL, tail | 0);
  Atomics.store(v.control, RELEASED + 0, tail | 0);
  done++;
  if ((done & 0xfff) === 0 && Date.now() > deadline) break;
}
Atomics.store(state, 1, 1);
parentPort!.postMessage({ steps: done });
