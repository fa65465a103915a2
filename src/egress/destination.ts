/**
 * One destination in the egress thread. It composes parts that each own their state (the table
 * in docs/ARCHITECTURE.md, "Egress"): connection, delivery window, ring cursor, overflow, spill
 * keeper and replay, write framer, notices, and for a group member its membership
 * (./membership.ts). It decides what is written when and what leaves the ring. Its egress builds
 * it complete (transport, spill store, starting position); start() only connects.
 *
 * Delivery order: unconfirmed writes (resent first on a new connection), then the spill
 * directory (oldest first), then the ring from `cursor`. While the spill has a backlog or a
 * batch is being read, nothing is sent from the ring.
 *
 * Accounting: every message it is responsible for (ring items published since it started, what
 * its spill held at start, and what it took over from another group member) is at any moment in
 * exactly one place: sent (confirmed), dropped (by reason), lag (cursor..TAIL), the window, queued
 * in the spill, or, for a group member, another member's or handed over. `accounting()` reports
 * the window and the spill; the simulation checks the sum after every step.
 */
import { framingFor } from '../framing/index.js';
import type { RingReader } from '../ring/ring-reader.js';
import type { DestinationCounters } from '../metrics/counters.js';
import type { SpillBatch, SpillStore } from '../spill/segment-store.js';
import { DestinationNotices } from './destination-notices.js';
import { Connection, type ConnectionEvents } from './connection.js';
import { DeliveryWindow, type PendingWrite, type Settled } from './delivery-window.js';
import { lagLimits } from './lag-policy.js';
import { Membership } from './membership.js';
import { Overflow } from './overflow.js';
import type { Handed } from '../group/group.js';
import type { Share } from '../group/share.js';
import { ReplayDriver } from './replay.js';
import { RingCursor } from './ring-cursor.js';
import { SpillKeeper } from './spill-keeper.js';
import { SpillHandOff } from './spill-hand-off.js';
import { type ItemFilter, WriteFramer } from './write-framer.js';
import type { DestinationOptions } from '../thread-protocol.js';
import type { DestinationAccounting, DestinationContext, DestinationSetup } from './destination-setup.js';

export type { DestinationAccounting, DestinationContext, DestinationSetup } from './destination-setup.js';

/** Connection, cursor and spill of one destination; driven by the Egress pump. */
export class Destination {
  private closed = false;
  private readonly connection: Connection;
  private readonly window = new DeliveryWindow();
  /** Cursor and released position (./ring-cursor.ts). */
  private readonly ring: RingCursor;
  /** What each write carries, in its framing (./write-framer.ts). */
  private readonly framer: WriteFramer;
  /** The isolation rule: lag and pin limits (./overflow.ts). */
  private readonly overflow: Overflow;
  /** Reused list of payload views leaving the ring (no allocation per message). */
  private readonly batch: Uint8Array[] = [];
  private readonly spill: SpillKeeper;
  private readonly replay: ReplayDriver | undefined;
  private readonly counters: DestinationCounters;
  private readonly reader: RingReader;
  /** Its log lines and the counters that go with them (./destination-notices.ts). */
  private readonly notices: DestinationNotices;
  /** A group member's share of the ring (src/group/share.ts) and its part in moving shares; absent for a plain destination. */
  private readonly membership: Membership | undefined;
  /** Which items are its to send: a group member's share, or its routes (absent: every item, as the ring holds it). */
  private readonly filter: ItemFilter | undefined;
  /** A retiring destination: where its share of the ring ends (set by its Retiree). */
  stopAt: number | undefined;
  /** A group member's spill given to the members up while it is down and handed off (./spill-hand-off.ts). */
  private readonly handOff: SpillHandOff | undefined;

