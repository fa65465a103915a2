/**
 * A group member's spill directory while the member is down and its group has moved its share to
 * the members up (README "Groups", docs/ARCHITECTURE.md "Groups"): what it spilled is read back and
 * given to the members that own it now, instead of waiting on disk for this member to return.
 *
 * - Ready only while handed off and the members up have room for more (Group.spilledRoom); when
 *   they have none, it looks again after SPILL_HAND_OVER_RETRY_MS.
 * - The batches it had replayed and not had confirmed go first, oldest first; then each batch it
 *   reads. A batch given away is confirmed on disk: the takers owe it from then on (handed over).
 *   A batch some message of which has no taker stays owed here, as a replayed batch.
 */
import type { SpillBatch } from '../spill/segment-store.js';
import type { Clock } from './clock.js';
import type { DeliveryWindow } from './delivery-window.js';
import type { Membership } from './membership.js';
import type { RingCursor } from './ring-cursor.js';
import type { SpillKeeper } from './spill-keeper.js';

/** How soon a member handed off looks again whether the members up have room for its spilled messages. */
const SPILL_HAND_OVER_RETRY_MS = 20;

/** The parts of a destination the hand-off reads and moves. */
export interface SpillHandOffParts {
  membership: Membership;
  window: DeliveryWindow;
  spill: SpillKeeper;
  ring: RingCursor;
  clock: Clock;
  closed(): boolean;
  /** Its connection is up. */
  up(): boolean;
  /** Asks egress to serve the destination again. */
  wake(): void;
  /** Makes a replayed batch owed by the destination itself (no taker for it). */
  owe(batch: SpillBatch): void;
}

/** See the module comment. */
export class SpillHandOff {
  /** A look again is set for when the members up may have room for its spilled messages. */
  private retrying = false;

  constructor(private readonly parts: SpillHandOffParts) {}

  /** The member is down and its group moved its share to the members up. */
  active(): boolean {
    const { membership, up } = this.parts;
    return !up() && membership.share.group.handedOff(membership.share.position);
  }

  /** Active, and the members up have room for its spilled messages now (a look again is set when they have none). */
  ready(): boolean {
    if (!this.active()) return false;
    if (this.parts.membership.handsOffSpill()) return true;
    if (!this.retrying) {
      this.retrying = true;
      this.parts.clock.setTimeout(() => {
        this.retrying = false;
        if (!this.parts.closed()) this.parts.wake();
      }, SPILL_HAND_OVER_RETRY_MS);
    }
    return false;
  }

  /** A batch read from the spill while handed off: to the members that own it now, or owed here when one has no taker. */
  give(batch: SpillBatch): void {
    const { membership, spill, closed, owe } = this.parts;
    if (closed()) return; // read while stopping: it stays on disk, before the replay position, for the next run
    if (!this.giveReplayedWrites() || !membership.handSpilled(batch.payloads)) {
      owe(batch);
      return;
    }
    spill.read(batch.payloads.length);
    spill.confirmed(batch);
  }

  /**
   * The batches it had replayed and not had confirmed go first, oldest first (they are older than
   * what it reads next, and a later batch's confirmation moves the replay position past them).
   * Returns false when one could not be given (it stays owed, and so does what follows).
   */
  giveReplayedWrites(): boolean {
    const { membership, window, spill, ring } = this.parts;
    for (const w of window.all().filter((x) => x.spill)) {
      if (!membership.handSpilled(w.spill!.payloads)) return false;
      window.takeWhere((x) => x === w);
      spill.confirmed(w.spill!);
      ring.publish(); // the unconfirmed gauge
    }
    return true;
  }
}
