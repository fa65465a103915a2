/**
 * Where every listener's messages go: appended to the ring as items and published, or counted and
 * dropped with their reason (oversize, ring full, over the rate limit, a refused source), each
 * reason logged at most once per log interval. Ingest (./ingest.ts) owns the listeners, their
 * slots and reloads; this owns what they hand over, behind each slot's Intake.
 */
import type { Refusal } from '../config/cidr.js';
import { ListenerCounters, listenerBase } from '../metrics/counters.js';
import type { RingWriter } from '../ring/ring.js';
import type { RateLimitedLog } from '../logging.js';
import type { Intake } from './listener.js';
import type { ListenerRateLimits } from './listener-rate-limits.js';
import type { SourceBucket } from './rate-limit.js';
import { splitLines, type AppendLine, type DropLine } from './line-split.js';
import type { DestinationName, ListenerOptions } from '../thread-protocol.js';

/** The ingest thread's message path: one instance, shared by every listener slot. */
export class MessagePath {
  /** Per listener index, its counters (created on first use). */
  private readonly listenerCounters: ListenerCounters[] = [];
  /**
   * Destination names by ring slot, for the ring-full line. A removed destination keeps its name
   * while it drains (it may still hold the ring); a reload adds to free slots only, which overwrites it.
   */
  private readonly destinationNames = new Map<number, string>();
  private publishScheduled = false;

  constructor(
    private readonly writer: RingWriter,
    private readonly counters: Float64Array,
    private readonly maxMessageBytes: number,
    private readonly rateLimits: ListenerRateLimits,
    private readonly log: RateLimitedLog,
  ) {}

  /** Listener `l`'s counters (created on first use). */
  countersOf(l: number): ListenerCounters {
    let counters = this.listenerCounters[l];
    if (!counters) {
      counters = new ListenerCounters(this.counters, listenerBase(l));
      this.listenerCounters[l] = counters;
    }
    return counters;
  }

  /**
   * Publishes once per event-loop turn: libuv hands over up to 32 datagrams per poll, so one
   * TAIL store and at most one wake of egress (a futex syscall here, ~25 µs there) serve the batch.
   */
  publishSoon(): void {
    if (this.publishScheduled) return;
    this.publishScheduled = true;
    setImmediate(() => {
      this.publishScheduled = false;
      this.writer.publish();
    });
  }

  /** Counts (`messages` of them) and logs a source outside --allow, or inside --deny, that tried listener `l`. */
  refuse(l: number, text: string, address: string | undefined, why: Refusal, messages = 1): void {
    this.countersOf(l).dropped(why, messages);
    const rule = why === 'denied' ? 'in --deny' : 'not in --allow';
    this.log.log('warn', `${why}:${l}`, `${text}: ignored ${address ?? 'an unknown source'}: ${rule}`);
  }

  /**
   * Appends one message from listener `l`: `length` bytes of `source` from `start` (publish() makes
   * it visible); with `from`, only if its source has a token left. Returns false only when the ring
   * had no room (a message dropped as oversize or over the rate limit leaves the ring room).
   */
  accept(l: number, source: Buffer, start = 0, length = source.length, from?: SourceBucket): boolean {
    if (from !== undefined && !this.rateLimits.admits(l, from)) {
      this.countersOf(l).dropped('rate_limited');
      return true;
    }
    if (length > this.maxMessageBytes) {
      this.dropOversize(l, length);
      return true;
    }
    if (!this.writer.appendFrom(source, start, length)) {
      this.dropRingFull(l);
      return false;
    }
    this.countersOf(l).received(length);
    return true;
  }

  private dropOversize(l: number, length: number): void {
    this.countersOf(l).dropped('oversize');
    this.log.log('warn', `oversize:${l}`, `dropped a ${length}-byte message: larger than --max-message ${this.maxMessageBytes}`);
  }

  private dropRingFull(l: number): void {
    this.countersOf(l).dropped('ring_full');
    // Ingest computed HEAD itself before giving up (RingWriter.reserve): the destination it came
    // from, the one furthest behind, holds the ring. Named only when the line is logged.
    this.log.log('warn', `ring-full:${l}`, () => {
      const slot = this.writer.heldBy;
      const name = slot === undefined ? undefined : (this.destinationNames.get(slot) ?? `the destination in slot ${slot}`);
      return `ring full: dropped an incoming message${name === undefined ? '' : `: ${name} is the destination furthest behind, the ring waits for it`}`;
    });
  }

  /**
   * Appends the relay's own messages (latin1 text; carbon-c-relay's statistics lines) as if they
   * had arrived: no listener counts them. Those the ring has no room for are dropped and logged.
   */
  inject(messages: readonly string[]): void {
    let dropped = 0;
    for (const m of messages) {
      const bytes = Buffer.from(m, 'latin1');
      if (bytes.length > this.maxMessageBytes || !this.writer.appendFrom(bytes, 0, bytes.length)) dropped++;
    }
    if (dropped > 0) this.log.log('warn', 'inject', `dropped ${dropped} of the relay's own ${messages.length} statistics line(s): the ring is full`);
    this.publishSoon();
  }

  /** Names destinations by ring slot (those at start, then those each reload adds). */
  nameDestinations(names: DestinationName[]): void {
    for (const { index, text } of names) this.destinationNames.set(index, text);
  }

  /**
   * How listener `listener` takes one datagram: as one message, or with `?split=lf` one per line;
   * once the ring is full, the datagram's remaining lines are dropped as ring-full (oversize ones
   * as oversize) without trying the ring again. The closures are made once per listener.
   */
  datagramTaker(listener: ListenerOptions): Intake['acceptDatagram'] {
    const l = listener.index;
    if (listener.split === undefined) {
      return (source, start, length, from) => {
        this.accept(l, source, start, length, from);
      };
    }
    // Each line is a message: each takes a token of the datagram's source.
    let lineSource: SourceBucket | undefined;
    const append: AppendLine = (bytes, lineStart, lineLength) => this.accept(l, bytes, lineStart, lineLength, lineSource);
    const drop: DropLine = (lineLength) => (lineLength > this.maxMessageBytes ? this.dropOversize(l, lineLength) : this.dropRingFull(l));
    return (source, start, length, from) => {
      lineSource = from;
      splitLines(source, start, length, append, drop);
      lineSource = undefined;
    };
  }
}
