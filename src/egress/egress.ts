/**
 * The egress loop: wakes when ingest publishes a new tail, lets every destination write what it
 * can, and parks again. No busy polling: while idle the thread sits in Atomics.waitAsync on TAIL.
 *
 * Wake protocol (with RingWriter.publish): before parking, egress stores EGRESS_SLEEPING = 1 and
 * then waits for TAIL to differ from the tail it last served. Ingest stores TAIL first and then
 * checks EGRESS_SLEEPING. With sequentially consistent atomics one of the two always sees the
 * other's store: either ingest sees the flag and notifies, or waitAsync sees the new TAIL and
 * returns at once. So no publish is missed, and ingest pays for a notify only when egress parked.
 *
 * Reload (reconfigure): an added destination takes a free ring slot at the current tail and
 * forwards from there; a removed one is retired: it stops at the tail of the moment it was
 * removed, keeps sending what it holds for up to the drain timeout while it is up, then finishes
 * like at shutdown (what is left is spilled or counted) and gives its slot back; a destination
 * with new settings is updated in place (src/egress/destination.ts, update()).
 */
import { EGRESS_SLEEPING, TAIL, type RingViews } from '../ring/layout.js';
import { RingReader } from '../ring/ring.js';
import { freeSlot, takeSlot } from '../ring/positions.js';
import { DestinationCounters, destinationBase } from '../metrics/counters.js';
import type { RateLimitedLog } from '../logging.js';
import { SpillStore } from '../spill/segment-store.js';
import { spillDirectoryFor } from '../spill/spill-options.js';
import type { DestinationChange, DestinationOptions, DrainReport, SpillOptions, Undelivered } from '../thread-protocol.js';
import { Destination, type DestinationEnvironment } from './destination.js';

/** A removed destination still sending what it held: it serves the ring up to `endAt` only. */
interface Retiree {
  destination: Destination;
  endAt: number;
  finished: Promise<number>;
}

/** Runs every destination off the shared ring. One instance, in the egress thread. */
export class Egress {
  private readonly reader: RingReader;
  /** Running destinations by slot. */
  private readonly destinations = new Map<number, Destination>();
  /** Removed destinations still draining, by slot (their slot stays taken until they finish). */
  private readonly retiring = new Map<number, Retiree>();
  private parked = false;
  private stopped = false;
  private lastTail = 0;

  constructor(
    views: RingViews,
    private readonly initial: DestinationOptions[],
    private readonly counters: Float64Array,
    private readonly listenerSlots: number,
    private readonly log: RateLimitedLog,
    private readonly spill: SpillOptions | undefined,
    private readonly env?: DestinationEnvironment,
  ) {
    this.reader = new RingReader(views);
  }

  private countersOf(options: DestinationOptions): DestinationCounters {
    return new DestinationCounters(this.counters, destinationBase(this.listenerSlots, options.index));
  }

  private create(options: DestinationOptions): Destination {
    return new Destination(options, this.reader, this.countersOf(options), this.log, (d) => this.serviceOne(d), this.env);
  }

  /** Serves one destination now (it became writable): a running one up to the tail, a retiring one up to where it stops. */
  private serviceOne(d: Destination): void {
    const retiree = this.retiring.get(d.index);
    d.service(retiree?.destination === d ? retiree.endAt : this.reader.loadTail());
  }

  /**
   * Opens the spill directories (if any), connects every destination and starts serving the
   * ring. Their slots were allocated taken, at position 0 (allocateRing), before any append.
   */
  async start(): Promise<void> {
    const created = this.initial.map((o) => this.create(o));
    const stores = await Promise.all(this.initial.map((o) => this.openSpill(o)));
    const tail = this.reader.loadTail();
    for (const [i, d] of created.entries()) {
      this.destinations.set(d.index, d);
      d.start(tail, stores[i]);
    }
    this.pump();
  }

