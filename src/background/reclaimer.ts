/**
 * The background thread's loop: publish HEAD (the lowest position any destination still needs),
 * then sleep until ingest says space is getting short, the interval passes, or STOP is set.
 *
 * Wake protocol (with RingWriter.wakeBackground): the loop loads BG_WAKE, stores BG_SLEEPING = 1,
 * then Atomics.wait()s for BG_WAKE to differ from what it loaded. A waker that exchanges
 * BG_SLEEPING 1 -> 0 bumps BG_WAKE and notifies: if that happens before the wait starts, the
 * value differs and the wait returns at once; after, the notify ends it. Blocking is fine here:
 * this thread has no sockets to serve.
 */
import { BACKGROUND_BEAT, BG_SLEEPING, BG_WAKE, STOP, type RingViews } from '../ring/layout.js';
import { computeHead, publishHead } from '../ring/positions.js';

/** Reclaims until STOP is set. `intervalMs` bounds how stale HEAD gets while nobody asks. */
export function runReclaimer(v: RingViews, intervalMs: number): void {
  const c = v.control;
  while (Atomics.load(c, STOP) === 0) {
    // The heartbeat systemd's watchdog reads (src/service/heartbeat.ts): this loop went round.
    Atomics.add(c, BACKGROUND_BEAT, 1);
    publishHead(v, computeHead(v));
    const seen = Atomics.load(c, BG_WAKE);
    // Announce: from here on a waker must bump BG_WAKE and notify.
    Atomics.store(c, BG_SLEEPING, 1);
    Atomics.wait(c, BG_WAKE, seen, intervalMs);
    Atomics.store(c, BG_SLEEPING, 0);
  }
}

/** Asks the background thread to leave its loop (main thread). */
export function stopReclaimer(v: RingViews): void {
  Atomics.store(v.control, STOP, 1);
  Atomics.add(v.control, BG_WAKE, 1);
  Atomics.notify(v.control, BG_WAKE);
}
