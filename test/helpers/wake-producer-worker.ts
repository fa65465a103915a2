/**
 * The producer of the wake test (test/unit/ring-wake.test.ts), as ingest produces: for each of
 * `items` items, it publishes without appending (what ingest does after a batch it refused
 * whole: denied, rate-limited or ring-full datagrams) until the consumer has acknowledged the
 * item before, then appends the item and publishes it. Posts { ok, detail } when done.
 * With `gathersSeed`, before each item it also says at random whether it gathers (--max-delay,
 * INGEST_GATHERS), as a reload that adds or removes a stream listener changes it under traffic.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { viewRing, type RingBuffers } from '../../src/ring/layout.js';
import { RingWriter } from '../../src/ring/ring.js';
import { mulberry32 } from '../../src/prng.js';

const { buffers, items, ack, maxMs, gathersSeed } = workerData as {
  buffers: RingBuffers;
  items: number;
  ack: SharedArrayBuffer;
  maxMs: number;
  gathersSeed?: number;
};
const random = gathersSeed === undefined ? undefined : mulberry32(gathersSeed);
const writer = new RingWriter(viewRing(buffers));
const acked = new Int32Array(ack);
const deadline = Date.now() + maxMs;
const payload = Buffer.from('x');

function produce(): { ok: boolean; detail: string } {
  for (let i = 0; i < items; i++) {
    let spins = 0;
    while (Atomics.load(acked, 0) < i) {
      writer.publish(); // nothing new: the TAIL stored is the one already published
      if ((++spins & 0x3ff) === 0 && Date.now() > deadline) return { ok: false, detail: `the consumer did not acknowledge item ${i - 1}` };
    }
    if (random !== undefined) writer.setGathers(random() < 0.5);
    if (!writer.append(payload)) return { ok: false, detail: `no room for item ${i}` };
    writer.publish();
  }
  return { ok: true, detail: 'produced' };
}

parentPort!.postMessage(produce());
