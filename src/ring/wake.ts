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
 * With --max-delay one thread gathers work for the budget after a small batch, and the other
 * wakes once per gathered batch; which one is ingest's choice, published in INGEST_GATHERS:
 * - Ingest gathers (INGEST_GATHERS = 1) when every listener is a native datagram socket: it stops
 *   watching its sockets for the budget (datagrams queue in the kernel), then reads them all in
 *   one batch and publishes it. Egress parks through the protocol above, so it wakes once per
 *   batch, at most one budget after the first datagram of it arrived.
 * - Otherwise (a stream or node:dgram listener, which cannot be held cheaply) egress gathers:
 *   after a small batch it does not announce at all but sleeps on a timer for the budget and then
 *   serves whatever was published meanwhile. Producers see the flag at 0 and pay no notify.
 * Both are safe whatever the flag says when egress reads it (a reload changes it): a timer pump
 * loads TAIL itself, and an announced park is the protocol above. The flag picks the cheaper one.
 */
import { EGRESS_SLEEPING, INGEST_GATHERS, TAIL, type RingViews } from './layout.js';

/** Ingest says whether it gathers for the budget (true) or egress must (false). */
export function setIngestGathers(v: RingViews, gathers: boolean): void {
  Atomics.store(v.control, INGEST_GATHERS, gathers ? 1 : 0);
}

/** Whether ingest gathers, so that egress may park on the ring after a small batch. */
export function ingestGathers(v: RingViews): boolean {
  return Atomics.load(v.control, INGEST_GATHERS) === 1;
}

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