  /**
   * Complete, at its place in the ring (published: the background thread keeps what it needs from
   * there), and not connecting yet: start() does.
   */
  constructor(
    private options: DestinationOptions,
    setup: DestinationSetup,
    private readonly context: DestinationContext,
  ) {
    const { reader } = context;
    this.counters = setup.counters;
    this.reader = reader;
    this.notices = new DestinationNotices(() => this.options, this.counters, context.log, context.clock);
    this.framer = new WriteFramer(framingFor(options.framing), reader, this.counters, this.notices);
    this.ring = new RingCursor(reader, options.index, this.counters, this.window);
    this.connection = new Connection(options, this.connectionEvents(), setup.connect, context.clock, context.random);
    this.spill = new SpillKeeper(setup.store, this.framer.framing, this.counters, lagLimits(reader.capacity).spillInFlightLimitBytes, {
      skipped: (n) => this.notices.unframeable(n, this.framer.framing.name),
      appended: () => {
        if (!this.closed && this.isUp) this.context.onWritable(this);
      },
      warn: (cause, message) => this.notices.warn(cause, message),
    });
    this.replay = setup.store && this.replayOf(setup.store);
    const { ring, window, spill, connection, notices, counters } = this;
    this.membership = setup.share && this.membershipOf(setup.share);
    if (setup.share) setup.share.route = setup.route;
    this.filter = setup.share ?? setup.route;
    if (this.membership) this.handOff = this.handOffOf(this.membership);
    this.ring.moveTo(setup.tail, setup.tailItems);
    this.ring.publish(true);
    this.overflow = new Overflow({ reader, ring, window, spill, connection, notices, counters, clock: context.clock, filter: this.filter });
  }

  private connectionEvents(): ConnectionEvents {
    return {
      onUp: () => this.onUp(),
      onDown: (wasUp, reason, tlsFailed) => {
        this.notices.down(wasUp, reason, tlsFailed, this.window.size);
        this.membership?.share.down();
      },
      onDrain: () => this.context.onWritable(this),
      onIdle: () => {
        if (this.window.isEmpty) return;
        this.notices.stalled();
        this.connection.cut('stalled');
      },
    };
  }

  private membershipOf(share: Share): Membership {
    return new Membership({
      ...{ reader: this.reader, ring: this.ring, window: this.window, framer: this.framer, counters: this.counters, share },
      send: (write) => this.send(write),
      spillAppends: () => this.spill.appends,
      maxWriteBytes: () => this.options.maxWriteBytes,
      closed: () => this.closed,
      endAt: () => this.stopAt ?? this.reader.loadTail(),
      writable: () => this.context.onWritable(this),
    });
  }

  private replayOf(store: SpillStore): ReplayDriver {
    return new ReplayDriver(store, this.options.maxWriteBytes, {
      // Down and handed off, a member's spill goes to the members up (README "Groups").
      canWrite: () => !this.closed && (this.connection.writable || this.handOff?.ready() === true),
      deliver: (batch) => (this.handOff?.active() ? this.handOff.give(batch) : this.deliverReplayed(batch)),
      emptied: () => this.context.onWritable(this),
      readFailed: (error) => this.notices.spillReadFailed(error),
    });
  }

  private handOffOf(membership: Membership): SpillHandOff {
    return new SpillHandOff({
      ...{ membership, window: this.window, spill: this.spill, ring: this.ring, clock: this.context.clock },
      closed: () => this.closed,
      up: () => this.connection.state === 'up',
      wake: () => this.context.onWritable(this),
      owe: (batch) => this.deliverReplayed(batch),
    });
  }

  get index(): number {
    return this.options.index;
  }

  /** Its spill store, if it has one (the simulation waits on its disk I/O). */
  get spillStore(): SpillStore | undefined {
    return this.spill.store;
  }

  /** What it runs with now. */
  get settings(): DestinationOptions {
    return this.options;
  }

  /** Ring items the cursor has passed since the ring began (exact: this thread counts them). */
  get cursorItems(): number {
    return this.ring.items;
  }

  /** Where the next ring item it sends starts. */
  get cursor(): number {
    return this.ring.position;
  }

