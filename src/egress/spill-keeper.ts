/**
 * One destination's side of its spill directory: what it appends, in what order, and the
 * bookkeeping that keeps the accounting exact (docs/ARCHITECTURE.md, "Spill order" and
 * "Accounting"). The destination decides *when* data leaves the ring; this decides whether it
 * can go to disk and counts what cannot. Without --spill-dir it only counts drops.
 */
import type { Framing } from '../framing/index.js';
import type { DestinationCounters } from '../metrics/counters.js';
import type { RingReader } from '../ring/ring-reader.js';
import type { SpillBatch, SpillStore } from '../spill/segment-store.js';
import type { PendingWrite } from './delivery-window.js';

export interface SpillKeeperHooks {
  /** `n` empty messages this framing cannot carry were left out (counted and logged by the destination). */
  skipped(n: number): void;
  /** An append finished (kept or not): the destination may have room to go on. */
  appended(): void;
  /** Something to log once per cause: a failing directory, a lost replay position. */
  warn(cause: string, message: string): void;
}

/** See the module comment. */
export class SpillKeeper {
  /** Appends issued this run: a ring write may go to disk later only if none came after it. */
  appends = 0;
  /** Ring bytes copied for the spill and not yet on disk. */
  bytesInFlight = 0;
  /** Net messages this run added to the queue on disk: appended (or on their way) minus read for replay. */
  queueDelta = 0;
  /** Every disk operation started, for close() to wait on. */
  private work: Promise<unknown> = Promise.resolve();

  constructor(
    readonly store: SpillStore | undefined,
    private readonly framing: Framing,
    private readonly counters: DestinationCounters,
    /** Above this many bytes in flight to the disk, overflow drops instead of spilling. */
    private readonly inFlightLimitBytes: number,
    private readonly hooks: SpillKeeperHooks,
  ) {}

  /**
   * Appends `payloads` (ring views: copied before this returns), or drops them for `reason` when
   * there is no spill or (overflow) it is too far behind. Empty payloads the framing cannot carry
   * are counted now, not at replay. Returns the messages dropped now (a failed append is counted
   * when it fails).
   */
  keep(payloads: readonly Uint8Array[], reason: 'overflow' | 'shutdown', countSkips = true): number {
    const store = this.store;
    if (!store || (reason === 'overflow' && this.bytesInFlight >= this.inFlightLimitBytes)) {
      this.counters.dropped(reason, payloads.length);
      return payloads.length;
    }
    const carried = countSkips ? payloads.filter((p) => this.framing.verdict(p) !== 'skip') : payloads;
    if (countSkips && carried.length < payloads.length) this.hooks.skipped(payloads.length - carried.length);
    if (carried.length === 0) return 0;
    let bytes = 0;
    for (const p of carried) bytes += p.length;
    const messages = carried.length;
    this.appends++;
    this.bytesInFlight += bytes;
    this.queueDelta += messages;
    void this.track(store.append(carried)).then((kept) => {
      this.bytesInFlight -= bytes;
      if (kept) this.counters.spilled(messages);
      else {
        this.queueDelta -= messages;
        this.counters.dropped('spill_full', messages);
        this.hooks.warn('spill-full', `spill directory full or failing: dropped ${messages} message(s)`);
      }
      this.hooks.appended();
    });
    return 0;
  }

