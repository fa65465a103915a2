/**
 * Deterministic simulation of destination groups (README "Groups"; the model is ./egress-sim.ts).
 * The real ring, real Destinations built as src/egress/egress.ts create() builds a group's members
 * (`share = new Share(group, position)`), the real Group, and a real SpillStore in a temp directory
 * run against fake sockets and a fake clock (./fake-net.ts). One seed picks a group (failover,
 * any-of, least-loaded, carbon_ch / fnv1a_ch / jump_fnv1a_ch static or dynamic, replication 1 or
 * 2, key first-field or message), spill on or off, and a schedule: bursts of messages with a
 * metric name as first field, peers that read in pieces, stall, refuse or reset (members going
 * down and up), timers, stops and restarts from the same spill directories. Half the seeds route
 * (SIM_ROUTES, through the real RouteTable): some keys are dropped, some sent elsewhere, some to
 * the group; a message the rules do not send to the group has no owner (G3: no member may send
 * it; G5: no member may count it). After every step the
 * invariants below are checked; a failure names its seed and step, and RELAY_GROUP_SIM_SEED=<seed>
 * replays it exactly.
 *
 * Invariants (ids: the simulation's message ids; "given": since the run started):
 *  G1 per member, exactly: ring items given + spilled at start + taken over = sent + dropped (every
 *     reason) + lag (items its cursor has not passed) + window + spill queue + others' items +
 *     handed over;
 *  G2 each connection carries whole frames, payloads intact, ids strictly increasing per
 *     connection (failover) or per key per connection (the other modes; with key `message` every
 *     message is its own key: no duplicate on a connection), among the messages the member did
 *     not take over. Those go out before what it reads next, but not in order with what it sent
 *     before, nor always among themselves: a member that came back takes its keys again while the
 *     one that held them meanwhile has them unconfirmed, and that one then goes down; handed
 *     messages also overtake the taker's spill backlog. RELAY_GROUP_SIM_STRICT_ORDER=1 checks them
 *     in one order with the member's own (about a quarter of the seeds fail it, e.g. seed 6);
 *  G3 a member's peer only receives messages the member owns or was handed (never another
 *     member's share), or that it had on disk from an earlier run;
 *  G4 a member counts sent only what its peer took: inside the callback of its own write, the
 *     write's messages and bytes exactly; sent bytes <= bytes its peers accepted; every id counted
 *     sent was delivered whole to its peer;
 *  G5 at each stop: every message is counted at its owners, exactly: per message, the members
 *     that counted it sent or hold it on disk are at most `replication` (hash groups) or 1 (the
 *     others) plus the members that had it on disk at start, no member counts it twice, and these
 *     counts plus every drop add up to exactly that many per message (nothing counted twice,
 *     nothing lost uncounted). Peers may receive duplicates (a write the connection lost is sent
 *     again, or handed over); the counters may not;
 *  G6 after each burst's service, no member holds more than 7/8 of the ring once the ring refused
 *     an append or its released position stood still for the grace period (./ring-hold.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Opening } from '../../src/egress/attempt.js';
import { Destination } from '../../src/egress/destination.js';
import type { FramingName } from '../../src/framing/index.js';
import { FrameDecoder } from '../../src/framing/index.js';
import { Group } from '../../src/group/group.js';
import { type GroupMode, type GroupSpec, isHashMode } from '../../src/group/group-spec.js';
import { Share } from '../../src/group/share.js';
import { RateLimitedLog } from '../../src/logging.js';
import { allocateCounters, destinationBase, routeBlockBase } from '../../src/metrics/counters.js';
import { RouteCounters } from '../../src/metrics/route-counters.js';
import type { RouteSpec } from '../../src/route/route-spec.js';
import { RouteTable } from '../../src/route/route-table.js';
import { allocateRing, MIN_CAPACITY, viewRing } from '../../src/ring/layout.js';
import { RingReader } from '../../src/ring/ring-reader.js';
import { RingWriter } from '../../src/ring/ring.js';
import type { SpillStore } from '../../src/spill/segment-store.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import type { SimOptions, SimResult } from './egress-sim.js';
import { RingHoldCheck } from './ring-hold.js';
import { FakeClock, FakeSocket, type ConnectionRecord } from './fake-net.js';
import {
  confirmingWrites,
  countedAtOwners,
  GROUPS,
  GroupPeer,
  groupPayloadOf,
  memberOptions,
  RecordingCounters,
  RecordingGroup,
  spillDirectories,
} from './group-sim-checks.js';
import { droppedOf, network, readDestinationsToTheEnd } from './peer.js';

const FRAMINGS: FramingName[] = ['len32le', 'len32be', 'lf', 'octet'];
/** The rules of the seeds that route: keys ending in 0 or 5 dropped, 1 to 3 to the group, the rest elsewhere or nowhere. */
const SIM_ROUTES: RouteSpec = {
  subject: 'message',
  cleanse: false,
  rules: [
    { kind: 'match', match: ['^metric\\.m[0-9]*[05] '], to: [], drop: true, stop: true, where: 'sim 1' },
    { kind: 'match', match: ['^metric\\.m[0-9]*[1-3] '], to: ['sim'], drop: false, stop: true, where: 'sim 2' },
    { kind: 'match', match: ['^metric\\.m[0-9]*[4-7] '], to: ['elsewhere'], drop: false, stop: false, where: 'sim 3' },
  ],
};
/** What SIM_ROUTES sends to the group. */
const ROUTED_HERE = /^metric\.m[0-9]*[1-3] /;
const MAX_MESSAGE_BYTES = MIN_CAPACITY / 4 - 4;

