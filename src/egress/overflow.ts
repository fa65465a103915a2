/**
 * The isolation rule applied to one destination (./lag-policy.ts decides, this module acts): past
 * the lag limit its oldest ring items leave the ring for it alone, spilled or dropped and counted;
 * past the pin limit a connection that is not reading is cut and its pinned writes leave the ring:
 * to the spill when they are newer than everything on disk; else, with a spill directory, copied
 * out of the ring and still owed (resent first on the next connection, so order holds: they are
 * older than what was spilled); without one, dropped and counted.
 * Either only under pressure: it is down, or it released nothing for the grace period past a mark
 * (this module keeps since when, on egress's clock), or ingest was refused space since its last
 * service.
 * Measured against the live tail, never past `endAt` (docs/ARCHITECTURE.md, "Reload").
 */
import type { RingReader } from '../ring/ring-reader.js';
import type { Clock } from './clock.js';
import type { DestinationCounters } from '../metrics/counters.js';
import type { Connection } from './connection.js';
import type { DeliveryWindow } from './delivery-window.js';
import type { DestinationNotices } from './destination-notices.js';
import { isPinned, lagLimits, overflowAction, pastMark, underPressure, type LagLimits } from './lag-policy.js';
import type { RingCursor } from './ring-cursor.js';
import type { SpillKeeper } from './spill-keeper.js';
import type { ItemFilter } from './write-framer.js';

/** The parts of a destination the rule reads and moves. */
export interface OverflowParts {
  reader: RingReader;
  ring: RingCursor;
  window: DeliveryWindow;
  spill: SpillKeeper;
  connection: Connection;
  notices: DestinationNotices;
  counters: DestinationCounters;
  clock: Clock;
  /** A group member's share, or its routes: only its items are spilled or dropped (the others are just passed). */
  filter: ItemFilter | undefined;
}

/** See the module comment. */
export class Overflow {
  /** Reused list of payload views leaving the ring (no allocation per message). */
  private readonly batch: Uint8Array[] = [];

  private readonly limits: LagLimits;
  /** Since when (ms) it has made no progress (released nothing, never caught up), and the released position it holds. */
  private stuckSinceMs: number;
  private releasedSeen = 0;
  /** Bytes it held from the ring at the last service (0: it was caught up). */
  private heldSeen = 0;
  /** REFUSED_APPENDS at the last service: a change means ingest was short of space since. */
  private refusedSeen: number;

  constructor(private readonly parts: OverflowParts) {
    this.limits = lagLimits(parts.reader.capacity);
    this.refusedSeen = parts.reader.loadRefusedAppends();
    this.stuckSinceMs = parts.clock.nowMs();
  }

  /** Applies the lag and pin limits against the live `tail`; what leaves the ring stops at `endAt`. */
  enforce(tail: number, endAt: number): void {
    const { ring, spill, window, connection, notices, reader, filter, counters, clock } = this.parts;
    const nowMs = clock.nowMs();
    const lagBytes = ring.lagBytes(tail);
    // The grace period counts from its last progress: a release, or a service that found it caught
    // up (a burst after a quiet spell starts it afresh). Not from when it passed a mark: one that
    // stopped reading long before the ring reached the mark is let go at once, before ingest runs
    // out of room (a removed destination that never read, beside a live one at full speed).
    const held = ring.heldBytes(tail);
    if (ring.releasedPosition !== this.releasedSeen || this.heldSeen === 0) {
      this.stuckSinceMs = nowMs;
      this.releasedSeen = ring.releasedPosition;
    }
    this.heldSeen = held;
    const refused = reader.loadRefusedAppends();
    const stuckMs = pastMark(this.limits, lagBytes, held) ? nowMs - this.stuckSinceMs : 0;
    const pressed = underPressure(this.limits, { up: connection.state === 'up', stuckMs, ingestRefused: refused !== this.refusedSeen });
    this.refusedSeen = refused;
    const action = overflowAction(this.limits, lagBytes, pressed, { enabled: spill.store !== undefined, inFlightBytes: spill.bytesInFlight });
    if (action !== 'none' && ring.position !== endAt) {
      this.batch.length = 0;
      const firstId = ring.items;
      ring.skipOldest(tail, endAt, this.limits.overflowLowBytes, this.batch);
      if (filter?.filters(firstId)) counters.others(filter.keep(this.batch, firstId));
      if (action === 'spill') spill.keep(this.batch, 'overflow');
      else notices.overflowDropped(this.batch.length, connection.state === 'up');
      this.batch.length = 0;
      ring.publish();
    }
    if (!isPinned(this.limits, ring.heldBytes(tail), pressed, window.hasRingWrites())) return;
    if (connection.state === 'up') {
      notices.notReading();
      connection.cut('not reading');
    }
    // Down now: the pinned writes leave the ring. Those made after the last spill append go to disk
    // (newer than all there; replayed batches stay owed: they live on disk). Those older than a
    // spill append cannot (they would be replayed after newer data): with a spill directory they
    // are copied and stay owed rather than dropped — the relay knows they were not confirmed (a
    // RELP window a stopped receiver never answered) — resent first on the next connection. That
    // is at most the connection's window: writes are issued only while it is writable.
    if (spill.store) {
      for (const w of window.all()) {
        if (!w.ring || w.spillAppendsBefore === spill.appends) continue;
        this.batch.length = 0;
        if (!w.owned) reader.payloads(w.ring.start, w.ring.end, this.batch);
        window.detach(w, this.batch);
      }
      this.batch.length = 0;
    }
    spill.keepRingWrites(window.takeRingWrites(), 'overflow', reader);
    ring.publish();
  }
}
