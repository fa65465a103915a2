/**
 * A destination group in the egress thread: which member owns each ring item, and what happens
 * when a member goes down or comes back (README "Groups"). Its members are destinations that
 * read the whole ring and send only what they own (./share.ts).
 *
 * Ownership is decided per item id (the item's number in the ring's history) by stretches: from
 * item `fromId` on, these members count as up (and, least-loaded, this one is chosen). A new
 * stretch starts only at or past every member's cursor, so no member has read an item whose
 * owner changes: ownership of an item never changes once any member may have acted on it.
 *
 * When a member that counted as up goes down (and the mode moves shares), a stretch without it
 * begins, and it hands over what it owned and had not had confirmed: the other members take
 * copies of those messages (each to the member the new stretch would pick for it) and send them
 * before anything else they read. What it handed over it no longer owes; nothing it had not
 * confirmed counts as delivered. When every member is down, ownership stays where it was: the
 * last members up hold their share (spilled with --spill-dir, else dropped once the ring's
 * limits are reached) until one comes back.
 */
import { type GroupSpec, isHashMode, MAX_GROUP_MEMBERS, movesShares } from './group-spec.js';
import { Members } from './members.js';
import { OwnerCache } from './owner-cache.js';
import { keyOf, Placement } from './placement.js';

/** What a group needs of its members (src/egress/destination.ts). */
export interface GroupMember {
  readonly cursorItems: number;
  /** Bytes written and not yet confirmed: least-loaded's measure of how stressed its peer is. */
  readonly unconfirmedBytes: number;
  /** The oldest item id it may still hand over (its first unconfirmed write's), or its cursor's. */
  readonly oldestOwedId: number;
  /** Gives up what it owns and has not had confirmed, and moves past the ring up to the live tail: the payloads (copies) with their ids. */
  handOver(): Handed;
  /** Sends these (another member's, copied) before anything else it reads. */
  takeOver(payloads: Uint8Array[], ids: number[]): void;
}

/** Messages a member handed over, oldest first, with their item ids. */
export interface Handed {
  payloads: Uint8Array[];
  ids: number[];
}

/** From item `fromId` on: the members that count as up, and least-loaded's choice. */
interface Stretch {
  fromId: number;
  up: Members;
  chosen: number;
}

/** Least-loaded changes member only when the chosen one has this many more unconfirmed bytes than the least loaded (no flapping on every write). */
const REBALANCE_SLACK_BYTES = 64 * 1024;
/** Stretches kept before old ones (below every member's oldest owed item) are let go. */
const STRETCHES_KEPT = 64;
/** A member handed off gives its spilled messages over only while each member up has fewer unconfirmed bytes than this: its disk does not move into their memory at once. */
const SPILL_HAND_OVER_ROOM_BYTES = 1024 * 1024;

/** See the module comment. */
export class Group {
  private readonly placement: Placement;
  private readonly members: (GroupMember | undefined)[];
  private readonly stretches: Stretch[];
  /** Members whose connection is up or not yet known to be down. */
  private reallyUp: Members;
  private recomputing = false;
  /** The owners of recent items: each is placed once (./owner-cache.ts). */
  private readonly placedItems: OwnerCache;
  /** Items handed over at least once, while some member may hand them over again: the members holding a copy. */
  private readonly holders = new Map<number, Members>();
  /** Ids for messages handed over from a spill directory (they have no ring item id): below every ring id, increasing in the order handed. */
  private nextSpilledId = Number.MIN_SAFE_INTEGER;

  constructor(readonly spec: GroupSpec) {
    if (spec.members.length > MAX_GROUP_MEMBERS) throw new RangeError(`group ${spec.name}: more than ${MAX_GROUP_MEMBERS} members`);
    this.placement = new Placement(spec);
    this.placedItems = new OwnerCache(spec.members.length);
    this.members = spec.members.map(() => undefined);
    this.reallyUp = this.placement.allMembers;
    this.stretches = [{ fromId: 0, up: this.reallyUp, chosen: 0 }];
  }

  /** Registers the destination at `position` in the member list. */
  join(position: number, member: GroupMember): void {
    this.members[position] = member;
  }

  /** Forgets a member that finished (it owns nothing any more). */
  leave(position: number, member: GroupMember): void {
    if (this.members[position] === member) this.members[position] = undefined;
  }

  /**
   * The member at `position` holds items `ids`, its predecessor's in the group this one replaced
   * (a reload): they count as held by the members that adopted them, not by their owners here.
   */
  adopt(position: number, ids: readonly number[]): void {
    for (const id of ids) this.holders.set(id, (this.holders.get(id) ?? Members.none(this.spec.members.length)).with(position));
  }