export interface GroupSimResult extends SimResult {
  /** Messages members handed over, all runs. */
  handed: number;
  mode: GroupMode;
}

interface Run {
  writer: RingWriter;
  /** The isolation invariant's record of who holds the ring since when (./ring-hold.ts). */
  ringHold: RingHoldCheck;
  reader: RingReader;
  group: RecordingGroup;
  counters: RecordingCounters[];
  destinations: Destination[];
  stores: (SpillStore | undefined)[];
  /** Per member: message ids on disk at the start of the run. */
  spilledBefore: number[][];
  /** Message ids appended to the ring this run, by ring item id. */
  ids: number[];
  firstConnection: number[];
}

/** Runs one seed; throws an Error naming the seed and step on the first broken invariant. */
export async function simulateGroup(seed: number, options: SimOptions): Promise<GroupSimResult> {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number): boolean => random() < p;
  const kind = pick(GROUPS);
  const drawn = randomInt(random, Math.max(2, kind.replication), 4);
  // One seed in ten runs a group wider than one 32-bit word of members (src/group/members.ts),
  // decided apart from the schedule's draws so the other seeds keep their schedules.
  const size = mulberry32(seed ^ 0x5eed)() < 0.1 ? 33 + (seed % 4) : drawn;
  const spec: GroupSpec = {
    name: 'sim',
    ...kind,
    key: chance(0.8) ? 'first-field' : 'message',
    members: Array.from({ length: size }, (_, i) => ({ host: `10.0.0.${i + 1}`, port: 2003, instance: undefined, text: `tcp@10.0.0.${i + 1}:2003` })),
  };
  const owners = isHashMode(spec.mode) ? spec.replication : 1;
  // Half the seeds route: some keys are dropped, some go elsewhere, some to the group (README "Routing").
  const routes: RouteSpec | undefined = chance(0.5) ? SIM_ROUTES : undefined;
  const routedHere = (payload: Uint8Array): boolean => !routes || ROUTED_HERE.test(Buffer.from(payload).toString('latin1'));
  const spill = chance(0.5);
  const keys = randomInt(random, 1, 40);
  const maxSize = pick([40, 200, 2000, MAX_MESSAGE_BYTES]);
  const highWaterMark = pick([1024, 16 * 1024, 64 * 1024]);
  const spillMaxBytes = pick([64 * 1024, 1024 * 1024]);
  const clock = new FakeClock();
  const peers = spec.members.map(() => new GroupPeer(pick(FRAMINGS), spec.mode === 'failover' ? 'connection' : spec.key));
  const allowed = spec.members.map(() => new Set<number>());
  const taken = peers.map((p) => p.taken);
  const destinationOptions = peers.map((peer, index) => memberOptions(spec, index, peer.framing, pick));
  const log = new RateLimitedLog(
    () => {},
    1000,
    () => clock.nowMs(),
  );
  const dir = spill ? await mkdtemp(path.join(tmpdir(), 'relay-group-sim-')) : undefined;
  let nextId = 0;
  let connectionIds = 0;
  let step = 0;
  let runs = 0;
  let droppedTotal = 0;
  let handedTotal = 0;
  const fail = (message: string): never => {
    throw new Error(
      `group simulation seed ${seed} (${spec.mode}, ${size} members, replication ${spec.replication}${spec.dynamic ? ', dynamic' : ''}${spill ? ', spill' : ''}), step ${step}: ${message} (replay: RELAY_GROUP_SIM_SEED=${seed})`,
    );
  };
  const payloads = new Map<number, Buffer>();

  const { open: openStore, read: readSpill } = spillDirectories(dir, spillMaxBytes, MAX_MESSAGE_BYTES, () => fail('spill corrupt'));

  const startRun = async (): Promise<Run> => {
    runs++;
    const views = viewRing(allocateRing(MIN_CAPACITY, size));
    const slots = new Float64Array(allocateCounters(0, size));
    const reader = new RingReader(views);
    const counters = peers.map((p, d) => new RecordingCounters(slots, destinationBase(0, d), d, p.framing, MAX_MESSAGE_BYTES));
    const spilledBefore: number[][] = [];
    for (let d = 0; d < size; d++) spilledBefore.push(await readSpill(d));
    const ids: number[] = [];
    const group = new RecordingGroup(new Group(spec), allowed, taken, (item) => ({ id: ids[item]!, payload: payloads.get(ids[item]!)! }), routedHere);
    const table = new RouteTable(routes, new RouteCounters(slots, routeBlockBase(slots)), log);
    const run: Run = {
      writer: new RingWriter(views),
      ringHold: new RingHoldCheck(views, clock),
      reader,
      group,
      counters,
      destinations: [],
      stores: [],
      spilledBefore,
      ids,
      firstConnection: peers.map((p) => p.connections.length),
    };
    run.stores = await Promise.all(peers.map((_, d) => openStore(d)));
    run.destinations = destinationOptions.map((options, d) => {
      const peer = peers[d]!;
      const connect = (): Opening => {
        const record: ConnectionRecord = { id: connectionIds++, bytes: [], acceptedBytes: 0, ended: false };
        const socket = new FakeSocket(record, clock, highWaterMark);
        confirmingWrites(socket, d);
        peer.connections.push({ socket, record, decoder: new FrameDecoder(peer.framing, MAX_MESSAGE_BYTES), decodedChunks: 0, lastId: -1 });
        if (peer.mode === 'refusing') socket.refuseConnection();
        else socket.acceptConnection();
        return { socket, upEvent: 'connect', awaitAcceptance: undefined };
      };
      const context = { reader, log, clock, random, transport: () => connect, onWritable: (dest: Destination) => dest.service(reader.loadTail()) };
      const share = new Share(group.group, d);
      const route = table.viewFor(options.route);
      return new Destination(options, { counters: counters[d]!, connect, store: run.stores[d], tail: reader.loadTail(), tailItems: 0, share, route }, context);
    });
    for (const [d, p] of peers.entries()) {
      p.check();
      p.runDelivered = new Set();
      p.allowed = (id) => {
        if (!allowed[d]!.has(id)) throw new Error(`received message ${id}, neither its own nor handed to it (G3)`);
      };
    }
    for (const dest of run.destinations) dest.start();
    return run;
  };

  /** G1, G2, G3, G4 for every member. */
  const checkMembers = (run: Run): void => {
    run.group.fix(Math.max(...run.destinations.map((d) => d.cursorItems)));
    for (let d = 0; d < size; d++) {
      try {
        peers[d]!.check();
      } catch (error) {
        fail(`member ${d}: ${(error as Error).message} (G2)`);
      }
      const c = run.counters[d]!;
      const sent = c.read('sentMessages');
      const lag = run.ids.length - c.read('cursorItems');
      const { windowMessages, spillQueueDelta } = run.destinations[d]!.accounting();
      const queued = run.spilledBefore[d]!.length + spillQueueDelta;
      const given = run.ids.length + run.spilledBefore[d]!.length + c.read('takenOver');
      const [dropped, others, handed] = [droppedOf(c), c.read('othersItems'), c.read('handedOver')];
      if (given !== sent + dropped + lag + windowMessages + queued + others + handed)
        fail(
          `member ${d}: given ${given} != sent ${sent} + dropped ${dropped} + lag ${lag} + window ${windowMessages} + spill queue ${queued} + others ${others} + handed ${handed} (G1)`,
        );
      for (const conn of peers[d]!.connections) if (conn.socket.writesAfterEnd > 0) fail(`member ${d}: a write on connection ${conn.record.id} after it ended`);
      const accepted = peers[d]!.acceptedBytes(run.firstConnection[d]!);
      if (c.read('sentBytes') > accepted) fail(`member ${d}: ${c.read('sentBytes')} bytes counted sent, its peer accepted ${accepted} (G4)`);
      const undelivered = c.sentIds.filter((id) => !peers[d]!.delivered.has(id));
      if (undelivered.length > 0) fail(`member ${d}: counted sent ${undelivered.slice(0, 5).join(' ')} that its peer never received whole (G4)`);
    }
  };

  /** Lets disk I/O finish (the only place the simulation yields to the event loop). */
  const settle = async (run: Run): Promise<void> => {
    for (let round = 0; round < 1000; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (!run.stores.some((s) => s?.busy)) return;
      await Promise.all(run.stores.map((s) => s?.whenIdle()));
    }
    fail('disk I/O never settled');
  };

  const sum = (run: Run, field: 'handedOver' | 'takenOver'): number => run.counters.reduce((n, c) => n + c.read(field), 0);

  /** Stops the run (shutdown path) and checks G5. */
  const stopRun = async (run: Run): Promise<void> => {
    const tail = run.reader.loadTail();
    await Promise.all(run.destinations.map((dest) => dest.finish(tail).closed));
    await settle(run);
    checkMembers(run);
    const counted: number[][] = [];
    for (let d = 0; d < size; d++) counted.push([...run.counters[d]!.sentIds, ...(await readSpill(d))]);
    const drops = run.counters.reduce((n, c) => n + droppedOf(c), 0);
    const broken = countedAtOwners(run.ids, (id) => (routedHere(payloads.get(id)!) ? owners : 0), run.spilledBefore, counted, drops);
    if (broken) fail(`${broken} (G5; handed ${sum(run, 'handedOver')}, took ${sum(run, 'takenOver')})`);
    droppedTotal += drops;
    handedTotal += sum(run, 'handedOver');
  };

  const newPayload = (id: number): Buffer => {
    const payload = groupPayloadOf(id, `metric.m${randomInt(random, 0, keys - 1)}`, chance(0.25) ? randomInt(random, 8, maxSize) : randomInt(random, 8, 60));
    payloads.set(id, payload);
    return payload;
  };

  let run = await startRun();
  try {
    for (step = 0; step < options.steps; step++) {
      const roll = random();
      const peer = pick(peers);
      if (roll < 0.3) {
        const burst = randomInt(random, 1, chance(0.2) ? 200 : 30);
        let refused = false;
        for (let i = 0; i < burst && !refused; i++) {
          refused = !run.writer.append(newPayload(nextId));
          if (!refused) run.ids.push(nextId++);
        }
        run.writer.publish();
        run.group.group.rebalance();
        const tail = run.reader.loadTail();
        for (const dest of run.destinations) dest.service(tail);
        const broken = run.ringHold.check(run.destinations.keys(), tail, refused);
        if (broken) fail(`member ${broken}`);
      } else if (roll < 0.55) network.read(peer, random);
      else if (roll < 0.8) network.fire(peers, random);
      else if (roll < 0.87) clock.advance(randomInt(random, 1, chance(0.2) ? 6000 : 300));
      else if (roll < 0.91) network.changeMode(peer, random);
      else if (roll < 0.94) peer.current?.socket.reset();
      else if (roll < 0.99) await settle(run);
      else if (roll < 0.995) {
        await stopRun(run);
        run = await startRun();
      }
      await Promise.resolve();
      checkMembers(run);
    }
    // The end: every peer reads again; run until every member caught up (bounded), then stop.
    const stuck = await readDestinationsToTheEnd(peers, clock, run.destinations, run.reader, { settle: () => settle(run), check: () => checkMembers(run) });
    if (stuck >= 0) fail(`member ${stuck} never caught up with every peer reading`);
    await stopRun(run);
    const delivered = peers.reduce((n, p) => n + p.delivered.size, 0);
    return { seed, steps: options.steps, messages: nextId, runs, delivered, dropped: droppedTotal, handed: handedTotal, mode: spec.mode };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
