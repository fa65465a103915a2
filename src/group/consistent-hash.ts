/**
 * Placement of a metric name on the members of a consistent-hash cluster, exactly as
 * carbon-c-relay 3.7 places it for `carbon_ch`, `fnv1a_ch` and `jump_fnv1a_ch` clusters (its
 * consistent-hash.c, router.c and conffile.y describe the behaviour; this is our own code).
 *
 * - carbon_ch: 100 ring points per member, each the MD5 position of the Python tuple string
 *   `('HOST', 'INSTANCE'):i` (`('HOST', None):i` without instance); the port is not used, so members
 *   on one host need distinct instances.
 * - fnv1a_ch: 100 ring points per member, each the FNV-1a position of `i-HOST:PORT`, or of
 *   `i-INSTANCE` when the member has an instance (the instance replaces host and port).
 * - Ring order: by position, then host (strcmp), then instance (carbon_ch: members without one
 *   last) or port (fnv1a_ch); on a position shared by several points the first of them owns all.
 *   A key goes to the first point at or after its position (wrapping), and `replication` walks on
 *   along the ring to the next distinct members.
 * - jump_fnv1a_ch: the members are ordered by instance (numerically when both are integers, else
 *   strcmp), members without instance after them in configured order; the jump hash of the key's
 *   64-bit FNV-1a picks a bucket; for each further replica the picked member is replaced by the last
 *   one, the list shrinks by one, and the key is stirred with xorshift64*.
 *
 * Down members (`isUp`): carbon-c-relay 3.7 itself does NOT re-place a metric of a failed member of
 * a `dynamic` cluster: router.c always queues it on the hashed member, and that member's server
 * thread (server.c) later moves batches of its queue to the other non-failed members in a randomly
 * shuffled order. That is not deterministic per metric, so this module uses a deterministic
 * stand-in: a member's preference list is the order in which it would be chosen with every member
 * up (the ring walk; for jump, the sequence of picks continued over all members), and the result is
 * the first `replication` members of that list that are up. With every member up it equals
 * carbon-c-relay exactly; keys of members that are up never move.
 */
import { RelayError } from '../errors.js';
import { carbonPosition, fnv1a64, fnv1aPosition, jumpBucket, type U64, xorshift64Star } from './hash-functions.js';

export type HashMode = 'carbon_ch' | 'fnv1a_ch' | 'jump_fnv1a_ch';
/**
 * A member as carbon-c-relay holds it: `host` as written in the config (not resolved; an IPv6
 * address without its brackets), and `instance` as stored: carbon-c-relay's parser turns an
 * unquoted all-digit instance into an int and back (`=007` is "7"), a quoted one stays as written.
 */
export interface HashMember {
  host: string;
  port: number;
  instance?: string;
}

/** HASH_REPLICAS in consistent-hash.c: ring points per member (carbon_ch, fnv1a_ch). */
const RING_POINTS = 100;
/**
 * Member indices are 16-bit here. carbon-c-relay refuses a hash cluster of more than 64 members
 * (CONN_DESTS_SIZE in router.h); larger ones (a group has at most MAX_GROUP_MEMBERS, checked
 * where groups are read) are placed by the same rules, with no carbon-c-relay to compare with.
 */
const MAX_MEMBERS = 65_535;
/** conffile.y: replication is 1 to 255. */
const MAX_REPLICATION = 255;

function fail(message: string): never {
  throw new RelayError('ERR_CLUSTER', message);
}

