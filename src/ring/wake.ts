/**
 * The wake protocol between the ring's producer (ingest) and its consumer (egress), both halves in
 * one place. A consumer announces it is going to sleep (EGRESS_SLEEPING = 1), then looks at TAIL
 * once more and, if it is still the tail it last served, waits for the flag to be cleared. The
 * producer stores TAIL first and then clears the flag, notifying when it was set. With
 * sequentially consistent atomics one of the two always sees the other's store: either the
 * consumer sees the new TAIL and serves it, or the producer sees the flag, clears it and
 * notifies; and a wait that starts after the flag was cleared returns at once, since it waits
 * only while the flag is 1. So no publish is missed, and the producer pays for a notify (~25 µs
 * wake) only when the consumer parked: at most one wake per batch.
 *
 * The wait is on the flag, not on TAIL: a publish may leave TAIL as it was (a batch refused
 * whole, denied or rate-limited, or an append refused for want of space, which egress must hear
 * about). Waiting on TAIL, such a publish could clear the flag between the consumer's announcing
 * and its wait; the wait then started (TAIL unchanged), the next publish saw nobody asleep, and
 * the consumer slept on with items in the ring (test/unit/ring-wake.test.ts catches it).
 * A pending Atomics.waitAsync does not keep a worker's event loop alive.
 *
 * With --max-delay, egress after a small batch does not announce at all: it sleeps on a timer for
 * the budget and then serves whatever was published meanwhile. Producers see the flag at 0 and
 * pay no notify; nothing can be missed, since the timer pump loads TAIL itself, and the next
 * park (after a large batch, or an empty one) goes through the protocol above.
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
    Atomics.notify(c, EGRESS_SLEEPING);
  }
}

/**
 * Consumer half: announces the consumer is going to sleep, then returns undefined when TAIL
 * already differs from `lastTail` (serve it now), else a promise that resolves once a producer
 * published (cleared the flag).
 */
export function waitForTail(v: RingViews, lastTail: number): Promise<void> | undefined {
  const c = v.control;
  // Announce: from here on, a publishing producer must clear the flag and notify us.
  Atomics.store(c, EGRESS_SLEEPING, 1);
  if (Atomics.load(c, TAIL) !== (lastTail | 0)) {
    Atomics.store(c, EGRESS_SLEEPING, 0);
    return undefined;
  }
  // Returns at once ('not-equal') if a producer cleared the flag since we set it.
  const wait = Atomics.waitAsync(c, EGRESS_SLEEPING, 1);
  if (!wait.async) {
    Atomics.store(c, EGRESS_SLEEPING, 0);
    return undefined;
  }
  return wait.value.then(() => {
    Atomics.store(c, EGRESS_SLEEPING, 0);
  });
}
