/**
 * The egress side of the ring (the concurrency contract is ./ring.ts's): walks items from a
 * destination's cursor, makes views of them, and publishes what it released.
 */
import { ITEM_HEADER_BYTES, REFUSED_APPENDS, RELEASED, TAIL, TAIL_ID, WRAP_MARKER, advance, distance, type RingViews } from './layout.js';
import { freeSlot, takeSlot } from './positions.js';
import { ingestGathers, waitForTail } from './wake.js';

/**
 * Walks items from a consumer's cursor. Holds no position of its own: callers pass positions and
 * read back the last segment found, so the egress hot loop allocates nothing.
 */
export class RingReader {
  private readonly v: RingViews;
  /** Last scan(): first item, position just past the last item, number of items. */
  segmentStart = 0;
  segmentEnd = 0;
  segmentItems = 0;
  /** Last dropUntil(): items skipped. */
  droppedItems = 0;
  /** Reused by payloads(): where the payloads of a run lie (spans()). */
  private readonly scratchOffsets: number[] = [];
  private readonly scratchLengths: number[] = [];

  constructor(views: RingViews) {
    this.v = views;
  }

  /** The ring's size in bytes. */
  get capacity(): number {
    return this.v.capacity;
  }

  /** Parks until TAIL differs from `lastTail` (the consumer half of ./wake.ts); undefined when it already does. */
  waitForTail(lastTail: number): Promise<void> | undefined {
    return waitForTail(this.v, lastTail);
  }

  /** Whether ingest gathers for --max-delay (then egress parks on the ring after a small batch too). */
  ingestGathers(): boolean {
    return ingestGathers(this.v);
  }

  /** Takes slot `d` for a destination starting at `position` (./positions.ts, takeSlot). */
  takeSlot(d: number, position: number): void {
    takeSlot(this.v, d, position);
  }

  /** Gives slot `d` back once no write of its destination reads the ring (./positions.ts, freeSlot). */
  freeSlot(d: number): void {
    freeSlot(this.v, d);
  }

  /** Loads the published tail. Acquire: items below it are complete. */
  loadTail(): number {
    return Atomics.load(this.v.control, TAIL) >>> 0;
  }

  /**
   * Loads how many appends ingest has refused for want of space (u32, wraps): a change since the
   * last load means ingest was short. Stored before the publish that woke this thread, so a pump
   * sees every refusal up to the batch it serves.
   */
  loadRefusedAppends(): number {
    return Atomics.load(this.v.control, REFUSED_APPENDS) >>> 0;
  }

  /** Loads the count of published items (may be read a moment apart from the tail). */
  loadTailId(): number {
    return Atomics.load(this.v.control, TAIL_ID) >>> 0;
  }

  /** The position of the item at or after `position`, skipping the unused end of a lap. `position` must be below the tail. */
  itemStart(position: number): number {
    const v = this.v;
    const offset = position & v.mask;
    const roomToLapEnd = v.capacity - offset;
    if (roomToLapEnd < ITEM_HEADER_BYTES || v.dataView.getUint32(offset, true) === WRAP_MARKER) {
      return advance(position, roomToLapEnd);
    }
    return position;
  }

  /** Payload length of the item at `position` (an item start, below the tail). */
  payloadLength(position: number): number {
    return this.v.dataView.getUint32(position & this.v.mask, true);
  }

  /**
   * Finds the longest run of whole items that starts at `from`, ends at or before `tail`, does not
   * cross the end of a lap, and spans at most `maxBytes` (but always at least one item).
   * Sets segmentStart/segmentEnd/segmentItems; returns false when there is nothing to read.
   * The run's bytes are `data[segmentStart & mask, + (segmentEnd - segmentStart))`, contiguous:
   * view() returns them.
   */
  scan(from: number, tail: number, maxBytes: number): boolean {
    if (from === tail) return false;
    const v = this.v;
    const start = this.itemStart(from);
    let position = start;
    let items = 0;
    while (position !== tail) {
      const offset = position & v.mask;
      if (v.capacity - offset < ITEM_HEADER_BYTES) break;
      const length = v.dataView.getUint32(offset, true);
      if (length === WRAP_MARKER) break;
      const next = advance(position, ITEM_HEADER_BYTES + length);
      if (items > 0 && distance(next, start) > maxBytes) break;
      position = next;
      items++;
      // An item that ends exactly at the end of the buffer leaves no wrap marker behind it: the
      // run ends here, or it would continue at offset 0 and no single view could hold it.
      if ((position & v.mask) === 0) break;
    }
    this.segmentStart = start;
    this.segmentEnd = position;
    this.segmentItems = items;
    return true;
  }

