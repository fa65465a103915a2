/**
 * What one destination's writes carry, in its framing: the next run of the ring (len32le: the
 * ring's own bytes, a view, no copy; another framing: its payloads encoded) or a batch read back
 * from the spill directory. Counts what the framing cannot carry intact (empty payloads left out,
 * long ones split).
 */
import { encodeBatch, type Framing } from '../framing/index.js';
import type { DestinationCounters } from '../metrics/counters.js';
import type { RingReader } from '../ring/ring-reader.js';
import type { DestinationNotices } from './destination-notices.js';

/**
 * Which of the items a destination reads are its to send, and with what bytes: a group member's
 * share (src/group/share.ts), or a destination's routes (src/route/route-table.ts).
 */
export interface ItemFilter {
  /** True when some item from `fromId` on may not be its, or not as the ring holds it. */
  filters(fromId: number): boolean;
  /** Replaces `batch` (items from `firstId`) with what it sends of them, ids to `ids`; returns the items it got nothing of. */
  keep(batch: Uint8Array[], firstId: number, ids?: number[]): number;
  /**
   * keep() of the ring run [start, end) (items from `firstId`), straight from the ring: appends to
   * `out` what it sends of them, ids to `ids`; returns the items it got nothing of. A group member
   * makes no view of the items it passes (src/group/share.ts).
   */
  select(reader: RingReader, start: number, end: number, firstId: number, out: Uint8Array[], ids: number[]): number;
}

/** One write's worth of the ring: its bytes as sent, its messages, and the ring run it came from. */
export interface RingWrite {
  chunk: Uint8Array;
  messages: number;
  /** The ring run: from `start` to `end`, `items` items. */
  start: number;
  end: number;
  items: number;
  /** A filtered write (a group member's, or routed): the payloads (ring views, or rewritten) and ids of its items in the run. */
  owned?: { payloads: Uint8Array[]; ids: number[] };
  /** A filtered write: items of the run that were not its to send. */
  others: number;
}

/** See the module comment. */
export class WriteFramer {
  /** Reused list of payload views for one batch (no allocation per message). */
  private readonly batch: Uint8Array[] = [];

  constructor(
    readonly framing: Framing,
    private readonly reader: RingReader,
    private readonly counters: DestinationCounters,
    private readonly notices: DestinationNotices,
  ) {}

  /**
   * The next write from the ring at `from`: at most `maxBytes`, never past `endAt`; undefined
   * when there is nothing to read. A filtered destination (`filter`: a group member, or routed;
   * its cursor at item `firstId`) writes only its items of the run.
   */
  next(from: number, endAt: number, maxBytes: number, filter?: ItemFilter, firstId = 0): RingWrite | undefined {
    if (!this.reader.scan(from, endAt, maxBytes)) return undefined;
    const start = this.reader.segmentStart;
    const end = this.reader.segmentEnd;
    const items = this.reader.segmentItems;
    // The ring holds len32le frames already: send a view of it, no copy.
    const filtered = filter?.filters(firstId) === true;
    if (this.framing.name === 'len32le' && !filtered) return { chunk: this.reader.view(start, end), messages: items, start, end, items, others: 0 };
    this.batch.length = 0;
    if (filtered) {
      const ids: number[] = [];
      const others = filter!.select(this.reader, start, end, firstId, this.batch, ids);
      const { chunk, messages } = this.encode(this.batch);
      // What the write carries, for a hand-over: not what the framing left out (counted already).
      const owned = { payloads: [] as Uint8Array[], ids: [] as number[] };
      for (let i = 0; i < this.batch.length; i++) {
        const p = this.batch[i]!;
        if (this.framing.verdict(p) === 'skip') continue;
        owned.payloads.push(p);
        owned.ids.push(ids[i]!);
      }
      this.batch.length = 0;
      return { chunk, messages, start, end, items, owned, others };
    }
    this.reader.payloads(start, end, this.batch);
    const { chunk, messages } = this.encode(this.batch);
    this.batch.length = 0;
    return { chunk, messages, start, end, items, others: 0 };
  }

  /** Encodes payloads in this framing, counting what the framing cannot carry intact. */
  encode(payloads: readonly Uint8Array[]): { chunk: Buffer; messages: number } {
    const { chunk, messages, skipped, split } = encodeBatch(this.framing, payloads);
    this.notices.unframeable(skipped, this.framing.name);
    if (split > 0) this.counters.split(split);
    return { chunk, messages };
  }
}