/** C's strcmp: byte order of the UTF-8 encodings. */
function strcmp(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The bytes snprintf writes into carbon-c-relay's 256-byte buffer: at most 255. */
function label(text: string): Uint8Array {
  return Buffer.from(text).subarray(0, 255);
}

/** strtol(text, &end, 10) when it consumes the whole string (as a C long, clamped), else undefined. */
function wholeLong(text: string): bigint | undefined {
  if (text === '') return 0n;
  const match = /^[\t\n\v\f\r ]*([+-]?[0-9]+)$/.exec(text);
  if (match === null) return undefined;
  const value = BigInt(match[1]!);
  const max = (1n << 63n) - 1n;
  return value > max ? max : value < -max - 1n ? -max - 1n : value;
}

function describe(member: HashMember): string {
  const host = member.host.includes(':') ? `[${member.host}]` : member.host;
  return `${host}:${member.port}${member.instance === undefined ? '' : `=${member.instance}`}`;
}

/** Builds the ring once for a member list (same order as configured). */
export class ConsistentHash {
  readonly mode: HashMode;
  /** Number of members. */
  readonly size: number;
  /** Ring (carbon_ch, fnv1a_ch): point positions in ascending order, and the member owning each. */
  private readonly positions: Uint16Array;
  private readonly owners: Uint16Array;
  /** jump_fnv1a_ch: member indices in bucket order, and a copy that place() shrinks. */
  private readonly buckets: Uint16Array;
  private readonly scratchBuckets: Uint16Array;
  private readonly key64: U64 = { hi: 0, lo: 0 };
  private readonly scratch64: U64 = { hi: 0, lo: 0 };

  constructor(mode: HashMode, members: readonly HashMember[]) {
    if (mode !== 'carbon_ch' && mode !== 'fnv1a_ch' && mode !== 'jump_fnv1a_ch') fail(`unknown hash cluster type '${String(mode)}'`);
    if (members.length === 0) fail(`a ${mode} cluster needs at least one member`);
    if (members.length > MAX_MEMBERS) fail(`a ${mode} cluster has ${members.length} members; at most ${MAX_MEMBERS}`);
    const seen = new Map<string, HashMember>();
    for (const m of members) {
      if (typeof m.host !== 'string' || m.host === '') fail(`a ${mode} member has an empty host`);
      if (!Number.isInteger(m.port) || m.port < 1 || m.port > 65535) fail(`${mode} member ${describe(m)}: port must be 1 to 65535`);
      if (m.instance !== undefined && (typeof m.instance !== 'string' || m.instance === '')) fail(`${mode} member ${describe(m)}: empty instance`);
      const keys = [`${m.host}\0${m.port}`];
      // carbon_ch hashes host and instance only; fnv1a_ch the instance alone when there is one
      if (mode === 'carbon_ch') keys.push(`c\0${m.host}\0${m.instance ?? ''}\0${m.instance === undefined}`);
      if (mode === 'fnv1a_ch' && m.instance !== undefined) keys.push(`f\0${m.instance}`);
      for (const key of keys) {
        const other = seen.get(key);
        if (other !== undefined) fail(`${mode} members ${describe(other)} and ${describe(m)} hash the same: give them distinct hosts or instances`);
        seen.set(key, m);
      }
    }
    this.mode = mode;
    this.size = members.length;
    if (mode === 'jump_fnv1a_ch') {
      this.buckets = Uint16Array.from(jumpOrder(members));
      this.scratchBuckets = new Uint16Array(members.length);
      this.positions = new Uint16Array(0);
      this.owners = new Uint16Array(0);
    } else {
      const ring = buildRing(mode, members);
      this.positions = ring.positions;
      this.owners = ring.owners;
      this.buckets = new Uint16Array(0);
      this.scratchBuckets = this.buckets;
    }
  }

  /**
   * Indices (into the constructor's member list) of the `replication` distinct members that get `key`,
   * in carbon-c-relay's order. `isUp(i)` false marks a member down: with it given (dynamic), a down member is skipped and the
   * next one in the key's preference list is used instead (see the file comment: carbon-c-relay's own dynamic fail-over is
   * random, this is our deterministic stand-in); without it every member counts as up. When fewer than `replication`
   * members are up, the result is shorter (empty when none is). Returns a fresh array. `isUp` must not call place() on
   * the same instance (place keeps its scratch state in the instance).
   */
  place(key: Uint8Array, replication: number, isUp?: (index: number) => boolean): number[] {
    if (!Number.isInteger(replication) || replication < 1 || replication > this.size || replication > MAX_REPLICATION) {
      fail(`${this.mode} replication ${replication} must be 1 to the number of members (${this.size})`);
    }
    const out: number[] = [];
    if (this.mode === 'jump_fnv1a_ch') {
      const buckets = this.scratchBuckets;
      buckets.set(this.buckets);
      const hash = this.key64;
      fnv1a64(key, hash);
      let count = buckets.length;
      while (count > 0) {
        const j = jumpBucket(hash, count, this.scratch64);
        const member = buckets[j]!;
        if (isUp === undefined || isUp(member)) {
          out.push(member);
          if (out.length === replication) break;
        }
        xorshift64Star(hash);
        buckets[j] = buckets[--count]!;
      }
      return out;
    }
    const positions = this.positions;
    const owners = this.owners;
    const n = positions.length;
    const pos = this.mode === 'carbon_ch' ? carbonPosition(key) : fnv1aPosition(key);
    // first point at or after pos (consistent-hash.c's search finds the same member), wrapping to 0
    let low = 0;
    let high = n;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (positions[mid]! < pos) low = mid + 1;
      else high = mid;
    }
    let t = low === n ? 0 : low;
    let previous = -1;
    for (let steps = 0; steps < n; steps++) {
      const member = owners[t]!;
      if (member !== previous && !out.includes(member) && (isUp === undefined || isUp(member))) {
        out.push(member);
        if (out.length === replication) break;
      }
      previous = member;
      if (++t === n) t = 0;
    }
    return out;
  }
}

