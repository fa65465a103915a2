/**
 * The parts of the group simulation (./group-sim.ts): the groups and member settings a seed
 * picks from, and what it checks: messages that carry an id and a key, a peer
 * that decodes each member's connections (G2, G3), counters that record which messages each
 * member counted sent (G4), and the accounting per member (G1) and per message (G5). The
 * invariants are numbered in ./group-sim.ts's header.
 */
import { FrameDecoder, type FramingName } from '../../src/framing/index.js';
import { DestinationCounters } from '../../src/metrics/counters.js';
import type { Group, GroupMember, Handed } from '../../src/group/group.js';
import type { GroupMode, GroupSpec } from '../../src/group/group-spec.js';
import type { DestinationOptions } from '../../src/thread-protocol.js';
import path from 'node:path';
import { SpillStore } from '../../src/spill/segment-store.js';
import type { FakeSocket } from './fake-net.js';
import { Peer } from './peer.js';

/** The groups a seed picks from. */
export const GROUPS: { mode: GroupMode; replication: number; dynamic: boolean }[] = [
  { mode: 'failover', replication: 1, dynamic: false },
  { mode: 'any-of', replication: 1, dynamic: false },
  { mode: 'least-loaded', replication: 1, dynamic: false },
  { mode: 'carbon_ch', replication: 1, dynamic: false },
  { mode: 'carbon_ch', replication: 1, dynamic: true },
  { mode: 'carbon_ch', replication: 2, dynamic: true },
  { mode: 'carbon_ch', replication: 2, dynamic: false },
  { mode: 'fnv1a_ch', replication: 1, dynamic: true },
  { mode: 'jump_fnv1a_ch', replication: 2, dynamic: true },
];

/** Member `index` of `spec` as its egress would run it (settings a seed picks with `pick`). */
export function memberOptions(spec: GroupSpec, index: number, framing: FramingName, pick: <T>(items: readonly T[]) => T): DestinationOptions {
  const { host, text } = spec.members[index]!;
  const [maxWriteBytes, stallTimeoutMs] = [pick([1024, 4096, 4096, 16 * 1024]), pick([500, 5000])];
  const timeouts = { connectTimeoutMs: 1000, stallTimeoutMs, reconnectMinMs: 10, reconnectMaxMs: 1000, relpWindow: 128 };
  return {
    index,
    route: spec.name,
    scheme: 'tcp',
    host,
    port: 2003,
    tls: undefined,
    text: `${text}?framing=${framing}`,
    framing,
    maxWriteBytes,
    ...timeouts,
    member: { group: spec, position: index },
  };
}

/** Message `id` with key `key`: `<key> <id>:` then a letter that depends on the id, at least `size` bytes. */
export function groupPayloadOf(id: number, key: string, size: number): Buffer {
  const head = `${key} ${id}:`;
  const bytes = Buffer.alloc(Math.max(size, head.length), 97 + (id % 26));
  bytes.write(head, 0, 'latin1');
  return bytes;
}

/** The id and key of a payload, after checking every byte is what groupPayloadOf wrote. */
export function parsePayload(payload: Uint8Array): { id: number; key: string } {
  const text = Buffer.from(payload).toString('latin1');
  const space = text.indexOf(' ');
  const colon = text.indexOf(':', space);
  const id = Number(text.slice(space + 1, colon));
  const key = text.slice(0, space);
  if (space < 1 || colon < 0 || !Number.isInteger(id) || !groupPayloadOf(id, key, payload.length).equals(Buffer.from(payload))) {
    throw new Error(`corrupt payload (${payload.length} bytes): ${JSON.stringify(text.slice(0, 40))}`);
  }
  return { id, key };
}

/** The ids of the messages in one write (whole frames in `framing`). */
export function idsOfChunk(framing: FramingName, chunk: Uint8Array, maxMessageBytes: number): number[] {
  return new FrameDecoder(framing, maxMessageBytes).push(chunk).map((p) => parsePayload(p).id);
}

/**
 * The far end of one member (G2): every connection carries whole frames and intact payloads, ids
 * strictly increasing per connection (failover) or per key per connection (the other modes) among
 * the messages it did not take over; and
 * (G3) each message is one the member owns or was handed (`allowed`).
 */
