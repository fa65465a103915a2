/**
 * Which members of a group get a message (pure): from its key, the members that count as up, and
 * for least-loaded the member chosen for the stretch of the ring the message is in. The result is
 * a bitmask over the members' positions in the group's list (MAX_GROUP_MEMBERS of them).
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

/** Positions set in `mask`, lowest first. */
export function positionsOf(mask: number): number[] {
  const out: number[] = [];
  for (let p = 0; p < 32; p++) if ((mask >>> p) & 1) out.push(p);
  return out;
}

/** See the module comment. */
export class Placement {
  private readonly hash: ConsistentHash | undefined;
  private readonly all: number;

  constructor(private readonly spec: GroupSpec) {
    const n = spec.members.length;
    this.all = n >= 32 ? -1 : (1 << n) - 1;
    this.hash = isHashMode(spec.mode)
      ? new ConsistentHash(
          spec.mode,
          spec.members.map((m) => ({ host: m.host, port: m.port, instance: m.instance })),
        )
      : undefined;
  }

  /** Every member. */
  get allMembers(): number {
    return this.all;
  }

  /** The members (bitmask) that get a message with `key` while the members in `up` (never empty) are up; `chosen` is least-loaded's member. */
  owners(key: Uint8Array, up: number, chosen: number): number {
    switch (this.spec.mode) {
      case 'failover':
        return up & -up;
      case 'least-loaded':
        return 1 << chosen;
      case 'any-of': {
        const hash = fnv1a32(key);
        const first = hash % this.spec.members.length;
        if ((up >>> first) & 1) return 1 << first;
        const ups = positionsOf(up);
        return 1 << ups[hash % ups.length]!;
      }
      default: {
        const { replication, dynamic } = this.spec;
        const moving = dynamic && up !== this.all && positionsOf(up).length >= replication;
        let mask = 0;
        for (const p of this.hash!.place(key, replication, moving ? (i) => ((up >>> i) & 1) === 1 : undefined)) mask |= 1 << p;
        return mask;
      }
    }
  }
}
