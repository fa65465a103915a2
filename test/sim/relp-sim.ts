/**
 * Deterministic simulation of relp@ destinations (the egress simulation's model, ./egress-sim.ts):
 * the real ring and the real Destination whose connect function is the real relpConnectFn over
 * the fake sockets (./fake-net.ts), its close timeout on the fake clock, against a fake RELP
 * receiver (./relp-peer.ts) that parses every command with the real codec and, by the seed's
 * schedule, answers 200 (late: only when the schedule says so), withholds answers, refuses some
 * messages (500), sends `0 serverclose 0` (alone, or in the segment of its last answers), answers
 * two commands out of order, accepts `open` without offering `syslog`, stops reading, refuses
 * connections, or cuts the connection between a command and its answer. A run ends with every receiver answering until
 * every destination caught up, and a graceful stop (`close`, answered). After every step the
 * invariants below are checked; a failure names its seed and step, and RELAY_RELP_SIM_SEED=<seed>
 * replays it exactly. An answer counts as acknowledged once it reached the client. Half the seeds
 * have a spill directory (overflow goes there, and is replayed); disk I/O completes only when the
 * schedule says "settle". A batch replayed from the spill is confirmed whole (src/egress/destination.ts):
 * after a break it comes again whole, its answered messages included; R3 to R5 allow exactly that.
 *
 * Invariants:
 *  R1 nothing throws;
 *  R2 each connection carries whole RELP frames, each payload intact, ids strictly increasing;
 *  R3 each message acknowledged (200) is counted sent exactly once: sent <= distinct ids
 *     acknowledged <= sent + window, and at the end sent == distinct ids acknowledged (an id is
 *     acknowledged twice only if resent after its answer was lost: it then counts once);
 *  R4 a 500 is counted dropped 'rejected' exactly once per refused message (rejected <= refused,
 *     and (acknowledged - sent) + (refused - rejected) <= window; equal at the end), and that
 *     message never comes again;
 *  R5 what went out unanswered at a break comes again first on the next connection, in order,
 *     before any message that had not gone out; nothing whose answer reached the client comes
 *     again (but a spill batch's, see above); what was owed and skipped was counted dropped
 *     (skipped <= dropped overflow + shutdown + spill full);
 *  R6 given = sent + dropped (every reason, 'rejected' included) + lag + window + spill queue (egress I3);
 *  R7 nothing is written before the session is open (before `open` was answered 200; the TCP
 *     connection up before that), nor after the socket ended;
 *  R8 resent counter >= duplicates the receiver saw, of messages that did not go through the spill
 *     (unconfirmed writes a pinned ring moves to the spill come again by replay, counted replayed,
 *     not resent: those duplicates are only reported, as spill duplicates).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Destination } from '../../src/egress/destination.js';
import { SpillStore } from '../../src/spill/segment-store.js';
import type { Opening } from '../../src/egress/attempt.js';
import { relpConnectFn } from '../../src/relp/client.js';
import type { DestinationOptions } from '../../src/thread-protocol.js';
import { RateLimitedLog } from '../../src/logging.js';
import { DestinationCounters, allocateCounters, destinationBase } from '../../src/metrics/counters.js';
import { allocateRing, viewRing, MIN_CAPACITY } from '../../src/ring/layout.js';
import { RingReader } from '../../src/ring/ring-reader.js';
import { RingWriter } from '../../src/ring/ring.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { FakeClock, type ConnectionRecord } from './fake-net.js';
import { droppedOf, idOf, payloadOf } from './peer.js';
import { RelpFakeSocket, RelpReceiver, type Surprise } from './relp-peer.js';
import type { SimOptions, SimResult } from './egress-sim.js';

const MAX_MESSAGE_BYTES = MIN_CAPACITY / 4 - 4;

/** A seed's counts, with the receivers': connections, messages refused (500), duplicates received. */
export interface RelpSimResult extends SimResult {
  connections: number;
  refused: number;
  duplicates: number;
  spillDuplicates: number;
  resent: number;
  stalls: number;
  servercloses: number;
  cuts: number;
  closesAnswered: number;
}