export class GroupPeer extends Peer {
  private readonly lastPerKey = new Map<number, Map<string, number>>();
  /** Throws when member may not send message `id`. */
  allowed: (id: number, payload: Uint8Array) => void = () => {};
  /** Messages the member took over: they go out before what it reads next, not in order with what it sent before. */
  taken = new Set<number>();

  constructor(
    framing: FramingName,
    /** What ids increase along: the connection, the metric name (key first-field), or nothing but the message itself (key message). */
    private readonly orderBy: 'connection' | 'first-field' | 'message',
  ) {
    super(framing, 'connect', false);
  }

  override check(): void {
    for (const c of this.connections) {
      const last = this.lastPerKey.get(c.record.id) ?? new Map<string, number>();
      this.lastPerKey.set(c.record.id, last);
      while (c.decodedChunks < c.record.bytes.length) {
        for (const frame of c.decoder.push(c.record.bytes[c.decodedChunks++]!)) {
          const { id, key } = parsePayload(frame);
          if (!this.delivered.has(id)) this.allowed(id, frame);
          this.delivered.add(id);
          this.runDelivered.add(id);
          // Taken over: not in order (see G2), unless RELAY_GROUP_SIM_STRICT_ORDER asks to check them with the member's own.
          if (this.taken.has(id) && process.env.RELAY_GROUP_SIM_STRICT_ORDER === undefined) continue;
          const order = this.orderBy === 'connection' ? '' : this.orderBy === 'first-field' ? key : frame.toString('latin1');
          const before = last.get(order) ?? -1;
          if (id <= before) throw new Error(`connection ${c.record.id}: message ${id} after ${before}${this.orderBy === 'connection' ? '' : ` (key ${key})`}`);
          last.set(order, id);
        }
      }
    }
  }
}

/** The write whose callback is running (set by the simulation around every socket write callback). */
export const confirming: { member: number; chunk: Uint8Array | undefined } = { member: -1, chunk: undefined };

/** Makes `socket` set `confirming` around every write callback of member `member`. */
export function confirmingWrites(socket: FakeSocket, member: number): void {
  const write = socket.write.bind(socket);
  socket.write = (chunk, callback) =>
    write(chunk, (error) => {
      Object.assign(confirming, { member, chunk });
      try {
        callback(error);
      } finally {
        Object.assign(confirming, { member: -1, chunk: undefined });
      }
    });
}

/** Each member's spill directory under `dir` (none without): opening its store, and the ids a fresh store would replay, in order (reads only). */
export function spillDirectories(dir: string | undefined, maxBytes: number, maxRecordBytes: number, corrupt: () => void) {
  const open = async (d: number): Promise<SpillStore | undefined> =>
    dir === undefined ? undefined : SpillStore.open(path.join(dir, String(d)), { maxBytes, segmentBytes: 64 * 1024, maxRecordBytes, onCorrupt: corrupt });
  const read = async (d: number): Promise<number[]> => {
    const store = await open(d);
    if (!store) return [];
    const out: number[] = [];
    for (let batch = await store.readBatch(64 * 1024); batch; batch = await store.readBatch(64 * 1024))
      out.push(...batch.payloads.map((p) => parsePayload(p).id));
    await store.close();
    return out;
  };
  return { open, read };
}

/** A member's counters that record which messages it counted sent (G4): only ever inside its own write's callback. */
export class RecordingCounters extends DestinationCounters {
  readonly sentIds: number[] = [];

  constructor(
    slots: Float64Array,
    base: number,
    private readonly member: number,
    private readonly framing: FramingName,
    private readonly maxMessageBytes: number,
  ) {
    super(slots, base);
  }

  override sent(messages: number, bytes: number): void {
    const chunk = confirming.chunk;
    if (confirming.member !== this.member || !chunk) throw new Error(`member ${this.member}: counted ${messages} sent outside its own write callback`);
    if (bytes !== chunk.length) throw new Error(`member ${this.member}: counted ${bytes} bytes sent for a write of ${chunk.length}`);
    const ids = idsOfChunk(this.framing, chunk, this.maxMessageBytes);
    if (ids.length !== messages) throw new Error(`member ${this.member}: counted ${messages} sent for a write of ${ids.length}`);
    this.sentIds.push(...ids);
    super.sent(messages, bytes);
  }
}

