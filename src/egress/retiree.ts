/**
 * One removed destination while it retires (docs/ARCHITECTURE.md, "Reload"): it sends what it held
 * up to `endAt`, the tail of the moment it was removed, for at most the drain timeout and only
 * while it is up; then it finishes as at shutdown (what is left is spilled or counted) and reports
 * its tally. Meanwhile it is held to the limits of a running destination, measured against the
 * live tail (Destination.service), and it gives its ring slot back as soon as it reads no ring
 * byte any more (only its spill replay left), so it never holds the ring for the others. A group
 * member that stays in its changed group (no spill directory) waits for its successor before it
 * finishes, and hands it what it holds then (docs/ARCHITECTURE.md, "Groups").
 */
import type { RingReader } from '../ring/ring-reader.js';
import type { RetiredReport } from '../thread-protocol.js';
import type { Clock } from './clock.js';
import type { Destination } from './destination.js';

/** How often a retiring destination is looked at between ring wakes (it may finish on a confirmation). */
const LOOK_EVERY_MS = 5;

/** What a retiree needs from its egress. */
export interface RetireeContext {
  reader: RingReader;
  clock: Clock;
  /** Its counters' totals, read once it closed. */
  tally(): Omit<RetiredReport, 'index' | 'messages'>;
  /** It closed: egress forgets it, and the main thread is told (in the same turn). */
  closed(retiree: Retiree, report: RetiredReport): void;
}

/** See the module comment. */
export class Retiree {
  /** It started finishing (drained, down, out of time, its directory wanted, or a stop). */
  finishing = false;
  /** Its ring slot is free: it reads no ring byte any more (it may still replay its spill). */
  ringFreed = false;
  /** Its store is closed: its directory may be opened again. */
  closed = false;
  /** Resolves with its tally once closed. */
  readonly done: Promise<RetiredReport>;
  /**
   * A group member that stays in its changed group (docs/ARCHITECTURE.md, "Groups"): the member of
   * the new group with its identity, which takes what it still holds when it finishes; 'awaited'
   * until the reload that removed it has created that one (it does not finish meanwhile).
   */
  private heir: Destination | 'awaited' | undefined;
  private settle!: (finished: Promise<RetiredReport>) => void;
  private timer: unknown;
  private readonly deadlineMs: number;

  constructor(
    readonly destination: Destination,
    /** The tail when it was removed: its share of the ring ends there. */
    readonly endAt: number,
    timeoutMs: number,
    /** Who it is (scheme, host, port, framing): a destination added with the same waits for it. */
    readonly key: string,
    /** Its spill directory, if it has a store. */
    readonly dir: string | undefined,
    private readonly context: RetireeContext,
  ) {
    this.deadlineMs = context.clock.nowMs() + timeoutMs;
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  /** Serves it now and then every few milliseconds until it finishes. */
  start(): void {
    this.destination.stopAt = this.endAt;
    const look = (): void => {
      this.serve();
      if (!this.finishing) this.timer = this.context.clock.setTimeout(look, LOOK_EVERY_MS);
    };
    look();
  }

  /** Its successor is being added by the reload that removes it: it waits for handTo() before it finishes. */
  awaitHeir(): void {
    if (!this.finishing && this.heir === undefined) this.heir = 'awaited';
  }

  /** The reload created its successor (undefined: it could not): what it holds when it finishes goes there. */
  handTo(heir: Destination | undefined): void {
    if (this.heir !== 'awaited') return;
    this.heir = heir;
    this.serve();
  }

  /** Serves it against the live tail; it finishes once down, caught up to `endAt`, or out of time (not while its successor is awaited). */
  serve(): void {
    if (this.finishing) return;
    const d = this.destination;
    d.service(this.context.reader.loadTail(), this.endAt);
    const due = !d.isUp || d.caughtUp(this.endAt) || this.context.clock.nowMs() >= this.deadlineMs;
    if (due && this.heir !== 'awaited') void this.finish();
    else if (d.doneWithRing(this.endAt)) this.letRingGo(); // replaying its spill only
  }

  /** Finishes it now (once): what it holds is spilled or counted, its slot freed, its store closed. */
  finish(): Promise<RetiredReport> {
    if (this.finishing) return this.done;
    this.finishing = true;
    this.context.clock.clearTimeout(this.timer);
    const d = this.destination;
    const { lost, closed } = d.finish(this.endAt, typeof this.heir === 'object' ? this.heir : undefined);
    // Done with the ring: ingest may reclaim past it now. The directory stays its own until closed,
    // and the main thread frees the slot only on the report, after that.
    this.letRingGo();
    this.settle(
      closed.then(() => {
        this.closed = true;
        const report = { index: d.index, messages: lost, ...this.context.tally() };
        this.context.closed(this, report);
        return report;
      }),
    );
    return this.done;
  }

  /** Gives its ring slot back (once). */
  private letRingGo(): void {
    if (this.ringFreed) return;
    this.ringFreed = true;
    this.context.reader.freeSlot(this.destination.index);
  }
}
