/**
 * Deterministic simulation of egress (the model: FoundationDB's simulation, TigerBeetle's VOPR).
 * The real ring (RingWriter/RingReader), the real Destination with its connection, window, lag
 * policy and replay, and a real SpillStore in a temp directory run against fake sockets and a
 * fake clock (./fake-net.ts). One seed drives a random schedule: bursts of messages of every size
 * (empty and exact-lap-end ones included) that fill the ring, peers that read in pieces, stall,
 * refuse, reset or fail the TLS handshake, timers, spill on and off, stop and restart from the same spill directory.
 * After every step the invariants below are checked; a failure names its seed and step, and
 * RELAY_SIM_SEED=<seed> replays it exactly.
 *
 * Disk I/O completes only when the schedule says "settle" (the simulation yields to the event
 * loop nowhere else), so a seed replays the same interleaving every time.
 *
 * Invariants:
 *  I1 nothing throws (a view past the end of the ring throws RangeError);
 *  I2 each connection carries whole frames, each payload intact (a ring view reused too early
 *     shows as wrong bytes), ids strictly increasing: arrival order, no duplicate in one connection;
 *  I3 per destination, exactly: received + spilled earlier = sent + dropped + lag + window + spill queue;
 *  I4 nothing counted sent that no peer took: sent bytes <= bytes the peers accepted, and sent
 *     messages <= distinct messages delivered;
 *  I5 at each stop: every message the run was given is delivered, queued on disk, or counted dropped;
 *  I6 at each stop: the spill directory holds exactly the queued messages, in arrival order;
 *  I7 nothing is written on a connection before it is up (for TLS: before 'secureConnect'), and
 *     a TCP destination never counts a TLS failure;
 *  I8 after each burst's service, no destination holds more than 7/8 of the ring once the ring
 *     refused an append or its released position stood still for the grace period (./ring-hold.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Destination } from '../../src/egress/destination.js';
import type { DestinationOptions } from '../../src/thread-protocol.js';
import { FrameDecoder, type FramingName } from '../../src/framing/index.js';
import { Peer, network, droppedOf, idOf, payloadOf, readDestinationsToTheEnd } from './peer.js';
import { RateLimitedLog } from '../../src/logging.js';
import { DestinationCounters, allocateCounters, destinationBase } from '../../src/metrics/counters.js';
import { allocateRing, viewRing, MIN_CAPACITY } from '../../src/ring/layout.js';
import { RingReader } from '../../src/ring/ring-reader.js';
import { RingWriter } from '../../src/ring/ring.js';
import { SpillStore } from '../../src/spill/segment-store.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { RingHoldCheck } from './ring-hold.js';
import { FakeClock, FakeSocket, type ConnectionRecord } from './fake-net.js';
import type { Opening } from '../../src/egress/attempt.js';

const FRAMINGS: FramingName[] = ['len32le', 'len32be', 'lf', 'octet'];
/** Payload sizes whose item (+4 header bytes) divides the 64 KiB ring: each lap ends exactly there. */
const LAP_END_SIZES = [60, 124, 252, 508, 1020, 2044, 4092];
const MAX_MESSAGE_BYTES = MIN_CAPACITY / 4 - 4;

interface Run {
  writer: RingWriter;
  /** The isolation invariant's record of who holds the ring since when (./ring-hold.ts). */
  ringHold: RingHoldCheck;
  reader: RingReader;
  counters: DestinationCounters[];
  destinations: Destination[];
  stores: (SpillStore | undefined)[];
  /** Per destination: messages on disk at the start of the run, and their ids. */
  spilledBefore: number[];
  spilledBeforeIds: number[][];
  /** Ids appended to the ring this run. */
  ids: number[];
  /** Index of each peer's first connection of this run. */
  firstConnection: number[];
}

export interface SimOptions {
  steps: number;
}

export interface SimResult {
  seed: number;
  steps: number;
  messages: number;
  runs: number;
  delivered: number;
  dropped: number;
  /** Reloads applied (the reload simulation). */
  reloads?: number;
}

