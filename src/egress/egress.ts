/**
 * The egress loop: wakes when ingest publishes a new tail, lets every destination write what it
 * can, and parks again. No busy polling: while idle the thread sits in Atomics.waitAsync on TAIL.
 *
 * Wake protocol (with RingWriter.publish): before parking, egress stores EGRESS_SLEEPING = 1 and
 * then waits for TAIL to differ from the tail it last served. Ingest stores TAIL first and then
 * checks EGRESS_SLEEPING. With sequentially consistent atomics one of the two always sees the
 * other's store: either ingest sees the flag and notifies, or waitAsync sees the new TAIL and
 * returns at once. So no publish is missed, and ingest pays for a notify only when egress parked.
 */
import { EGRESS_SLEEPING, TAIL, type RingViews } from '../ring/layout.js';
import { RingReader } from '../ring/ring.js';
import { destinationBase } from '../metrics/counters.js';
import type { RateLimitedLog } from '../logging.js';
import { Destination, type DestinationOptions } from './destination.js';

/** What is left undelivered per destination after a drain. */
export interface DrainReport {
  undeliveredMessages: number[];
}

/** Runs every destination off the shared ring. One instance, in the egress thread. */
export class Egress {
  private readonly reader: RingReader;
  private readonly destinations: Destination[];
  private parked = false;
  private stopped = false;
  private lastTail = 0;

  constructor(
    views: RingViews,
    destinations: DestinationOptions[],
    counters: Float64Array,
    listenerCount: number,
    log: RateLimitedLog,
  ) {
    this.reader = new RingReader(views);
    this.destinations = destinations.map(
      (options) =>
        new Destination(options, this.reader, counters, destinationBase(listenerCount, options.index), log, (d) =>
          d.service(this.reader.loadTail()),
        ),
    );
  }

  /** Connects every destination and starts serving the ring. */
  start(): void {
    const tail = this.reader.loadTail();
    for (const d of this.destinations) d.start(tail);
    this.pump();
  }

  /**
   * Called once ingest has stopped: keeps serving until every connected destination has handed
   * the whole ring to the kernel or `timeoutMs` passes, then closes the connections.
   */
  async drain(timeoutMs: number): Promise<DrainReport> {
    const deadline = Date.now() + timeoutMs;
    const done = (): boolean => {
      const tail = this.reader.loadTail();
      return this.destinations.every((d) => !d.isUp || d.caughtUp(tail));
    };
    this.pump();
    while (!done() && Date.now() < deadline) {
      // Shutdown only: a short poll keeps this simple and costs nothing in normal running.
      await new Promise((resolve) => setTimeout(resolve, 5));
      this.pump();
    }
    this.stopped = true;
    const tail = this.reader.loadTail();
    const undeliveredMessages = this.destinations.map((d) => {
      const caughtUp = d.caughtUp(tail);
      this.reader.dropUntil(d.released, tail, 0);
      if (caughtUp) d.close();
      else d.destroy();
      return this.reader.droppedItems;
    });
    return { undeliveredMessages };
  }

  /** Serves every destination up to the current tail, then parks until the tail moves. */
  private pump(): void {
    if (this.stopped) return;
    this.lastTail = this.reader.loadTail();
    for (const d of this.destinations) d.service(this.lastTail);
    this.park();
  }

  private park(): void {
    if (this.parked || this.stopped) return;
    const c = this.reader.v.control;
    // Announce: from here on, a publishing ingest must notify us.
    Atomics.store(c, EGRESS_SLEEPING, 1);
    const wait = Atomics.waitAsync(c, TAIL, this.lastTail | 0);
    if (!wait.async) {
      // The tail moved between our pump and the wait: serve it, but let socket events run first.
      Atomics.store(c, EGRESS_SLEEPING, 0);
      setImmediate(() => this.pump());
      return;
    }
    this.parked = true;
    void wait.value.then(() => {
      this.parked = false;
      Atomics.store(c, EGRESS_SLEEPING, 0);
      this.pump();
    });
  }
}
