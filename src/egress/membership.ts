/**
 * A destination's membership of a group (src/group/group.ts), the member the group sees: moving
 * past what it does not own, handing over what it owned and had not had confirmed when it went
 * down, and taking over what another member handed it. Apart from ./destination.ts, which
 * composes it, as ./overflow.ts is.
 */
import type { DestinationCounters } from '../metrics/counters.js';
import type { RingReader } from '../ring/ring-reader.js';
import type { GroupMember, Handed } from '../group/group.js';
import type { Share } from '../group/share.js';
import type { DeliveryWindow, PendingWrite } from './delivery-window.js';
import type { RingCursor } from './ring-cursor.js';
import type { WriteFramer } from './write-framer.js';

/** The parts of a destination a membership reads and moves. */
export interface MembershipParts {
  reader: RingReader;
  ring: RingCursor;
  window: DeliveryWindow;
  framer: WriteFramer;
  counters: DestinationCounters;
  share: Share;
  /** Makes a write owed and writes it if the connection is up. */
  send(write: PendingWrite): void;
  /** Spill appends issued so far (a write records it). */
  spillAppends(): number;
  maxWriteBytes(): number;
  /** True once the destination finished: it owns, hands and takes nothing any more. */
  closed(): boolean;
  /** Where its share of the ring ends now: the live tail, or where a retiring destination stops. */
  endAt(): number;
  /** It has something new to write. */
  writable(): void;
}

/** See the module comment. */
export class Membership implements GroupMember {
  constructor(private readonly parts: MembershipParts) {
    parts.share.group.join(parts.share.position, this);
  }

  /** Its share of the ring. */
  get share(): Share {
    return this.parts.share;
  }

  get cursorItems(): number {
    return this.parts.ring.items;
  }

  get unconfirmedBytes(): number {
    return this.parts.window.bytes;
  }

  /** Moves past the ring up to `endAt` unread when it owns nothing from its cursor on (a failover standby, a member that is down). */
  passOthers(endAt: number): void {
    const { ring, reader, counters, share } = this.parts;
    if (!share.ownsNothingFrom(ring.items)) return;
    const items = reader.countItems(ring.position, endAt);
    if (items === 0) return;
    ring.moveTo(endAt, items);
    counters.others(items);
    ring.publish();
  }

  /** The destination finished: the group forgets it. */
  leave(): void {
    this.parts.share.group.leave(this.parts.share.position, this);
  }

  /**
   * Takes out of the window every write of its own items (ring writes and writes it took over;
   * replayed spill batches stay: they are on its disk), and passes the ring up to `to`: its own
   * items there are handed over too (up to endAt()). Returns copies of them all, oldest item first.
   */
  handOver(): Handed {
    const { window, ring, reader, share, counters } = this.parts;
    if (this.parts.closed()) return { payloads: [], ids: [] };
    const to = this.parts.endAt();
    const pairs: [number, Uint8Array][] = [];
    for (const w of window.takeWhere((w) => w.owned !== undefined)) {
      for (const [i, p] of w.owned!.payloads.entries()) pairs.push([w.owned!.ids[i]!, w.ring ? Buffer.from(p) : p]);
    }
    const batch: Uint8Array[] = [];
    const ids: number[] = [];
    const firstId = ring.items;
    const items = reader.payloads(ring.position, to, batch);
    counters.others(share.keep(batch, firstId, ids));
    for (const [i, p] of batch.entries()) pairs.push([ids[i]!, Buffer.from(p)]);
    ring.moveTo(to, items);
    ring.publish();
    pairs.sort((a, b) => a[0] - b[0]);
    counters.handed(pairs.length);
    // Handed off, what it spilled goes to the members up too: nothing else may wake it (the ring can be idle).
    queueMicrotask(() => {
      if (!this.parts.closed()) this.parts.writable();
    });
    return { payloads: pairs.map((p) => p[1]), ids: pairs.map((p) => p[0]) };
  }

  /**
   * Takes what its predecessor (its identity, in the group this one replaced) held: it holds these
   * items alone, whoever the group would place them on now, so that a hand-over of them later
   * gives them to their owners instead of assuming those have them.
   */
  inherit(handed: Handed): void {
    this.parts.share.group.adopt(this.parts.share.position, handed.ids);
    this.takeOver(handed.payloads, handed.ids);
  }

  /** True when what it spilled may go to the members up now: it was handed off, and they have room for more. */
  handsOffSpill(): boolean {
    const { share } = this.parts;
    return !this.parts.closed() && share.group.handedOff(share.position) && share.group.spilledRoom;
  }

  /** Gives messages read back from its spill directory to the members that own them now; false, nothing given, when some could not be. */
  handSpilled(payloads: readonly Uint8Array[]): boolean {
    const { share, counters } = this.parts;
    if (!share.group.takeSpilled(share.position, payloads)) return false;
    counters.handed(payloads.length);
    return true;
  }

  /** Sends `payloads` (copies, another member's, items `ids`) before anything it reads later, in writes of at most maxWriteBytes. */
  takeOver(payloads: Uint8Array[], ids: number[]): void {
    const { counters, framer } = this.parts;
    if (this.parts.closed()) return;
    counters.took(payloads.length);
    const maxBytes = this.parts.maxWriteBytes();
    let start = 0;
    while (start < payloads.length) {
      let end = start;
      let bytes = 0;
      while (end < payloads.length && (end === start || bytes + payloads[end]!.length <= maxBytes)) bytes += payloads[end++]!.length;
      const part = payloads.slice(start, end);
      const { chunk, messages } = framer.encode(part);
      // What the write carries: not what its framing left out (counted as unframeable by encode).
      const carried = part.flatMap((p, i) => (framer.framing.verdict(p) === 'skip' ? [] : [i]));
      const owned = { payloads: carried.map((i) => part[i]!), ids: carried.map((i) => ids[start + i]!) };
      if (messages > 0) this.parts.send({ chunk, messages, owned, spillAppendsBefore: this.parts.spillAppends() });
      start = end;
    }
    this.parts.writable();
  }

  /** The oldest item id it may still hand over: its first write's of its own items, else its cursor's. */
  get oldestOwedId(): number {
    let oldest = this.parts.ring.items;
    for (const w of this.parts.window.all()) if (w.owned && w.owned.ids.length > 0) oldest = Math.min(oldest, w.owned.ids[0]!);
    return oldest;
  }
}