  /**
   * True when the member at `position` was handed off: the current stretch moved its share to the
   * members up, so what it spilled goes to them too (spilledRoom, takeSpilled). Not for replicated
   * hashes: which replica a spilled message was is not known, so it waits for its member.
   */
  handedOff(position: number): boolean {
    if (!movesShares(this.spec) || this.spec.replication > 1) return false;
    return !this.stretches[this.stretches.length - 1]!.up.has(position);
  }

  /** True while every member up can take more spilled messages (fewer than SPILL_HAND_OVER_ROOM_BYTES unconfirmed). */
  get spilledRoom(): boolean {
    const current = this.stretches[this.stretches.length - 1]!;
    return current.up.positions.every((p) => (this.members[p]?.unconfirmedBytes ?? 0) < SPILL_HAND_OVER_ROOM_BYTES);
  }

  /**
   * Gives messages the member at `from` (handed off) read back from its spill directory, oldest
   * first, to the members that own them under the current stretch; they hold them alone. All or
   * nothing: false, and nothing given, when some message has no member to take it (every other
   * one finished).
   */
  takeSpilled(from: number, payloads: readonly Uint8Array[]): boolean {
    const current = this.stretches[this.stretches.length - 1]!;
    const owners = payloads.map((p) => this.placement.owners(keyOf(p, this.spec.key), current.up, current.chosen).without(from).lowest);
    if (owners.some((p) => p < 0 || !this.members[p])) return false;
    const gained = this.members.map(() => ({ payloads: [] as Uint8Array[], ids: [] as number[] }));
    for (const [i, p] of owners.entries()) {
      const id = this.nextSpilledId++;
      this.holders.set(id, Members.of(this.spec.members.length, [p]));
      gained[p!]!.payloads.push(payloads[i]!);
      gained[p!]!.ids.push(id);
    }
    for (const [p, g] of gained.entries()) if (g.payloads.length > 0) this.members[p]!.takeOver(g.payloads, g.ids);
    return true;
  }

  /**
   * Whether the member at `position` owns item `id`, when the item was placed already and is
   * still remembered: 1 or 0; else -1 (owns() places it).
   */
  placed(id: number, position: number): number {
    return this.placedItems.owns(id, position);
  }

  /** True when the member at `position` owns item `id`, whose payload is `payload`. */
  owns(id: number, payload: Uint8Array, position: number): boolean {
    const placed = this.placedItems.owns(id, position);
    return placed < 0 ? this.place(id, payload).has(position) : placed === 1;
  }

  /** The members that own item `id`, whose payload is `payload`. */
  owners(id: number, payload: Uint8Array): Members {
    return this.placedItems.ownersOf(id) ?? this.place(id, payload);
  }

  /** Places item `id` (whose payload is `payload`) and remembers its owners. */
  private place(id: number, payload: Uint8Array): Members {
    const stretch = this.stretchOf(id);
    const owners = this.placement.owners(keyOf(payload, this.spec.key), stretch.up, stretch.chosen);
    this.placedItems.remember(id, owners);
    return owners;
  }

  /** True when the member at `position` owns no item from `fromId` on, whatever its key (it may skip them unread). */
  ownsNothingFrom(position: number, fromId: number): boolean {
    if (!movesShares(this.spec)) return false;
    for (let i = this.stretches.length - 1; i >= 0; i--) {
      const s = this.stretches[i]!;
      if (this.mayOwn(s, position)) return false;
      if (s.fromId <= fromId) return true;
    }
    return true;
  }

  /** The member at `position` came up. */
  memberUp(position: number): void {
    this.reallyUp = this.reallyUp.with(position);
    this.schedule();
  }

  /** The member at `position` went down (a connection lost, or an attempt failed). */
  memberDown(position: number): void {
    this.reallyUp = this.reallyUp.without(position);
    this.schedule();
  }

  /** True once every member finished. */
  get isEmpty(): boolean {
    return this.members.every((m) => m === undefined);
  }

  /** Least-loaded: moves on to the member with the least unconfirmed bytes when the chosen one has REBALANCE_SLACK_BYTES more. */
  rebalance(): void {
    if (this.spec.mode !== 'least-loaded') return;
    const current = this.stretches[this.stretches.length - 1]!;
    const best = this.leastLoaded(current.up);
    const load = (p: number): number => this.members[p]?.unconfirmedBytes ?? 0;
    if (best !== current.chosen && load(current.chosen) > load(best) + REBALANCE_SLACK_BYTES) this.begin(current.up, best);
  }