/** Runs one seed; throws an Error naming the seed and step on the first broken invariant. */
export async function simulateRelp(seed: number, options: SimOptions): Promise<RelpSimResult> {
  const dirs: string[] = [];
  try {
    return await simulateIn(dirs, seed, options);
  } finally {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}

/** simulateRelp, its spill directory (if any) made in `dirs`. */
async function simulateIn(dirs: string[], seed: number, options: SimOptions): Promise<RelpSimResult> {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number): boolean => random() < p;
  let step = 0;
  const fail = (message: string): never => {
    throw new Error(`relp simulation seed ${seed}, step ${step}: ${message} (replay: RELAY_RELP_SIM_SEED=${seed})`);
  };
  const count = randomInt(random, 1, 2);
  const maxSize = pick([16, 200, 2000, MAX_MESSAGE_BYTES]);
  const highWaterMark = pick([1024, 16 * 1024, 64 * 1024]);
  const clock = new FakeClock();
  const dir = chance(0.5) ? await mkdtemp(path.join(tmpdir(), 'relay-relp-sim-')) : undefined;
  if (dir) dirs.push(dir);
  const spillMaxBytes = pick([64 * 1024, 1024 * 1024]);
  /** Per destination: ids appended to its spill (only those may come again after their answer). */
  const spilled = Array.from({ length: 2 }, () => new Set<number>());
  const receivers = Array.from({ length: count }, (_, d) => new RelpReceiver(pick([0, 0, 0.05, 0.3]), fail, (id) => spilled[d]!.has(id)));
  const refuseOpen = pick([0, 0.1]);
  const optionsOf = (index: number): DestinationOptions => ({
    index,
    route: `d${index}`,
    scheme: 'relp',
    host: '127.0.0.1',
    port: 2000 + index,
    tls: undefined,
    text: `relp@127.0.0.1:${2000 + index}`,
    framing: 'len32le',
    maxWriteBytes: pick([1024, 4096, 16 * 1024]),
    connectTimeoutMs: 1000,
    stallTimeoutMs: pick([500, 5000]),
    reconnectMinMs: 10,
    reconnectMaxMs: 1000,
    relpWindow: pick([1, 4, 128]),
  });
  const destinationOptions = receivers.map((_, d) => optionsOf(d));
  const log = new RateLimitedLog(
    () => {},
    1000,
    () => clock.nowMs(),
  );
  const views = viewRing(allocateRing(MIN_CAPACITY, count));
  const reader = new RingReader(views);
  const writer = new RingWriter(views);
  const slots = new Float64Array(allocateCounters(0, count));
  const counters = receivers.map((_, d) => new DestinationCounters(slots, destinationBase(0, d)));
  const openStore = async (d: number): Promise<SpillStore | undefined> => {
    if (!dir) return undefined;
    const options = { maxBytes: spillMaxBytes, segmentBytes: 64 * 1024, maxRecordBytes: MAX_MESSAGE_BYTES, onCorrupt: () => {} };
    const store = await SpillStore.open(path.join(dir, String(d)), options);
    const append = store.append.bind(store);
    store.append = (payloads) => {
      for (const p of payloads) spilled[d]!.add(idOf(Buffer.from(p)));
      return append(payloads);
    };
    return store;
  };
  const stores = [await openStore(0), count > 1 ? await openStore(1) : undefined];
  let connectionIds = 0;
  let given = 0;
  const destinations = destinationOptions.map((options, d) => {
    const receiver = receivers[d]!;
    const tcp = (): Opening => {
      const record: ConnectionRecord = { id: connectionIds++, bytes: [], acceptedBytes: 0, ended: false };
      const socket = new RelpFakeSocket(record, clock, highWaterMark);
      receiver.accept(socket, record, MAX_MESSAGE_BYTES + 64);
      if (receiver.mode === 'refusing') socket.refuseConnection();
      else socket.acceptConnection();
      return { socket, upEvent: 'connect' };
    };
    const connect = relpConnectFn(tcp, { windowSize: options.relpWindow, software: 'sim', maxAnswerBytes: 1024, closeTimeoutMs: 1000, clock });
    const context = { reader, log, clock, random, transport: () => connect, onWritable: (dest: Destination) => dest.service(reader.loadTail()) };
    return new Destination(options, { counters: counters[d]!, connect, store: stores[d], tail: reader.loadTail(), tailItems: 0 }, context);
  });
  for (const dest of destinations) dest.start();

  /** R3..R8 for every destination (R2 and R5's order are checked as commands arrive); `end`: the exact forms. */
  const check = (end = false): void => {
    for (let d = 0; d < count; d++) {
      const c = counters[d]!;
      const r = receivers[d]!;
      const sent = c.read('sentMessages');
      const rejected = c.read('droppedRejected');
      const dropped = droppedOf(c) + rejected;
      const lag = given - c.read('cursorItems');
      const { windowMessages, spillQueueDelta } = destinations[d]!.accounting();
      const where = `destination ${d}`;
      if (given !== sent + dropped + lag + windowMessages + spillQueueDelta)
        fail(`R6 ${where}: given ${given} != sent ${sent} + dropped ${dropped} + lag ${lag} + window ${windowMessages} + spill queue ${spillQueueDelta}`);
      if (sent > r.acked) fail(`R3 ${where}: ${sent} counted sent, ${r.acked} acknowledged`);
      if (rejected > r.refused) fail(`R4 ${where}: ${rejected} counted rejected, ${r.refused} refused`);
      const answeredInWindow = r.acked - sent + (r.refused - rejected);
      if (answeredInWindow > (end ? 0 : windowMessages))
        fail(
          `R3/R4 ${where}: acknowledged ${r.acked} - sent ${sent} + refused ${r.refused} - rejected ${rejected} > window ${windowMessages} (dropped overflow ${c.read('droppedOverflow')})`,
        );
      if (r.skipped > c.read('droppedOverflow') + c.read('droppedShutdown') + c.read('droppedSpillFull'))
        fail(`R5 ${where}: ${r.skipped} owed messages skipped, dropped ${c.read('droppedOverflow')} + ${c.read('droppedShutdown')}`);
      for (const conn of r.connections) {
        const s = conn.socket;
        if (s.writesAfterEnd + s.writesBeforeUp + s.writesBeforeOpen > 0)
          fail(`R7 ${where}: connection ${conn.record.id}: ${s.writesBeforeUp} before up, ${s.writesBeforeOpen} before open, ${s.writesAfterEnd} after end`);
      }
      if (c.read('resentMessages') < r.duplicates) fail(`R8 ${where}: resent ${c.read('resentMessages')} < ${r.duplicates} duplicates received`);
    }
  };

  const ingest = (burst: number): void => {
    for (let i = 0; i < burst; i++) {
      if (!writer.append(payloadOf(given, randomInt(random, 8, maxSize)))) break;
      given++;
    }
    writer.publish();
    for (const dest of destinations) dest.service(reader.loadTail());
  };
  /** Mostly none; now and then what real peers do (./relp-peer.ts, Surprise). */
  const surprise = (): Surprise => (chance(0.85) ? 'none' : pick(['serverclose', 'swap', 'featureless'] as const));
  const fire = (): void => {
    const sockets = receivers.flatMap((r) => r.connections.map((c) => c.socket)).filter((s) => s.pending.length > 0);
    if (sockets.length === 0) return;
    const socket = pick(sockets);
    for (let n = randomInt(random, 1, 4); n > 0 && socket.fireOne(); n--);
  };
  /** Lets disk I/O finish (the only place the simulation yields to the event loop but the stop). */
  const settle = async (): Promise<void> => {
    if (!dir) return;
    for (let round = 0; round < 1000; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (!stores.some((s) => s?.busy)) return;
      await Promise.all(stores.map((s) => s?.whenIdle()));
    }
    fail('disk I/O never settled');
  };
  /** Everyone answers and reads, every event fires, time moves 50 ms. */
  const flush = (): void => {
    for (const r of receivers) {
      r.read(1024 * 1024);
      r.answer(Number.MAX_SAFE_INTEGER, random);
      for (const c of r.connections) while (c.socket.fireOne());
    }
    clock.advance(50);
  };

  for (step = 0; step < options.steps; step++) {
    const roll = random();
    const receiver = pick(receivers);
    if (roll < 0.22) ingest(randomInt(random, 1, chance(0.2) ? 200 : 30));
    else if (roll < 0.4) receiver.read(randomInt(random, 1, chance(0.5) ? 512 : 128 * 1024));
    else if (roll < 0.58) receiver.answer(chance(0.3) ? Number.MAX_SAFE_INTEGER : randomInt(random, 1, 32), random, chance(refuseOpen), surprise());
    else if (roll < 0.78) fire();
    else if (roll < 0.86) clock.advance(randomInt(random, 1, chance(0.2) ? 6000 : 300));
    else if (roll < 0.89) receiver.mode = pick(['answering', 'answering', 'withholding', 'stalled', 'refusing'] as const);
    else if (roll < 0.92) {
      if (receiver.current?.commands.length || chance(0.3)) receiver.reset();
    } else if (roll < 0.93) receiver.serverclose(chance(0.5));
    else if (roll < 0.97) await settle();
    check();
  }
  // The end: every receiver answers (200 or 500) until every destination caught up, then a graceful stop.
  for (const r of receivers) r.mode = 'answering';
  for (let round = 0; round < 5000; round++) {
    const tail = reader.loadTail();
    if (destinations.every((dest) => dest.caughtUp(tail) && dest.isUp)) break;
    flush();
    await settle();
    for (const dest of destinations) dest.service(reader.loadTail());
    check();
  }
  const tail = reader.loadTail();
  const stuck = destinations.findIndex((dest) => !dest.caughtUp(tail));
  if (stuck >= 0) fail(`destination ${stuck} never caught up with its receiver answering`);
  check(true);
  // Some receivers never answer `close` (the session ends at its close timeout, on the fake clock),
  // some send `serverclose` instead (and may hang up).
  const atStop = receivers.map(() => pick(['answer', 'answer', 'withhold', 'serverclose'] as const));
  receivers.forEach((r, d) => {
    r.mode = atStop[d] === 'answer' ? 'answering' : 'withholding';
  });
  let stopped = false;
  const closed = Promise.all(destinations.map((dest) => dest.finish(tail).closed)).then(() => {
    stopped = true;
  });
  receivers.forEach((r, d) => {
    if (atStop[d] !== 'serverclose') return;
    r.read(1024 * 1024);
    r.serverclose(chance(0.5));
  });
  for (let round = 0; round < 100 && !stopped; round++) {
    flush();
    await settle();
  }
  await Promise.race([closed, Promise.resolve()]); // a stop that finished has settled by now
  if (!stopped) fail('the graceful stop never finished');
  for (const r of receivers) if (r.connections.some((c) => !c.record.ended)) fail('a connection still open after the stop');
  check(true);
  const dropped = counters.reduce((n, c) => n + droppedOf(c) + c.read('droppedRejected'), 0);
  const sum = (f: (r: RelpReceiver) => number): number => receivers.reduce((n, r) => n + f(r), 0);
  return {
    ...{ seed, steps: options.steps, messages: given * count, runs: 1, delivered: sum((r) => r.acked), dropped, connections: sum((r) => r.connections.length) },
    ...{
      refused: sum((r) => r.refused),
      duplicates: sum((r) => r.duplicates),
      spillDuplicates: sum((r) => r.spillDuplicates),
      servercloses: sum((r) => r.servercloses),
      cuts: sum((r) => r.cutsWithCommandsUnanswered),
    },
    closesAnswered: sum((r) => r.closesAnswered),
    resent: counters.reduce((n, c) => n + c.read('resentMessages'), 0),
    stalls: counters.reduce((n, c) => n + c.read('stalls'), 0),
  };
}
