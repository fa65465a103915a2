/**
 * A group member's share of the ring, as its destination sees it: which of the items it reads
 * are its own to send, and the connection events the group needs (./group.ts).
 */
import { Group } from './group.js';
import type { GroupSpec } from './group-spec.js';
import type { RingReader } from '../ring/ring-reader.js';
import type { RouteView } from '../route/route-table.js';

/**
 * A member's share of its group: the group from `groups` (those of the destinations started
 * together, by spec: members started together share one), made and passed to `created` if new.
 */
export function shareIn(groups: Map<string, Group>, member: { group: GroupSpec; position: number }, created: (group: Group) => void): Share {
  const key = JSON.stringify(member.group);
  let group = groups.get(key);
  if (!group) {
    group = new Group(member.group);
    groups.set(key, group);
    created(group);
  }
  return new Share(group, member.position);
}

/** See the module comment. */
export class Share {
  constructor(
    readonly group: Group,
    /** Its position in the group's member list. */
    readonly position: number,
  ) {}

  /** The group's name, for logs and metrics. */
  get groupName(): string {
    return this.group.spec.name;
  }

  /** The routes, when rules may send items elsewhere than to its group (src/route/route-table.ts). */
  route: RouteView | undefined;
  /** Reused by select(): where the payloads of a run lie in the ring. */
  private readonly offsets: number[] = [];
  private readonly lengths: number[] = [];

  /** A member reads only its own items. */
  filters(): boolean {
    return true;
  }

  /**
   * Keeps in `batch`, in order, only the payloads of this member's items (the items are numbered
   * from `firstId`): those routed to its group (as routed: rewritten, cleansed) that its group
   * places on it. Pushes their ids to `ids` when given. Returns how many items it got nothing of.
   */
  keep(batch: Uint8Array[], firstId: number, ids?: number[]): number {
    const items = batch.length;
    const routedIds = this.route?.filters(firstId) ? [] : undefined;
    if (routedIds) this.route!.keep(batch, firstId, routedIds);
    let kept = 0;
    // Items it got something of (ids come in order; an item routed here twice counts once).
    let got = 0;
    let lastId = Number.NaN;
    for (let i = 0; i < batch.length; i++) {
      const payload = batch[i]!;
      const id = routedIds ? routedIds[i]! : firstId + i;
      if (!this.group.owns(id, payload, this.position)) continue;
      batch[kept++] = payload;
      ids?.push(id);
      if (id !== lastId) got++;
      lastId = id;
    }
    batch.length = kept;
    return items - got;
  }

  /**
   * keep() of the ring run [start, end) (ItemFilter.select), straight from the ring: each item is
   * placed once for the group (the first member to read it places it, the others find its owners
   * remembered), and a member makes a view only of the items it sends. Routed items go through
   * keep(): their routes need every payload.
   */
  select(reader: RingReader, start: number, end: number, firstId: number, out: Uint8Array[], ids: number[]): number {
    if (this.route?.filters(firstId)) {
      reader.payloads(start, end, out);
      return this.keep(out, firstId, ids);
    }
    const { offsets, lengths } = this;
    offsets.length = 0;
    lengths.length = 0;
    const items = reader.spans(start, end, offsets, lengths);
    let got = 0;
    for (let i = 0; i < items; i++) {
      const id = firstId + i;
      const placed = this.group.placed(id, this.position);
      if (placed === 0 || (placed < 0 && !this.group.owns(id, reader.payloadAt(offsets[i]!, lengths[i]!), this.position))) continue;
      out.push(reader.payloadAt(offsets[i]!, lengths[i]!));
      ids.push(id);
      got++;
    }
    return items - got;
  }

  /** True when it owns no item from `fromId` on: it may move past them unread. */
  ownsNothingFrom(fromId: number): boolean {
    return this.group.ownsNothingFrom(this.position, fromId);
  }

  up(): void {
    this.group.memberUp(this.position);
  }

  down(): void {
    this.group.memberDown(this.position);
  }
}