  private schedule(): void {
    if (this.recomputing) return;
    this.recomputing = true;
    // After the connection event that called us has returned: a member hands over outside its own callbacks.
    queueMicrotask(() => {
      this.recomputing = false;
      this.recompute();
    });
  }

  /** Starts a stretch for the members really up, when that changes who counts as up (or who is chosen). */
  private recompute(): void {
    if (!movesShares(this.spec) || this.reallyUp.isEmpty) return;
    const current = this.stretches[this.stretches.length - 1]!;
    const up = this.reallyUp;
    const chosen = up.has(current.chosen) ? current.chosen : this.leastLoaded(up);
    if (up.equals(current.up) && chosen === current.chosen) return;
    this.begin(up, chosen);
  }

  /** A new stretch from past every member's cursor; members no longer counted up hand their share over. */
  private begin(up: Members, chosen: number): void {
    const previous = this.stretches[this.stretches.length - 1]!;
    let fromId = 0;
    for (const m of this.members) if (m) fromId = Math.max(fromId, m.cursorItems);
    this.stretches.push({ fromId, up, chosen });
    this.placedItems.clear();
    // Fewer members up than a hash group's replication: placement holds every share where it is (nothing moves).
    const moving = !isHashMode(this.spec.mode) || up.size >= this.spec.replication;
    for (const p of moving ? previous.up.minus(up).positions : []) {
      const member = this.members[p];
      if (member) this.redistribute(p, member.handOver());
    }
    this.forgetHolders();
    this.forgetOldStretches();
  }

  /**
   * Gives each handed-over message to members that own it under the stretch just begun, so that
   * it keeps as many holders as it has owners: `from` no longer holds it, the others that hold a
   * copy (its owners, or members that took it over) keep theirs.
   */
  private redistribute(from: number, handed: Handed): void {
    const current = this.stretches[this.stretches.length - 1]!;
    const gained = this.members.map(() => ({ payloads: [] as Uint8Array[], ids: [] as number[] }));
    for (const [i, payload] of handed.payloads.entries()) {
      const id = handed.ids[i]!;
      const stretch = this.stretchOf(id);
      const key = keyOf(payload, this.spec.key);
      const owners = this.placement.owners(key, stretch.up, stretch.chosen);
      let held = (this.holders.get(id) ?? owners).without(from);
      let missing = owners.size - held.size;
      for (const p of this.placement.owners(key, current.up, current.chosen).minus(held).without(from).positions) {
        if (missing-- <= 0) break;
        held = held.with(p);
        gained[p]!.payloads.push(payload);
        gained[p]!.ids.push(id);
      }
      this.holders.set(id, held);
    }
    for (const [p, g] of gained.entries()) if (g.payloads.length > 0) this.members[p]?.takeOver(g.payloads, g.ids);
  }

  private mayOwn(s: Stretch, position: number): boolean {
    if (this.spec.mode === 'failover') return s.up.lowest === position;
    if (this.spec.mode === 'least-loaded') return s.chosen === position;
    // A hash group with fewer members up than its replication places as if all were up.
    return s.up.has(position) || s.up.size < this.spec.replication;
  }

  private stretchOf(id: number): Stretch {
    for (let i = this.stretches.length - 1; i > 0; i--) if (this.stretches[i]!.fromId <= id) return this.stretches[i]!;
    return this.stretches[0]!;
  }

  private leastLoaded(up: Members): number {
    let best = -1;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const p of up.positions) {
      const load = this.members[p]?.unconfirmedBytes ?? 0;
      if (load < bestLoad) [best, bestLoad] = [p, load];
    }
    return Math.max(best, 0);
  }

  /** Forgets who holds items below every member's oldest owed item (none of them can be handed over again). */
  private forgetHolders(): void {
    let oldest = Number.POSITIVE_INFINITY;
    for (const m of this.members) if (m) oldest = Math.min(oldest, m.oldestOwedId);
    for (const id of this.holders.keys()) if (id < oldest) this.holders.delete(id);
  }

  private forgetOldStretches(): void {
    if (this.stretches.length <= STRETCHES_KEPT) return;
    let oldest = Number.POSITIVE_INFINITY;
    for (const m of this.members) if (m) oldest = Math.min(oldest, m.oldestOwedId);
    while (this.stretches.length > 1 && this.stretches[1]!.fromId <= oldest) this.stretches.shift();
  }
}
