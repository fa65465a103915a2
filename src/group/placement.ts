/**
 * Which members of a group get a message (pure): from its key, the members that count as up, and
 * for least-loaded the member chosen for the stretch of the ring the message is in. The result is
 * a set of the members' positions in the group's list (./members.ts).
 *
 * - failover: the first member, in the order listed, that is up.
 * - any-of: the member a hash of the key picks among all members (FNV-1a); when that one is down,
 *   one the same hash picks among those up. A key stays on its member while that member is up.
 * - least-loaded: the member chosen for the stretch (./group.ts picks it by unconfirmed bytes).
 * - carbon_ch, fnv1a_ch, jump_fnv1a_ch: as carbon-c-relay places them (./consistent-hash.ts), with
 *   `replication` members; when `dynamic`, members that are down are skipped as carbon-c-relay does.
 */
import { ConsistentHash } from './consistent-hash.js';
import { fnv1a32 } from './hash-functions.js';
import { Members } from './members.js';
import { type GroupKey, type GroupSpec, isHashMode } from './group-spec.js';

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const SEMICOLON = 0x3b;

/**
 * The bytes of `payload` a group hashes: all of it (`message`), or a Graphite metric name as
 * carbon-c-relay hashes it (`first-field`): leading blanks skipped, up to the first whitespace
 * (Graphite's plaintext protocol separates fields by any), and of a tagged name `a.b;k=v` the
 * part before the `;`.
 */
export function keyOf(payload: Uint8Array, key: GroupKey): Uint8Array {
  if (key === 'message') return payload;
  let start = 0;
  while (start < payload.length && (payload[start] === SPACE || payload[start] === TAB)) start++;
  let end = start;
  for (; end < payload.length; end++) {
    const b = payload[end];
    if (b === SPACE || b === TAB || b === SEMICOLON || b === CR || b === LF) break;
  }
  return start === 0 && end === payload.length ? payload : payload.subarray(start, end);
}

/** See the module comment. */
export class Placement {
  private readonly hash: ConsistentHash | undefined;
  private readonly all: Members;
  private readonly count: number;
  /** Each member alone (sets never change once made: one per member, shared by every item it owns alone). */
  private readonly single: Members[];

  constructor(private readonly spec: GroupSpec) {
    this.count = spec.members.length;
    this.all = Members.all(this.count);
    this.single = spec.members.map((_, p) => Members.of(this.count, [p]));
    this.hash = isHashMode(spec.mode)
      ? new ConsistentHash(
          spec.mode,
          spec.members.map((m) => ({ host: m.host, port: m.port, instance: m.instance })),
        )
      : undefined;
  }

  /** Every member. */
  get allMembers(): Members {
    return this.all;
  }

  /** The members that get a message with `key` while the members in `up` (never empty) are up; `chosen` is least-loaded's member. */
  owners(key: Uint8Array, up: Members, chosen: number): Members {
    switch (this.spec.mode) {
      case 'failover':
        return this.single[up.lowest]!;
      case 'least-loaded':
        return this.single[chosen]!;
      case 'any-of': {
        const hash = fnv1a32(key);
        const first = hash % this.count;
        if (up.has(first)) return this.single[first]!;
        const ups = up.positions;
        return this.single[ups[hash % ups.length]!]!;
      }
      default: {
        const { replication, dynamic } = this.spec;
        const moving = dynamic && !up.equals(this.all) && up.size >= replication;
        const placed = this.hash!.place(key, replication, moving ? (i) => up.has(i) : undefined);
        return placed.length === 1 ? this.single[placed[0]!]! : Members.of(this.count, placed);
      }
    }
  }
}