  /**
   * Ring writes taken out of the window (oldest first). Those made after the last append are
   * newer than everything on disk: appended, the order on disk stays the order of arrival. The
   * others (older than some spilled data) are dropped for `reason`; they are always the oldest,
   * so what is kept still arrives in order. Returns the messages dropped.
   */
  keepRingWrites(writes: readonly PendingWrite[], reason: 'overflow' | 'shutdown', reader: RingReader): number {
    const appends = this.appends;
    const keep = this.store ? writes.filter((w) => w.spillAppendsBefore === appends) : [];
    let dropped = 0;
    for (const w of writes) if (!keep.includes(w)) dropped += w.messages;
    if (dropped > 0) this.counters.dropped(reason, dropped);
    if (keep.length === 0) return dropped;
    // What of them had gone out on a connection comes again by replay: counted resent now.
    let wentOut = 0;
    for (const w of keep) wentOut += w.wentOut ?? w.messages;
    if (wentOut > 0) this.counters.resent(wentOut);
    // Payloads the framing skipped were counted when framed; keep only what the writes carried.
    const payloads: Uint8Array[] = [];
    // A group member's writes carry their payloads (its own items only, or copies it took over).
    for (const w of keep) {
      if (w.owned) payloads.push(...w.owned.payloads);
      else if (w.copies) payloads.push(...w.copies);
      else reader.payloads(w.ring!.start, w.ring!.end, payloads);
    }
    return (
      dropped +
      this.keep(
        payloads.filter((p) => this.framing.verdict(p) !== 'skip'),
        reason,
        false,
      )
    );
  }

  /**
   * At shutdown, the writes left unconfirmed (oldest first). Replayed batches go back to the
   * queue: they are still on disk, after the replay position, and the next run sends them. Ring
   * writes older than some spill append (a RELP window pinned while its receiver was down) go
   * back in their place with the batches among them (SpillStore.requeue); those newer than every
   * append are appended as keepRingWrites says. Returns the messages dropped now.
   */
  keepUnconfirmed(unconfirmed: readonly PendingWrite[], reader: RingReader): number {
    const older = this.store ? unconfirmed.findLastIndex((w) => !w.spill && w.spillAppendsBefore !== this.appends) : -1;
    const front = unconfirmed.slice(0, older + 1);
    const rest = unconfirmed.slice(older + 1);
    for (const w of unconfirmed) if (w.spill) this.read(w.messages, true);
    if (front.length > 0) this.requeue(front, reader);
    return this.keepRingWrites(
      rest.filter((w) => w.ring || w.owned || w.copies),
      'shutdown',
      reader,
    );
  }

  /** Puts `front` (writes, oldest first, the last older than some append) back before what was not read yet. */
  private requeue(front: readonly PendingWrite[], reader: RingReader): void {
    const payloads: Uint8Array[] = [];
    let ringMessages = 0;
    let wentOut = 0;
    for (const w of front) {
      if (w.spill) {
        payloads.push(...w.spill.payloads);
        continue;
      }
      ringMessages += w.messages;
      wentOut += w.wentOut ?? w.messages;
      const carried: Uint8Array[] = [];
      if (w.owned) carried.push(...w.owned.payloads);
      else if (w.copies) carried.push(...w.copies);
      else reader.payloads(w.ring!.start, w.ring!.end, carried);
      payloads.push(...carried.filter((p) => this.framing.verdict(p) !== 'skip'));
    }
    // What of them had gone out on a connection comes again by replay: counted resent now.
    if (wentOut > 0) this.counters.resent(wentOut);
    // Everything before the last replayed batch among them was read already: the rest follows it on disk.
    const from = front.findLast((w) => w.spill)?.spill?.end;
    this.queueDelta += ringMessages;
    void this.track(this.store!.requeue(payloads, from)).then((kept) => {
      if (kept) this.counters.spilled(ringMessages);
      else {
        this.queueDelta -= ringMessages;
        this.counters.dropped('spill_full', ringMessages);
        this.hooks.warn('spill-full', `spill directory full or failing: dropped ${ringMessages} message(s)`);
      }
    });
  }

  /** `messages` were read for replay (they leave the queue for the window) — or, when `back`, go back to it. */
  read(messages: number, back = false): void {
    this.queueDelta += back ? messages : -messages;
  }

  /** A replayed batch was delivered: its replay position is saved. */
  confirmed(batch: SpillBatch): void {
    this.track(this.store!.confirm(batch)).catch((error: Error) => this.hooks.warn('spill-confirm', `cannot record replay progress: ${error.message}`));
  }

  /** Waits for every disk operation started, then closes the directory. */
  async close(): Promise<void> {
    await this.work;
    await this.store?.close();
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    this.work = Promise.all([this.work, operation.catch(() => {})]);
    return operation;
  }
}
