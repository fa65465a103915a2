/**
 * One destination's place in the ring (positions are u32 ring positions, ../ring/layout.ts): the
 * cursor, where the next item it sends starts, and the released position it publishes, the lowest
 * it still needs:
 *
 *   released <= first unconfirmed ring write's start <= ... <= cursor <= TAIL
 *
 * The background thread reclaims below the lowest released position of all destinations. This part
 * counts the items the cursor passes (exact: only this thread moves it) and takes a lagging
 * destination's oldest items out of the ring (the isolation rule of ./lag-policy.ts).
 */
import { distance } from '../ring/layout.js';
import type { RingReader } from '../ring/ring-reader.js';
import type { DestinationCounters } from '../metrics/counters.js';
import type { DeliveryWindow } from './delivery-window.js';

/** See the module comment. */
export class RingCursor {
  position = 0;
  private released = 0;

  constructor(
    private readonly reader: RingReader,
    /** The destination's slot: its RELEASED position in the ring. */
    private readonly slot: number,
    private readonly counters: DestinationCounters,
    /** Its unconfirmed writes: the first ring write holds the released position back. */
    private readonly window: DeliveryWindow,
  ) {}

  /** Ring items the cursor has passed since the ring began. */
  get items(): number {
    return this.counters.read('cursorItems');
  }

  /** Bytes between the cursor and `tail`: what is still to send. */
  lagBytes(tail: number): number {
    return distance(tail, this.position);
  }

  /** The lowest position it still needs, as last published. */
  get releasedPosition(): number {
    return this.released;
  }

  /** Bytes between the released position and `tail`: what it keeps the ring from reclaiming. */
  heldBytes(tail: number): number {
    return distance(tail, this.released);
  }

  /** True once it needs no ring byte below `endAt`: the cursor is there and no unconfirmed write carries ring bytes. */
  doneWith(endAt: number): boolean {
    return this.position === endAt && !this.window.hasRingWrites();
  }

  /** Moves the cursor past `items` ring items ending at `position`, and publishes both for metrics. */
  moveTo(position: number, items: number): void {
    this.position = position;
    this.counters.cursorMoved(position, items);
  }

  /** Publishes the lowest ring position this destination still needs, when it changed (or `force`). */
  publish(force = false): void {
    this.counters.unconfirmed(this.window.messageCount);
    const released = this.window.releasedPosition(this.position);
    if (force || released !== this.released) {
      this.released = released;
      this.reader.release(this.slot, released);
    }
  }

  /** Moves the cursor to `to`, appending a view of each payload passed to `out` (use them before publishing); returns how many. */
  passTo(to: number, out: Uint8Array[]): number {
    const items = this.reader.payloads(this.position, to, out);
    this.moveTo(to, items);
    return items;
  }

  /**
   * Skips the oldest items so that at most `keepBytes` stay before the live `tail`, never past
   * `endAt` (where a retiring destination's share ends): appends a view of each payload skipped
   * to `out` (use them before publishing) and returns how many.
   */
  skipOldest(tail: number, endAt: number, keepBytes: number, out: Uint8Array[]): number {
    const from = this.position;
    // What lies past `endAt` counts against what may stay.
    const to = this.reader.dropUntil(from, endAt, Math.max(0, keepBytes - distance(tail, endAt)));
    const items = this.reader.payloads(from, to, out);
    this.moveTo(to, items);
    return items;
  }
}