/**
 * A group that records what each member may send (G3): the items it owns, once a member read
 * them (ownership is fixed then), and what it took over. Ids here are the simulation's message
 * ids; `messageOf` maps a ring item id of this run to its message id and payload.
 */
export class RecordingGroup {
  private fixedUpTo = 0;

  constructor(
    readonly group: Group,
    /** Per member: message ids it may send (kept across runs: a graceful close still delivers). */
    private readonly allowed: Set<number>[],
    /** Per member: message ids it took over. */
    taken: Set<number>[],
    private readonly messageOf: (itemId: number) => { id: number; payload: Uint8Array },
    /** False for a message the rules route elsewhere: no member may send it. */
    private readonly routedHere: (payload: Uint8Array) => boolean = () => true,
  ) {
    const join = group.join.bind(group);
    const leave = group.leave.bind(group);
    const wrappers = new Map<GroupMember, GroupMember>();
    group.join = (position, member) => {
      const wrapper: GroupMember = {
        get cursorItems() {
          return member.cursorItems;
        },
        get unconfirmedBytes() {
          return member.unconfirmedBytes;
        },
        get oldestOwedId() {
          return member.oldestOwedId;
        },
        handOver: (): Handed => member.handOver(),
        takeOver: (payloads, ids) => {
          // A message handed over from a spill directory has no ring item id: its payload says which it is.
          for (const payload of payloads) {
            allowed[position]!.add(parsePayload(payload).id);
            taken[position]!.add(parsePayload(payload).id);
          }
          member.takeOver(payloads, ids);
        },
      };
      wrappers.set(member, wrapper);
      join(position, wrapper);
    };
    group.leave = (position, member) => leave(position, wrappers.get(member) ?? member);
  }

  /** Records the owners of every item below `maxCursor` (some member read it: its owners are fixed). */
  fix(maxCursor: number): void {
    for (; this.fixedUpTo < maxCursor; this.fixedUpTo++) {
      const { id, payload } = this.messageOf(this.fixedUpTo);
      if (!this.routedHere(payload)) continue;
      const owners = this.group.owners(this.fixedUpTo, payload);
      for (const p of owners.positions) this.allowed[p]!.add(id);
    }
  }
}

/**
 * G5 at a stop: `ids` (the run's ring messages) have `owners(id)` owners each (0: routed elsewhere), and each member's
 * `spilledBefore` one more; `counted[d]` is what member d counted sent or holds on disk. Returns
 * what is wrong, or undefined.
 */
export function countedAtOwners(
  ids: readonly number[],
  owners: (id: number) => number,
  spilledBefore: readonly number[][],
  counted: readonly number[][],
  drops: number,
): string | undefined {
  const expected = new Map<number, number>();
  const got = new Map<number, number>();
  const add = (m: Map<number, number>, id: number, n: number): void => {
    m.set(id, (m.get(id) ?? 0) + n);
  };
  for (const id of ids) add(expected, id, owners(id));
  for (const [d, before] of spilledBefore.entries()) {
    for (const id of before) add(expected, id, 1);
    if (new Set(counted[d]).size !== counted[d]!.length) return `member ${d} counted a message twice (sent or on disk)`;
    for (const id of counted[d]!) add(got, id, 1);
  }
  let expectedTotal = 0;
  let countedTotal = 0;
  for (const [id, n] of expected) {
    const g = got.get(id) ?? 0;
    if (g > n) return `message ${id} counted sent or kept ${g} times, it has ${n} owner(s)`;
    expectedTotal += n;
    countedTotal += g;
  }
  for (const id of got.keys()) if (!expected.has(id)) return `message ${id} counted this run, never given to it`;
  if (countedTotal + drops !== expectedTotal)
    return `${expectedTotal} messages owed at their owners, ${countedTotal} counted sent or on disk + ${drops} dropped (${expectedTotal - countedTotal - drops} lost uncounted)`;
  return undefined;
}