  get isUp(): boolean {
    return this.connection.state === 'up';
  }

  /** True when everything below `tail`, and everything spilled, has been confirmed by the kernel. */
  caughtUp(tail: number): boolean {
    return this.ring.position === tail && this.window.isEmpty && !this.replay?.pending;
  }

  /**
   * True once nothing it still owes is in the ring below `endAt`: its cursor is there and no
   * unconfirmed write carries ring bytes (a retiring one may still replay its spill directory).
   */
  doneWithRing(endAt: number): boolean {
    return this.ring.doneWith(endAt);
  }

  /** Where the messages not yet sent nor dropped are (the ring lag is the cursor's business). */
  accounting(): DestinationAccounting {
    const { ring, spill } = this.window.messages();
    return { windowMessages: ring + spill, spillQueueDelta: this.spill.queueDelta };
  }

  /** Starts connecting; with `connectAfter`, the first attempt waits for it. */
  start(connectAfter?: Promise<unknown>): void {
    this.notices.started();
    this.connection.start(connectAfter);
  }

  /**
   * New settings for the same destination (a reload): timeouts and backoff apply from now on;
   * changed TLS settings (other files, other contents, another name) reconnect at once, and what the old
   * connection had not confirmed is resent on the new one, as after any lost connection.
   */
  update(options: DestinationOptions): void {
    const tlsChanged = options.tls?.fingerprint !== this.options.tls?.fingerprint;
    this.options = options;
    this.connection.reconfigure(options);
    if (tlsChanged) this.connection.replaceTransport(this.context.transport(options), 'TLS settings changed');
  }

  /**
   * Enforces the lag limits against the live `tail`, then writes whatever the connection will take
   * up to `endAt`: the tail itself for a running destination, the tail of the moment it was
   * removed for a retiring one. A retiring destination is held to the same limits as a running
   * one, measured against the live tail, since that is what ingest needs room for; only what it
   * drops or spills stops at `endAt` (docs/ARCHITECTURE.md, "Reload").
   */
  service(tail: number, endAt = tail): void {
    if (this.closed) return;
    this.membership?.passOthers(endAt);
    this.overflow.enforce(tail, endAt);
    if (!this.connection.writable) {
      if (this.window.size > 0 && this.handOff?.ready()) this.handOff.giveReplayedWrites();
      if (this.replay?.pending && this.handOff?.ready()) this.replay.kick();
      return;
    }
    if (this.replay?.pending) {
      this.replay.kick();
      return;
    }
    while (this.connection.writable && this.ring.position !== endAt) {
      const next = this.framer.next(this.ring.position, endAt, this.options.maxWriteBytes, this.filter, this.ring.items);
      if (!next) break;
      this.ring.moveTo(next.end, next.items);
      this.counters.others(next.others);
      if (next.chunk.length === 0) {
        this.ring.publish();
        continue;
      }
      const { chunk, messages, start, end, owned } = next;
      this.send({ chunk, messages, ring: { start, end }, owned, spillAppendsBefore: this.spill.appends });
    }
  }

  /**
   * Stops for good (shutdown, or a removed destination done retiring). What was not confirmed
   * goes to the spill directory when order allows (see SpillKeeper.keepRingWrites); the rest is
   * counted as dropped for `shutdown`. A retiring group member given an `heir` (its successor,
   * same identity, in the group that replaced its own) hands it everything of its own it holds
   * instead: unconfirmed writes and unread items up to `tail` (docs/ARCHITECTURE.md, "Groups"). Returns how many messages were neither delivered nor kept,
   * and `closed`, which resolves once the spill directory is closed (another store may open it
   * then). Done with the ring when it returns: the connection is closed or destroyed, so no write
   * reads ring memory any more, and what is kept was copied: its slot may be freed at once.
   */
  finish(tail: number, heir?: Destination): { lost: number; closed: Promise<void> } {
    const graceful = this.caughtUp(tail);
    // A member that stays in a changed group: what it holds goes to its successor (README "Groups").
    if (heir?.canInherit && this.membership) heir.inherit(this.membership.handOver());
    this.closed = true;
    const ended = this.connection.close(graceful);
    let lost = this.spill.keepUnconfirmed(this.window.takeAll(), this.reader);
    const firstId = this.ring.items;
    this.batch.length = 0;
    this.ring.passTo(tail, this.batch);
    if (this.filter?.filters(firstId)) this.counters.others(this.filter.keep(this.batch, firstId));
    if (this.batch.length > 0) lost += this.spill.keep(this.batch, 'shutdown');
    this.batch.length = 0;
    this.ring.publish();
    this.membership?.leave();
    return { lost, closed: ended ? Promise.all([this.spill.close(), ended]).then(() => {}) : this.spill.close() };
  }

