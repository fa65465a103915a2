/**
 * Append, read and reclaim on the shared ring (layout in ./layout.ts).
 *
 * Concurrency contract — single producer, many consumers, one reclaimer:
 * - The ingest thread is the only writer of items, TAIL, TAIL_ID and REFUSED_APPENDS (RingWriter).
 *   It writes an item's bytes with plain stores, then publishes them with Atomics.store(TAIL); a
 *   reader that Atomics.load()s TAIL and sees the new value also sees every byte written before
 *   the store (Atomics are sequentially consistent). An append refused for want of space bumps
 *   REFUSED_APPENDS before the next publish: egress, woken by that publish, sees ingest was short.
 * - The egress thread owns one cursor per destination (RingReader, ./ring-reader.ts, walks items). It reads only
 *   bytes in [its released position, TAIL), which ingest never overwrites because
 *   HEAD <= every RELEASED. It publishes RELEASED[d] once the writes that carried the bytes below
 *   it have called back: until then the kernel may still be reading those bytes out of the ring.
 * - The background thread is the only writer of HEAD (computeHead): the lowest RELEASED. Ingest
 *   may overwrite bytes below HEAD; a stale HEAD only means ingest sees less free space. When the
 *   ring looks full, ingest computes that same bound itself (computeHeadAndHolder, loads only)
 *   instead of waiting for the background thread, and keeps it local, with the slot it came from
 *   when the ring is still full (heldBy: the destination a ring-full log line names).
 * Nothing here blocks; a full ring makes append() return false.
 */
import { BG_SLEEPING, BG_WAKE, HEAD, ITEM_HEADER_BYTES, REFUSED_APPENDS, TAIL, TAIL_ID, WRAP_MARKER, advance, distance, type RingViews } from './layout.js';
import { computeHeadAndHolder } from './positions.js';
import { RING_POLICY } from './policies.js';
import { publishTail, setIngestGathers } from './wake.js';

/** The ingest side: appends items and publishes them. One instance, in the ingest thread. */
export class RingWriter {
  private readonly v: RingViews;
  /** Local tail: items appended but not yet published sit between TAIL and this. */
  private tail: number;
  private tailId: number;
  /** Last HEAD this thread loaded; refreshed only when space looks short. */
  private head: number;
  private tailAtLastBackgroundWake: number;
  /** See heldBy. */
  private lastHolder: number | undefined;
  /** Appends refused for want of space (u32, wraps): this thread's copy of REFUSED_APPENDS. */
  private refused: number;

  constructor(views: RingViews) {
    this.v = views;
    this.tail = Atomics.load(views.control, TAIL) >>> 0;
    this.tailId = Atomics.load(views.control, TAIL_ID) >>> 0;
    this.head = Atomics.load(views.control, HEAD) >>> 0;
    this.tailAtLastBackgroundWake = this.tail;
    this.refused = Atomics.load(views.control, REFUSED_APPENDS) >>> 0;
  }

  /**
   * Copies `payload` into the ring as one item. Returns false, writing nothing, when the ring has
   * no room for it. Readers see it only after publish().
   */
  append(payload: Uint8Array): boolean {
    const at = this.reserve(payload.length);
    if (at < 0) return false;
    this.v.data.set(payload, at);
    return true;
  }

  /**
   * append() of `source[start, start + length)`, copied without making a view of it: batched
   * receive calls this once per datagram, and a view per datagram is garbage per datagram.
   */
  appendFrom(source: Buffer, start: number, length: number): boolean {
    const at = this.reserve(length);
    if (at < 0) return false;
    source.copy(this.v.data, at, start, start + length);
    return true;
  }

  /**
   * Makes room for an item of `length` payload bytes, writes its header and advances the local
   * tail; returns where the payload goes in the data buffer, or -1 (nothing written) when full.
   */
  private reserve(length: number): number {
    const v = this.v;
    const need = ITEM_HEADER_BYTES + length;
    let offset = this.tail & v.mask;
    const roomToLapEnd = v.capacity - offset;
    const skip = roomToLapEnd < need ? roomToLapEnd : 0;
    if (distance(this.tail, this.head) + skip + need > v.capacity) {
      // Short of space by our cached head. Rather than wait for the background thread (a wake
      // costs ~30 µs, longer than a small ring takes to fill), compute the same lower bound it
      // publishes from the RELEASED slots; kept local, so HEAD keeps its single writer.
      const { head, holder } = computeHeadAndHolder(v);
      this.head = head;
      if (distance(this.tail, this.head) + skip + need > v.capacity) {
        this.lastHolder = holder;
        this.refused = (this.refused + 1) >>> 0;
        // Publish that ingest is short of space: the egress pump that the next publish() wakes
        // loads it, and lagging destinations give their oldest items up at once (lag-policy.ts).
        Atomics.store(v.control, REFUSED_APPENDS, this.refused | 0);
        this.wakeBackground();
        return -1;
      }
    }
    if (skip > 0) {
      // Readers skip the rest of the lap on seeing the marker, or implicitly when < 4 bytes remain.
      if (skip >= ITEM_HEADER_BYTES) v.dataView.setUint32(offset, WRAP_MARKER, true);
      this.tail = advance(this.tail, skip);
      offset = 0;
    }
    v.dataView.setUint32(offset, length, true);
    this.tail = advance(this.tail, need);
    this.tailId = (this.tailId + 1) >>> 0;
    return offset + ITEM_HEADER_BYTES;
  }

  /** --max-delay: tells egress whether ingest gathers for the budget (ring/wake.ts). */
  setGathers(gathers: boolean): void {
    setIngestGathers(this.v, gathers);
  }

  /** Makes every appended item visible to readers and wakes whoever said it is going to sleep. */
  publish(): void {
    const c = this.v.control;
    Atomics.store(c, TAIL_ID, this.tailId | 0);
    publishTail(this.v, this.tail);
    const v = this.v;
    const used = v.capacity * RING_POLICY.backgroundWakeUsedFraction;
    if (distance(this.tail, this.head) > used && distance(this.tail, this.tailAtLastBackgroundWake) >= v.capacity * RING_POLICY.backgroundWakeEveryFraction) {
      this.head = Atomics.load(c, HEAD) >>> 0;
      if (distance(this.tail, this.head) > used) this.wakeBackground();
    }
  }

  /**
   * The destination slot whose released position bounded the HEAD the last refused append
   * computed: the one the full ring was waiting for (undefined: none refused yet, or no slot taken).
   */
  get heldBy(): number | undefined {
    return this.lastHolder;
  }

  /** Position just past the last appended item (published or not). */
  get position(): number {
    return this.tail;
  }

  /** Items appended so far (u32, wraps). */
  get itemsAppended(): number {
    return this.tailId;
  }

  private wakeBackground(): void {
    const c = this.v.control;
    this.tailAtLastBackgroundWake = this.tail;
    if (Atomics.load(c, BG_SLEEPING) === 1 && Atomics.exchange(c, BG_SLEEPING, 0) === 1) {
      Atomics.add(c, BG_WAKE, 1);
      Atomics.notify(c, BG_WAKE);
    }
  }
}