/** Runs one seed; throws an Error naming the seed and step on the first broken invariant. */
export async function simulate(seed: number, options: SimOptions): Promise<SimResult> {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number): boolean => random() < p;
  const destinationCount = randomInt(random, 1, 2);
  const spill = chance(0.5);
  const maxSize = pick([16, 200, 2000, MAX_MESSAGE_BYTES]);
  // A fifth of the seeds send one lap-end size only: then every lap ends exactly at the buffer's end.
  const uniformSize = chance(0.2) ? pick(LAP_END_SIZES.slice(0, 5)) : undefined;
  const highWaterMark = pick([1024, 16 * 1024, 64 * 1024]);
  const spillMaxBytes = pick([64 * 1024, 1024 * 1024]);
  const clock = new FakeClock();
  // Half the destinations are TLS: up on 'secureConnect', after a handshake that can fail.
  const peers = Array.from({ length: destinationCount }, () => {
    const tls = chance(0.5);
    return new Peer(pick(FRAMINGS), tls ? 'secureConnect' : 'connect', tls && chance(0.5));
  });
  const destinationOptions: DestinationOptions[] = peers.map((peer, index) => ({
    index,
    route: `d${index}`,
    scheme: peer.upEvent === 'connect' ? 'tcp' : 'tls',
    host: '127.0.0.1',
    port: 2000 + index,
    tls: peer.upEvent === 'connect' ? undefined : { ca: undefined, cert: undefined, key: undefined, servername: undefined, fingerprint: '' },
    text: `${peer.upEvent === 'connect' ? 'tcp' : 'tls'}@127.0.0.1:${2000 + index}?framing=${peer.framing}`,
    framing: peer.framing,
    // The relay uses ring/16 (4 KiB here); smaller and larger ones shift where runs end.
    maxWriteBytes: pick([1024, 4096, 4096, 16 * 1024]),
    connectTimeoutMs: 1000,
    stallTimeoutMs: pick([500, 5000]),
    reconnectMinMs: 10,
    reconnectMaxMs: 1000,
    relpWindow: 128,
  }));
  const log = new RateLimitedLog(
    () => {},
    1000,
    () => clock.nowMs(),
  );
  const dir = spill ? await mkdtemp(path.join(tmpdir(), 'relay-sim-')) : undefined;
  let nextId = 0;
  let connectionIds = 0;
  let step = 0;
  let runs = 0;
  let droppedTotal = 0;
  const fail = (message: string): never => {
    throw new Error(`simulation seed ${seed}, step ${step}: ${message} (replay: RELAY_SIM_SEED=${seed})`);
  };

  const openStore = async (d: number, run: { counters: DestinationCounters[] } | undefined): Promise<SpillStore | undefined> =>
    dir === undefined
      ? undefined
      : SpillStore.open(path.join(dir, String(d)), {
          maxBytes: spillMaxBytes,
          segmentBytes: 64 * 1024,
          maxRecordBytes: MAX_MESSAGE_BYTES,
          onCorrupt: (_segment, bytes) => {
            if (run) run.counters[d]!.spillCorrupt(bytes);
          },
        });

  /** I6's reading: the records a fresh store would replay, in order (reads only, confirms nothing). */
  const readSpill = async (d: number): Promise<Buffer[]> => {
    const store = await openStore(d, undefined);
    if (!store) return [];
    const out: Buffer[] = [];
    for (let batch = await store.readBatch(64 * 1024); batch; batch = await store.readBatch(64 * 1024)) out.push(...batch.payloads);
    await store.close();
    return out;
  };

  const startRun = async (): Promise<Run> => {
    runs++;
    const views = viewRing(allocateRing(MIN_CAPACITY, destinationCount));
    const slots = new Float64Array(allocateCounters(0, destinationCount));
    const reader = new RingReader(views);
    const counters = peers.map((_, d) => new DestinationCounters(slots, destinationBase(0, d)));
    const spilledBeforeIds: number[][] = [];
    const spilledBefore: number[] = [];
    for (let d = 0; d < destinationCount; d++) {
      const records = await readSpill(d);
      spilledBefore.push(records.length);
      spilledBeforeIds.push(records.filter((r) => r.length > 0).map(idOf));
    }
    const run: Run = {
      writer: new RingWriter(views),
      ringHold: new RingHoldCheck(views, clock),
      reader,
      counters,
      destinations: [],
      stores: [],
      spilledBefore,
      spilledBeforeIds,
      ids: [],
      firstConnection: peers.map((p) => p.connections.length),
    };
    run.stores = await Promise.all(peers.map((_, d) => openStore(d, run)));
    run.destinations = destinationOptions.map((options, d) => {
      const peer = peers[d]!;
      const connect = (): Opening => {
        const record: ConnectionRecord = { id: connectionIds++, bytes: [], acceptedBytes: 0, ended: false };
        const socket = new FakeSocket(record, clock, highWaterMark, peer.upEvent, peer.verdict ? options.connectTimeoutMs : undefined);
        peer.connections.push({ socket, record, decoder: new FrameDecoder(peer.framing, MAX_MESSAGE_BYTES), decodedChunks: 0, lastId: -1 });
        if (peer.mode === 'refusing') socket.refuseConnection();
        else if (peer.mode === 'rejecting') socket.rejectHandshake(chance(0.5) ? 'during' : 'after');
        else socket.acceptConnection();
        return { socket, upEvent: peer.upEvent, awaitAcceptance: peer.verdict ? (accepted) => socket.whenAccepted(accepted) : undefined };
      };
      const context = { reader, log, clock, random, transport: () => connect, onWritable: (dest: Destination) => dest.service(reader.loadTail()) };
      return new Destination(options, { counters: counters[d]!, connect, store: run.stores[d], tail: reader.loadTail(), tailItems: 0 }, context);
    });
    for (const p of peers) {
      p.check();
      p.runDelivered = new Set();
      p.runEmptyFrames = 0;
    }
    for (const dest of run.destinations) dest.start();
    return run;
  };

  /** I3 and I4 for every destination. */
  const checkAccounting = (run: Run): void => {
    for (let d = 0; d < destinationCount; d++) {
      peers[d]!.check();
      const c = run.counters[d]!;
      const sent = c.read('sentMessages');
      const dropped = droppedOf(c);
      const lag = run.ids.length - c.read('cursorItems');
      const { windowMessages, spillQueueDelta } = run.destinations[d]!.accounting();
      const queued = run.spilledBefore[d]! + spillQueueDelta;
      const given = run.ids.length + run.spilledBefore[d]!;
      if (given !== sent + dropped + lag + windowMessages + queued) {
        fail(`destination ${d}: given ${given} != sent ${sent} + dropped ${dropped} + lag ${lag} + window ${windowMessages} + spill queue ${queued}`);
      }
      for (const conn of peers[d]!.connections) {
        if (conn.socket.writesAfterEnd > 0)
          fail(`destination ${d}: ${conn.socket.writesAfterEnd} write(s) on connection ${conn.record.id} after it was destroyed`);
        if (conn.socket.writesBeforeUp > 0)
          fail(`destination ${d}: ${conn.socket.writesBeforeUp} write(s) on connection ${conn.record.id} before it was up (${peers[d]!.upEvent})`);
      }
      if (peers[d]!.upEvent === 'connect' && c.read('tlsFailures') > 0)
        fail(`destination ${d}: a TCP destination counted ${c.read('tlsFailures')} TLS failure(s)`);
      const accepted = peers[d]!.acceptedBytes(run.firstConnection[d]!);
      if (c.read('sentBytes') > accepted) fail(`destination ${d}: ${c.read('sentBytes')} bytes counted sent, peers accepted ${accepted}`);
      const distinct = peers[d]!.runDelivered.size + peers[d]!.runEmptyFrames;
      if (sent > distinct) fail(`destination ${d}: ${sent} messages counted sent, ${distinct} distinct delivered this run`);
    }
  };

  /** Stops the run (shutdown path) and checks I5 and I6. */
  const stopRun = async (run: Run): Promise<void> => {
    const tail = run.reader.loadTail();
    await Promise.all(run.destinations.map((dest) => dest.finish(tail).closed));
    await settle(run);
    checkAccounting(run);
    for (let d = 0; d < destinationCount; d++) {
      const onDisk = await readSpill(d);
      const { spillQueueDelta } = run.destinations[d]!.accounting();
      if (onDisk.length !== run.spilledBefore[d]! + spillQueueDelta) {
        fail(`destination ${d}: the spill holds ${onDisk.length} messages, the destination queued ${run.spilledBefore[d]! + spillQueueDelta}`);
      }
      const diskIds = onDisk.filter((p) => p.length > 0).map(idOf);
      for (let i = 1; i < diskIds.length; i++) if (diskIds[i]! <= diskIds[i - 1]!) fail(`destination ${d}: spill order ${diskIds[i - 1]} then ${diskIds[i]}`);
      const kept = new Set(diskIds);
      const c = run.counters[d]!;
      const dropped = droppedOf(c);
      droppedTotal += dropped;
      const given = [...run.spilledBeforeIds[d]!, ...run.ids.filter((id) => payloadSize(id) > 0)];
      const missing = given.filter((id) => !peers[d]!.delivered.has(id) && !kept.has(id));
      if (missing.length > dropped)
        fail(`destination ${d}: ${missing.length} messages neither delivered, spilled nor counted (dropped ${dropped}), e.g. ${missing.slice(0, 5).join(' ')}`);
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

  const sizes = new Map<number, number>();
  const payloadSize = (id: number): number => sizes.get(id) ?? -1;
  const newPayload = (id: number): Buffer => {
    const size = uniformSize ?? (chance(0.05) ? 0 : chance(0.25) ? pick(LAP_END_SIZES) : randomInt(random, 8, maxSize));
    const payload = payloadOf(id, size);
    sizes.set(id, payload.length);
    return payload;
  };

  let run = await startRun();
  try {
    for (step = 0; step < options.steps; step++) {
      const roll = random();
      const d = randomInt(random, 0, destinationCount - 1);
      const peer = peers[d]!;
      if (roll < 0.3) {
        // Ingest: a burst, then one publish (as ingest does once per event-loop turn).
        const burst = randomInt(random, 1, chance(0.2) ? 200 : 30);
        let refused = false;
        for (let i = 0; i < burst && !refused; i++) {
          refused = !run.writer.append(newPayload(nextId));
          if (!refused) run.ids.push(nextId++);
        }
        run.writer.publish();
        const tail = run.reader.loadTail();
        for (const dest of run.destinations) dest.service(tail);
        const broken = run.ringHold.check(run.destinations.keys(), tail, refused);
        if (broken) fail(`destination ${broken}`);
      } else if (roll < 0.55) {
        network.read(peer, random);
      } else if (roll < 0.8) {
        network.fire(peers, random);
      } else if (roll < 0.88) {
        clock.advance(randomInt(random, 1, chance(0.2) ? 6000 : 300));
      } else if (roll < 0.91) {
        network.changeMode(peer, random);
      } else if (roll < 0.925) {
        peer.current?.socket.reset();
      } else if (roll < 0.99) {
        await settle(run);
      } else if (roll < 0.993) {
        await stopRun(run);
        run = await startRun();
      }
      await Promise.resolve();
      checkAccounting(run);
    }
    // The end: every peer reads again; run until every destination caught up (bounded), then stop.
    const stuck = await readDestinationsToTheEnd(peers, clock, run.destinations, run.reader, { settle: () => settle(run), check: () => checkAccounting(run) });
    if (stuck >= 0) fail(`destination ${stuck} never caught up with every peer reading`);
    await stopRun(run);
    return { seed, steps: options.steps, messages: nextId, runs, delivered: peers.reduce((n, p) => n + p.delivered.size, 0), dropped: droppedTotal };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `seeds` (through `one`: this simulation, or another) with up to `concurrency` in flight (each seed waits on its own disk I/O only, so
 * running several at once fills that wait without changing any seed's schedule).
 */
export async function simulateMany(
  seeds: readonly number[],
  options: SimOptions,
  concurrency = 8,
  one: (seed: number, options: SimOptions) => Promise<SimResult> = simulate,
): Promise<SimResult[]> {
  const results: SimResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < seeds.length) results.push(await one(seeds[next++]!, options));
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, seeds.length) }, worker));
  return results;
}