  /** True while it can take over what a predecessor of its identity held: a group member, not finished. */
  get canInherit(): boolean {
    return !this.closed && this.membership !== undefined;
  }

  /**
   * Takes over what its predecessor handed it (copies, oldest first): sent first, before anything
   * it reads. A member that is down keeps at most the lag limit's worth of such copies (the
   * oldest beyond it are dropped, `overflow`), so reloads while it is down do not pile them up.
   */
  inherit(handed: Handed): void {
    const { overflowHighBytes } = lagLimits(this.reader.capacity);
    let first = handed.payloads.length;
    for (let bytes = 0; first > 0 && bytes + handed.payloads[first - 1]!.length <= overflowHighBytes; first--) bytes += handed.payloads[first - 1]!.length;
    if (first > 0) {
      this.counters.took(first);
      this.notices.overflowDropped(first, this.isUp);
    }
    this.membership!.inherit({ payloads: handed.payloads.slice(first), ids: handed.ids.slice(first) });
  }

  /** Makes `write` owed and writes it if the connection is up. */
  private send(write: PendingWrite): void {
    this.window.add(write);
    this.counters.unconfirmed(this.window.messageCount);
    if (this.connection.live) this.write(write);
    else write.wentOut = 0; // owed while down: its first write on the next connection is no resend
  }

  private write(write: PendingWrite): void {
    this.connection.write(write.chunk, (confirmed, outcome) => {
      // Unconfirmed (lost connection): it stays in the window and is resent (but for what a RELP
      // receiver answered of it). A write removed from the window meanwhile (pinned, shutdown) was
      // already counted by whoever removed it.
      if (this.closed) return;
      const settled = this.window.settle(write, confirmed, outcome);
      if (settled) this.confirmed(write, settled);
    });
  }

  /** The kernel took `write` (for relp@: the receiver answered it), whole or its first messages (./delivery-window.ts settle). */
  private confirmed(write: PendingWrite, { messages, bytes, rejected, reasons, whole }: Settled): void {
    this.counters.sent(messages - rejected, bytes);
    if (rejected > 0) this.notices.rejected(rejected, reasons);
    if (write.spill && whole) {
      this.counters.replayed(write.messages);
      this.spill.confirmed(write.spill);
    }
    this.connection.healthy();
    this.ring.publish();
  }

  /** A batch read from the spill: owed from now on (on disk until confirmed). */
  private deliverReplayed(batch: SpillBatch): void {
    if (this.closed) return; // read while stopping: it stays on disk, before the replay position, for the next run
    this.spill.read(batch.payloads.length);
    const { chunk, messages } = this.framer.encode(batch.payloads);
    this.send({ chunk, messages, spill: batch, spillAppendsBefore: this.spill.appends });
  }

  private onUp(): void {
    this.notices.up();
    this.membership?.share.up();
    // Writes the last connection never confirmed go first, whole, in their original order (a copy:
    // a write's callback may come at once and take it out of the window).
    for (const w of [...this.window.all()]) {
      this.counters.resent(w.wentOut ?? w.messages);
      w.wentOut = undefined;
      this.write(w);
    }
    this.context.onWritable(this);
  }
}
