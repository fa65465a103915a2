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
import { DestinationCounters, destinationBase } from '../metrics/counters.js';
import type { RateLimitedLog } from '../logging.js';
import { SpillStore } from '../spill/segment-store.js';
import { spillDirectoryFor } from '../spill/spill-options.js';
import type { DestinationOptions, DrainReport, SpillOptions } from '../thread-protocol.js';
import { Destination, type DestinationEnvironment } from './destination.js';

/** Runs every destination off the shared ring. One instance, in the egress thread. */
export class Egress {
  private readonly reader: RingReader;
  private readonly destinations: Destination[];
  private parked = false;
  private stopped = false;
  private lastTail = 0;

  constructor(
    views: RingViews,
    private readonly destinationOptions: DestinationOptions[],
    private readonly counters: Float64Array,
    private readonly listenerCount: number,
    private readonly log: RateLimitedLog,
    private readonly spill: SpillOptions | undefined,
    env?: DestinationEnvironment,
  ) {
    this.reader = new RingReader(views);
    this.destinations = destinationOptions.map(
      (options) => new Destination(options, this.reader, this.countersOf(options), log, (d) => d.service(this.reader.loadTail()), env),
    );
  }

  private countersOf(options: DestinationOptions): DestinationCounters {
    return new DestinationCounters(this.counters, destinationBase(this.listenerCount, options.index));
  }

  /** Opens the spill directories (if any), connects every destination and starts serving the ring. */
  async start(): Promise<void> {
    const stores = await Promise.all(this.destinationOptions.map((o) => this.openSpill(o)));
    const tail = this.reader.loadTail();
    for (const [i, d] of this.destinations.entries()) d.start(tail, stores[i]);
    this.pump();
  }

  /** A destination's spill store; undefined without --spill-dir or when its directory fails (logged). */
  private async openSpill(options: DestinationOptions): Promise<SpillStore | undefined> {
    if (!this.spill) return undefined;
    const spill = this.spill;
    const counters = this.countersOf(options);
    const dir = spillDirectoryFor(spill.dir, options);
    try {
      return await SpillStore.open(dir, {
        maxBytes: spill.maxBytes,
        segmentBytes: spill.segmentBytes,
        maxRecordBytes: spill.maxRecordBytes,
        onCorrupt: (segment, bytes, why) => {
          counters.spillCorrupt(bytes);
          this.log.log('warn', `spill-corrupt:${options.index}`, `${options.text}: skipped ${bytes} damaged byte(s) of ${segment}: ${why}`);
        },
      });
    } catch (error) {
      this.log.log(
        'error',
        `spill-open:${options.index}`,
        `${options.text}: cannot use spill directory ${dir}: ${(error as Error).message}; lagging data will be dropped`,
      );
      return undefined;
    }
  }

  /**
   * Called once ingest has stopped: keeps serving until every connected destination has handed
   * the whole ring (and its spill backlog) to the kernel or `timeoutMs` passes, then closes the
   * connections; what is left goes to the spill directory when there is one.
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
    const undeliveredMessages = await Promise.all(this.destinations.map((d) => d.finish(tail)));
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
