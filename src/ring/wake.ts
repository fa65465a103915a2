/**
 * The wake protocol between the ring's producer (ingest) and its consumer (egress), both halves in
 * one place. A consumer announces it is going to sleep (EGRESS_SLEEPING = 1), then waits for TAIL
 * to differ from the tail it last served; the producer stores TAIL first and then checks the
 * flag. With sequentially consistent atomics one of the two always sees the other's store: either
 * the producer sees the flag and notifies, or the wait sees the new TAIL and returns at once. So no
 * publish is missed, and the producer pays for a notify (~25 µs wake) only when the consumer
 * parked: at most one wake per batch. A pending Atomics.waitAsync does not keep a worker's event
 * loop alive.
 */
import { EGRESS_SLEEPING, TAIL, type RingViews } from './layout.js';

/** Producer half: publishes `tail` (the items below it are written) and wakes a consumer that parked. */
export function publishTail(v: RingViews, tail: number): void {
  const c = v.control;
  // Publish: a reader that loads this TAIL sees all item bytes written before.
  Atomics.store(c, TAIL, tail | 0);
  // Only a consumer that announced it is parked gets a notify; the exchange makes sure only one
  // publisher pays for it.
  if (Atomics.load(c, EGRESS_SLEEPING) === 1 && Atomics.exchange(c, EGRESS_SLEEPING, 0) === 1) {
    Atomics.notify(c, TAIL);
  }
}

/**
 * Consumer half: announces the consumer is going to sleep, then waits for TAIL to differ from
 * `lastTail`. Returns undefined when it already differs (serve it now), else a promise that
 * resolves once it has.
 */
export function waitForTail(v: RingViews, lastTail: number): Promise<void> | undefined {
  const c = v.control;
  // Announce: from here on, a publishing producer must notify us.
  Atomics.store(c, EGRESS_SLEEPING, 1);
  const wait = Atomics.waitAsync(c, TAIL, lastTail | 0);
  if (!wait.async) {
    Atomics.store(c, EGRESS_SLEEPING, 0);
    return undefined;
  }
  return wait.value.then(() => {
    Atomics.store(c, EGRESS_SLEEPING, 0);
  });
}
