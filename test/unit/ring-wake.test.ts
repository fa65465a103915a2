/**
 * The wake protocol of src/ring/wake.ts with real threads: a producer that publishes without
 * appending between items (as ingest does after a batch it refused whole) and a consumer that
 * parks on every item the way egress parks. Every item must wake the consumer; one that does
 * not within a second is a lost wake. (Before the consumer waited on its own flag, a publish that
 * left TAIL as it was could clear the flag between the consumer's announcing and its wait: the
 * next real publish then saw nobody asleep, and the consumer slept on with items in the ring.)
 * The second test adds --max-delay's choice: the producer says at random before each item whether
 * it gathers (INGEST_GATHERS), and the consumer, as egress does, parks on the ring when it does and
 * sleeps on a timer without announcing when it does not; a switch between the two must lose nothing.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { MIN_CAPACITY, allocateRing, viewRing } from '../../src/ring/layout.js';
import { RingReader } from '../../src/ring/ring-reader.js';

const ITEMS = 20_000;

test(`ring wake: ${ITEMS} items, each after a run of publishes that append nothing, each wakes the parked consumer`, async (t) => {
  t.diagnostic(`${await consume(ITEMS)} parks`);
});

/** Fewer: each timer sleep takes about a millisecond. */
const SWITCHING_ITEMS = 3000;

for (const seed of [1, 2]) {
  test(`ring wake, seed ${seed}, ${SWITCHING_ITEMS} items: the producer switches at random between gathering and not; the consumer parks or sleeps on a timer accordingly, and misses no item`, async (t) => {
    t.diagnostic(`${await consume(SWITCHING_ITEMS, seed)} parks`);
  });
}

/** Runs the producer worker and consumes `items` items as egress does; returns how often it parked on the ring. */
async function consume(items: number, gathersSeed?: number): Promise<number> {
  const buffers = allocateRing(MIN_CAPACITY, 1);
  const reader = new RingReader(viewRing(buffers));
  const ack = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const acked = new Int32Array(ack);
  const producer = new Worker(new URL('../helpers/wake-producer-worker.js', import.meta.url), {
    workerData: { buffers, items, ack, maxMs: 60_000, gathersSeed },
  });
  let ended: { ok: boolean; detail: string } | undefined;
  const done = once(producer, 'message').then(([m]) => (ended = m as { ok: boolean; detail: string }));
  producer.on('error', (error) => (ended = { ok: false, detail: `producer: ${error.message}` }));
  let lastTail = reader.loadTail();
  let parks = 0;
  try {
    for (let consumed = 0; consumed < items; ) {
      const tail = reader.loadTail();
      if (tail !== lastTail) {
        lastTail = tail;
        reader.release(0, tail);
        consumed++;
        Atomics.store(acked, 0, consumed);
        continue;
      }
      if (gathersSeed !== undefined && !reader.ingestGathers()) {
        // Egress's timer sleep: no announcement, so no producer notifies; the next look finds the item.
        await new Promise((resolve) => setTimeout(resolve, 0));
        continue;
      }
      const woken = reader.waitForTail(lastTail);
      if (!woken) continue;
      parks++;
      let timer: NodeJS.Timeout | undefined;
      const lost = await Promise.race([woken.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), 1000)))]);
      clearTimeout(timer);
      if (lost && reader.loadTail() !== lastTail) assert.fail(`lost wake: item ${consumed} was published and the parked consumer slept on (park ${parks})`);
      if (ended && !ended.ok) assert.fail(ended.detail);
    }
    const result = await done;
    assert.ok(result.ok, result.detail);
    return parks;
  } finally {
    await producer.terminate();
  }
}