/** The ring of a carbon_ch or fnv1a_ch cluster: RING_POINTS points per member, sorted as consistent-hash.c sorts them. */
function buildRing(mode: 'carbon_ch' | 'fnv1a_ch', members: readonly HashMember[]): { positions: Uint16Array; owners: Uint16Array } {
  const points: { pos: number; member: number }[] = [];
  members.forEach((m, member) => {
    for (let i = 0; i < RING_POINTS; i++) {
      const pos =
        mode === 'carbon_ch'
          ? carbonPosition(label(`('${m.host}', ${m.instance === undefined ? 'None' : `'${m.instance}'`}):${i}`))
          : fnv1aPosition(label(m.instance === undefined ? `${i}-${m.host}:${m.port}` : `${i}-${m.instance}`));
      points.push({ pos, member });
    }
  });
  const tie = (a: HashMember, b: HashMember): number => {
    const byHost = strcmp(a.host, b.host);
    if (byHost !== 0 || mode === 'fnv1a_ch') return byHost !== 0 ? byHost : a.port - b.port;
    if (a.instance === undefined || b.instance === undefined) return a.instance === b.instance ? 0 : a.instance === undefined ? 1 : -1;
    return strcmp(a.instance, b.instance);
  };
  points.sort((a, b) => a.pos - b.pos || tie(members[a.member]!, members[b.member]!));
  const positions = new Uint16Array(points.length);
  const owners = new Uint16Array(points.length);
  points.forEach((p, i) => {
    positions[i] = p.pos;
    // a run of equal positions belongs wholly to its first point's member
    owners[i] = i > 0 && positions[i - 1] === p.pos ? owners[i - 1]! : p.member;
  });
  return { positions, owners };
}

/** jump_fnv1a_ch's bucket order (consistent-hash.c's instance comparator); throws when it is not a strict order. */
function jumpOrder(members: readonly HashMember[]): number[] {
  const compare = (l: number, r: number): number => {
    const il = members[l]!.instance;
    const ir = members[r]!.instance;
    if (il === undefined && ir === undefined) return l - r;
    if (il === undefined) return 1;
    if (ir === undefined) return -1;
    const vl = wholeLong(il);
    const vr = vl === undefined ? undefined : wholeLong(ir);
    // C: (int)(val_l - val_r) on longs
    if (vl !== undefined && vr !== undefined) return Number(BigInt.asIntN(32, BigInt.asIntN(64, vl - vr)));
    return strcmp(il, ir);
  };
  const order = members.map((_, i) => i).sort(compare);
  for (let a = 0; a < order.length; a++) {
    for (let b = a + 1; b < order.length; b++) {
      if (!(compare(order[a]!, order[b]!) < 0 && compare(order[b]!, order[a]!) > 0)) {
        fail(
          `jump_fnv1a_ch members ${describe(members[order[a]!]!)} and ${describe(members[order[b]!]!)} have no definite order: give distinct instances, all numeric or all not`,
        );
      }
    }
  }
  return order;
}