  /**
   * Applies a reload: retires the removed destinations, updates the changed ones and starts the
   * added ones at the current tail. Resolves once the added ones run; `retired` is called as
   * each removed one finishes (after up to `drainTimeoutMs`), with what it left undelivered.
   */
  async reconfigure(change: DestinationChange, drainTimeoutMs: number, retired: (report: Undelivered) => void): Promise<void> {
    for (const index of change.remove) {
      const destination = this.destinations.get(index);
      if (!destination) continue;
      this.destinations.delete(index);
      this.retire(destination, drainTimeoutMs).then(retired, (error: Error) =>
        this.log.log('error', `retire:${index}`, `retiring a destination failed: ${error.message}`),
      );
    }
    for (const options of change.update) this.destinations.get(options.index)?.update(options);
    // Every added destination holds its slot from the tail of this moment before anything is
    // awaited, so ingest cannot overwrite what it is to send while its spill directory opens.
    const tail = this.reader.loadTail();
    const tailItems = this.itemsAt(tail);
    const added = change.add.map((options) => {
      this.countersOf(options).reset();
      takeSlot(this.reader.v, options.index, tail);
      return this.create(options);
    });
    const stores = await Promise.all(change.add.map((o) => this.openSpill(o)));
    for (const [i, d] of added.entries()) {
      this.destinations.set(d.index, d);
      d.start(tail, stores[i], tailItems);
    }
    this.pump();
  }

  /**
   * How many items the ring has published up to `tail`, counted from a destination whose cursor
   * is known exactly (TAIL_ID is stored apart from TAIL, so it cannot be paired with it exactly).
   * There is always one: a reload keeps at least one destination, and removed ones are still
   * retiring while it runs.
   */
  private itemsAt(tail: number): number {
    const reference = [...this.destinations.values(), ...[...this.retiring.values()].map((r) => r.destination)][0];
    if (!reference) return this.reader.loadTailId();
    return reference.cursorItems + this.reader.countItems(reference.cursor, tail);
  }

  /** Lets a removed destination send what it holds (while up, for at most `timeoutMs`), then finishes it and frees its slot. */
  private retire(destination: Destination, timeoutMs: number): Promise<Undelivered> {
    const endAt = this.reader.loadTail();
    const deadline = Date.now() + timeoutMs;
    const retiree: Retiree = { destination, endAt, finished: Promise.resolve(0) };
    this.retiring.set(destination.index, retiree);
    retiree.finished = (async () => {
      destination.service(endAt);
      while (!this.stopped && destination.isUp && !destination.caughtUp(endAt) && Date.now() < deadline) {
        // Rare and short: a poll keeps this simple (as the shutdown drain does).
        await new Promise((resolve) => setTimeout(resolve, 5));
        destination.service(endAt);
      }
      return destination.finish(endAt);
    })();
    return retiree.finished.then((messages) => {
      this.retiring.delete(destination.index);
      freeSlot(this.reader.v, destination.index);
      return { index: destination.index, messages };
    });
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
   * connections; what is left goes to the spill directory when there is one. Destinations still
   * retiring from a reload finish with the rest.
   */
  async drain(timeoutMs: number): Promise<DrainReport> {
    const deadline = Date.now() + timeoutMs;
    const done = (): boolean => {
      const tail = this.reader.loadTail();
      return [...this.destinations.values()].every((d) => !d.isUp || d.caughtUp(tail));
    };
    this.pump();
    while (!done() && Date.now() < deadline) {
      // Shutdown only: a short poll keeps this simple and costs nothing in normal running.
      await new Promise((resolve) => setTimeout(resolve, 5));
      this.pump();
    }
    this.stopped = true;
    const tail = this.reader.loadTail();
    const running = [...this.destinations.values()];
    const retirees = [...this.retiring.values()];
    const undelivered = await Promise.all([
      ...running.map(async (d) => ({ index: d.index, messages: await d.finish(tail) })),
      ...retirees.map(async (r) => ({ index: r.destination.index, messages: await r.finished })),
    ]);
    return { undelivered };
  }

  /** Serves every destination up to the current tail (a retiring one up to where it stops), then parks until the tail moves. */
  private pump(): void {
    if (this.stopped) return;
    this.lastTail = this.reader.loadTail();
    for (const d of this.destinations.values()) d.service(this.lastTail);
    for (const r of this.retiring.values()) r.destination.service(r.endAt);
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