  /**
   * A zero-copy Buffer over the ring bytes [start, end), one run found by scan(). It aliases the
   * ring: until a write of it has called back, nothing at or above `start` may be released.
   * Throws RangeError if the range crosses the end of the buffer (a scan() bug, never data).
   */
  view(start: number, end: number): Buffer {
    const v = this.v;
    const offset = start & v.mask;
    const bytes = distance(end, start);
    if (offset + bytes > v.capacity) throw new RangeError(`ring view [${start}, ${end}) crosses the end of the ${v.capacity}-byte buffer`);
    return Buffer.from(v.dataBuffer, offset, bytes);
  }

  /**
   * Skips whole items from `from` until at most `maxBacklog` bytes remain before `tail`. Returns
   * the new cursor and sets droppedItems for loss accounting.
   */
  dropUntil(from: number, tail: number, maxBacklog: number): number {
    let position = from;
    let items = 0;
    while (position !== tail && distance(tail, position) > maxBacklog) {
      position = this.itemStart(position);
      if (position === tail) break;
      position = advance(position, ITEM_HEADER_BYTES + this.payloadLength(position));
      items++;
    }
    this.droppedItems = items;
    return position;
  }

  /** How many items lie in [from, to) (item boundaries). */
  countItems(from: number, to: number): number {
    let position = from;
    let items = 0;
    while (position !== to) {
      position = this.itemStart(position);
      if (position === to) break;
      position = advance(position, ITEM_HEADER_BYTES + this.payloadLength(position));
      items++;
    }
    return items;
  }

  /**
   * Appends to `out` a view of each payload in [from, to) (item boundaries, across a lap end
   * too) and returns how many. Views alias the ring: use them before releasing the range.
   */
  payloads(from: number, to: number, out: Uint8Array[]): number {
    const { scratchOffsets: offsets, scratchLengths: lengths } = this;
    offsets.length = 0;
    lengths.length = 0;
    const items = this.spans(from, to, offsets, lengths);
    for (let i = 0; i < items; i++) out.push(this.payloadAt(offsets[i]!, lengths[i]!));
    return items;
  }

  /**
   * Appends to `offsets` and `lengths` where each payload in [from, to) lies in the buffer (item
   * boundaries, across a lap end too), and returns how many: payloads() without a view per item,
   * for a reader that sends only some of them (payloadAt() makes the view of one).
   */
  spans(from: number, to: number, offsets: number[], lengths: number[]): number {
    const v = this.v;
    let position = from;
    let items = 0;
    while (position !== to) {
      position = this.itemStart(position);
      if (position === to) break;
      const length = this.payloadLength(position);
      offsets.push((position & v.mask) + ITEM_HEADER_BYTES);
      lengths.push(length);
      position = advance(position, ITEM_HEADER_BYTES + length);
      items++;
    }
    return items;
  }

  /** A view of the payload at `offset` (from spans()): it aliases the ring, as payloads() do. */
  payloadAt(offset: number, length: number): Uint8Array {
    return this.v.data.subarray(offset, offset + length);
  }

  /** Publishes that destination `d` no longer needs the bytes below `position`. */
  release(d: number, position: number): void {
    // Publish: every write carrying bytes below `position` has called back, so the reclaimer may
    // hand them back to ingest.
    Atomics.store(this.v.control, RELEASED + d, position | 0);
  }
}
