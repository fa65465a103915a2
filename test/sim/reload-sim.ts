/**
 * Deterministic simulation of reload (SIGHUP) in egress, beside ./egress-sim.ts (same fakes, same
 * peers). The real Egress (retiring, adding, spill-directory ownership), the real Destination and
 * SpillStore, the real reload plan and the main thread's real SlotTable run against fake sockets
 * and a fake clock. A seed's schedule mixes the egress simulation's events (bursts, peers that read,
 * stall, refuse, reset or fail TLS, time, disk I/O) with reloads: destinations added, removed and
 * added again (same identity: same peer and spill directory) while up, down, stalled, spilling,
 * replaying or still draining; reload storms (one after another as soon as the last one applied,
 * as the main thread serialises them); and stops, also while destinations are retiring. Two seeds
 * in five run the identities as the members of one static consistent-hash group
 * (./reload-sim-groups.ts): a reload that changes the member list replaces the group whole.
 *
 * The main thread is modelled as Relay applies a reload: plan from the SlotTable, mark the table
 * (removed ones retiring before egress is asked), then Egress.reconfigure; each `retired` report
 * frees its slot in the table. Listeners are not modelled here: their reload (bind failures, the
 * order of closing and binding) is ingest's and is tested through bin/relay.
 *
 * Invariants, after every step (a destination's identity is scheme, host, port and framing; each
 * time it is added is one incarnation with its own slot):
 *  R1 a retiring destination never holds the ring beyond what a running one is held to: after each
 *     pump, a started destination's released position is more than 7/8 of the ring behind the
 *     tail only while the isolation rule's grace runs (docs/ARCHITECTURE.md, "Isolation"): not
 *     after a burst that the ring refused, nor once that position has not moved for the grace
 *     period (as this simulation sees it, after each pump);
 *  R2 at most one spill store owns a directory at any moment, and none was refused;
 *  R3 every slot taken is freed exactly once; the SlotTable agrees with egress (running = running
 *     or starting, retiring = retiring) and with the ring's SLOT_FREE flags;
 *  R4 per identity, over its incarnations: given (each incarnation's range of the ring, plus what
 *     its directory held when the run started, plus what a member took from its predecessor) =
 *     sent + dropped + lag + window + spill queue + other members' items + handed to its successor
 *     (so an added destination must start exactly at the ring's item count of its reload); and
 *     the egress simulation's I2, I4 (nothing counted sent that no peer took) and I7;
 *  R5 at each stop: every message given to an identity (a member: of its share) was delivered, is
 *     on disk, or was counted dropped, and its directory holds exactly its queue, in arrival order;
 *  R6 a member that stays in its changed group, without a spill directory, leaves nothing
 *     undelivered and drops nothing at shutdown when its successor runs: it hands all it held over.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Opening } from '../../src/egress/attempt.js';
import type { Destination } from '../../src/egress/destination.js';
import { Egress } from '../../src/egress/egress.js';
import { planReload } from '../../src/main/reload-plan.js';
import { DEFAULTS, type GroupConfig, type RelayConfig } from '../../src/config/config.js';
import { DESTINATION_ADDRESS, parseEndpoint, type Endpoint } from '../../src/config/address.js';
import { destinationOptionsFor } from '../../src/main/thread-options.js';
import { SlotTable } from '../../src/main/slot-table.js';
import { FrameDecoder, type FramingName } from '../../src/framing/index.js';
import { RateLimitedLog } from '../../src/logging.js';
import { DestinationCounters, allocateCounters, destinationBase } from '../../src/metrics/counters.js';
import { MIN_CAPACITY, allocateRing, viewRing, type RingViews } from '../../src/ring/layout.js';
import { RingReader } from '../../src/ring/ring-reader.js';
import { RingWriter } from '../../src/ring/ring.js';
import type { RetiredReport } from '../../src/thread-protocol.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { FakeClock, FakeSocket, type ConnectionRecord } from './fake-net.js';
import { RingHoldCheck } from './ring-hold.js';
import { Peer, network, droppedOf, payloadOf, readSpillIds, readToTheEnd } from './peer.js';
import { spillDirectoryFor } from '../../src/spill/spill-options.js';
import type { SimOptions, SimResult } from './egress-sim.js';
import { checkHandedToSuccessor, ownerTest, simGroup, simGroupKind } from './reload-sim-groups.js';

const FRAMINGS: FramingName[] = ['len32le', 'len32be', 'lf', 'octet'];
/** Few slots, so they are reused and can run out (a plan is refused then, as the relay refuses it). */
const SLOTS = 6;
const IDENTITIES = 4;
const MAX_MESSAGE_BYTES = MIN_CAPACITY / 4 - 4;

/** One time an identity was added: its slot, its range of the ring, and its numbers once it finished. */
interface Incarnation {
  identity: number;
  slot: number;
  /** The reload that added it (0: the run's start) and the one that removed it. */
  addedBy: number;
  removedBy: number | undefined;
  /** Whether it owns a message: every one, or as a group member its share. */
  owns: (payload: Uint8Array) => boolean;
  /** Ring items published before it started, and (once removed) before it stopped. */
  startItems: number;
  endItems: number | undefined;
  state: 'starting' | 'running' | 'retiring' | 'finished';
  destination: Destination | undefined;
  final: { sent: number; sentBytes: number; dropped: number; spillQueueDelta: number; others: number; handed: number; taken: number } | undefined;
}

interface Run {
  views: RingViews;
  /** R1's record of who holds the ring since when. */
  ringHold: RingHoldCheck;
  writer: RingWriter;
  reader: RingReader;
  counters: Float64Array;
  egress: Egress;
  table: SlotTable;
  config: RelayConfig;
  ids: number[];
  incarnations: Incarnation[];
  spilledBefore: number[];
  spilledBeforeIds: number[][];
  firstConnection: number[];
  reconfiguring: Promise<void> | undefined;
}

/** A group member's counts for R4: other members' items passed, messages handed to its successor, taken from its predecessor. */
function groupCounts(c: DestinationCounters): { others: number; handed: number; taken: number } {
  return { others: c.read('othersItems'), handed: c.read('handedOver'), taken: c.read('takenOver') };
}

/** Runs one seed; throws an Error naming the seed and step on the first broken invariant. */
export async function simulateReload(seed: number, options: SimOptions): Promise<SimResult> {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const chance = (p: number): boolean => random() < p;
  const maxSize = pick([16, 200, 2000]);
  const highWaterMark = pick([1024, 16 * 1024]);
  const spillMaxBytes = pick([64 * 1024, 1024 * 1024]);
  const stallTimeoutMs = pick([500, 5000]);
  const clock = new FakeClock();
  const peers = Array.from({ length: IDENTITIES }, () => {
    const tls = chance(0.3);
    return new Peer(pick(FRAMINGS), tls ? 'secureConnect' : 'connect', tls && chance(0.5));
  });
  // Connects happen inside settle() too (a destination waiting for its predecessor), in the order disk
  // I/O completes: what a connect draws comes from its peer's own generator, so the schedule's does not shift.
  const peerRandom = peers.map((_, k) => mulberry32(seed * 31 + k));
  const addressOf = (k: number): string => `${peers[k]!.upEvent === 'connect' ? 'tcp' : 'tls'}@127.0.0.1:${2000 + k}?framing=${peers[k]!.framing}`;
  const dir = chance(0.6) ? await mkdtemp(path.join(tmpdir(), 'relay-reload-sim-')) : undefined;
  const spill = dir === undefined ? undefined : { dir, maxBytes: spillMaxBytes, segmentBytes: 64 * 1024, maxRecordBytes: MAX_MESSAGE_BYTES };
  const refusedOpens: string[] = [];
  const log = new RateLimitedLog(
    (_level, message) => {
      if (/cannot use spill directory/.test(message)) refusedOpens.push(message);
    },
    0,
    () => clock.nowMs(),
  );
  let nextId = 0;
  let connectionIds = 0;
  let step = 0;
  let runs = 0;
  let reloads = 0;
  let droppedTotal = 0;
  const fail = (message: string): never => {
    throw new Error(`reload simulation seed ${seed}, step ${step}: ${message} (replay: RELAY_RELOAD_SIM_SEED=${seed})`);
  };

  // Two seeds in five run the identities as one static consistent-hash group (./reload-sim-groups.ts).
  const groupKind = simGroupKind(seed);
  const configOf = (identities: number[]): RelayConfig => {
    const endpoints = identities.map((k) => parseEndpoint(addressOf(k), DESTINATION_ADDRESS));
    const group =
      groupKind &&
      simGroup(
        groupKind,
        identities.map((identity, i) => ({ identity, endpoint: endpoints[i]! })),
      );
    return configWith(identities, endpoints, group);
  };
  const configWith = (identities: number[], endpoints: Endpoint[], group: GroupConfig | undefined): RelayConfig => ({
    listeners: [],
    deny: [],
    inputLimits: DEFAULTS.inputLimits,
    unixSocket: DEFAULTS.unixSocket,
    reusePort: DEFAULTS.reusePort,
    groups: group ? [group] : [],
    destinations: identities.map((k, i) => ({
      endpoint: endpoints[i]!,
      tls: peers[k]!.upEvent === 'connect' ? undefined : { ca: undefined, cert: undefined, key: undefined, servername: undefined, fingerprint: '' },
      ...(group && { member: { group, position: i } }),
    })),
    framing: 'len32le',
    ringBytes: MIN_CAPACITY,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    recvBufferBytes: DEFAULTS.recvBufferBytes,
    udpIngest: 'dgram',
    allow: [],
    drainTimeoutMs: pick([0, 100, 1000, 10_000]),
    connectTimeoutMs: 1000,
    stallTimeoutMs,
    reconnectMinMs: 10,
    reconnectMaxMs: 1000,
    relpWindow: 128,
    maxDelayMs: 0,
    spill: spill ? { dir: spill.dir, maxBytes: spill.maxBytes } : undefined,
    reclaimIntervalMs: 1000,
    logIntervalMs: 0,
  });
  const identityOfPort = (port: number): number => port - 2000;

  const connect = (_host: string, port: number): Opening => {
    const peer = peers[identityOfPort(port)]!;
    const record: ConnectionRecord = { id: connectionIds++, bytes: [], acceptedBytes: 0, ended: false };
    const socket = new FakeSocket(record, clock, highWaterMark, peer.upEvent, peer.verdict ? 1000 : undefined);
    peer.connections.push({ socket, record, decoder: new FrameDecoder(peer.framing, MAX_MESSAGE_BYTES), decodedChunks: 0, lastId: -1 });
    if (peer.mode === 'refusing') socket.refuseConnection();
    else if (peer.mode === 'rejecting') socket.rejectHandshake(peerRandom[identityOfPort(port)]!() < 0.5 ? 'during' : 'after');
    else socket.acceptConnection();
    return { socket, upEvent: peer.upEvent, awaitAcceptance: peer.verdict ? (accepted) => socket.whenAccepted(accepted) : undefined };
  };

  const spillPath = (k: number): string => {
    const config = configOf([k]);
    return spillDirectoryFor(dir!, destinationOptionsFor(config, config.destinations[0]!, 0));
  };

  let run: Run;
  let reconfigureError: Error | undefined;
  /** A check that failed inside a `retired` report: it runs in egress's promise chain, which would only log it. */
  let retiredError: Error | undefined;
  const countersOf = (slot: number): DestinationCounters => new DestinationCounters(run.counters, destinationBase(0, slot));

  /** A `retired` report reaches the main thread: R3 (freed exactly once), and the incarnation's final numbers. */
  const onRetired = (report: RetiredReport): void => {
    try {
      checkRetired(report);
    } catch (error) {
      retiredError ??= error as Error;
    }
  };
  const checkRetired = (report: RetiredReport): void => {
    const inc = run.incarnations.find((i) => i.slot === report.index && i.state === 'retiring');
    if (!inc) fail(`slot ${report.index} reported retired, but no destination there was retiring`);
    if (!run.table.retired(report.index)) fail(`the slot table refused the report for slot ${report.index}`);
    const c = countersOf(report.index);
    if (report.sent !== c.read('sentMessages')) fail(`slot ${report.index}: report says sent ${report.sent}, counters ${c.read('sentMessages')}`);
    if (report.handedOver !== c.read('handedOver'))
      fail(`slot ${report.index}: report says handed over ${report.handedOver}, counters ${c.read('handedOver')}`);
    inc!.final = {
      ...groupCounts(c),
      sent: report.sent,
      sentBytes: c.read('sentBytes'),
      dropped: Object.values(report.dropped).reduce((a, n) => a + (n ?? 0), 0),
      spillQueueDelta: inc!.destination!.accounting().spillQueueDelta,
    };
    inc!.state = 'finished';
    if (groupKind && !dir) {
      refresh();
      const successor = run.incarnations.find((i) => i.identity === inc!.identity && i.addedBy === inc!.removedBy);
      const wrong = checkHandedToSuccessor(report, successor?.destination?.canInherit ?? false);
      if (wrong) fail(wrong);
    }
  };

  const startRun = async (identities: number[]): Promise<Run> => {
    runs++;
    const spilledBefore: number[] = [];
    const spilledBeforeIds: number[][] = [];
    for (let k = 0; k < IDENTITIES; k++) {
      const ids = dir === undefined ? { count: 0, ids: [] } : await readSpillIds(spillPath(k), MAX_MESSAGE_BYTES);
      spilledBefore.push(ids.count);
      spilledBeforeIds.push(ids.ids);
    }
    const config = configOf(identities);
    const views = viewRing(allocateRing(MIN_CAPACITY, SLOTS, identities.length));
    const counters = new Float64Array(allocateCounters(0, SLOTS));
    const table = new SlotTable(SLOTS);
    const egress = new Egress(
      views,
      config.destinations.map((d, slot) => destinationOptionsFor(config, d, slot)),
      counters,
      0,
      log,
      spill,
      { transport: () => connect, clock, random, park: false },
    );
    const next: Run = {
      views,
      ringHold: new RingHoldCheck(views, clock),
      writer: new RingWriter(views),
      reader: new RingReader(views),
      counters,
      egress,
      table,
      config,
      ids: [],
      incarnations: identities.map((identity, slot) => ({
        identity,
        slot,
        addedBy: 0,
        removedBy: undefined,
        owns: ownerTest(destinationOptionsFor(config, config.destinations[slot]!, slot)),
        startItems: 0,
        endItems: undefined,
        state: 'starting',
        destination: undefined,
        final: undefined,
      })),
      spilledBefore,
      spilledBeforeIds,
      firstConnection: peers.map((p) => p.connections.length),
      reconfiguring: undefined,
    };
    for (const [slot, d] of config.destinations.entries()) table.addDestination(slot, d);
    for (const p of peers) {
      p.check();
      p.runDelivered = new Set();
      p.runEmptyFrames = 0;
    }
    run = next;
    await egress.start();
    check();
    return next;
  };

  /** Applies a reload as Relay does: plan, then the slot table, then egress. */
  const reload = (identities: number[]): void => {
    refresh();
    const next = configOf(identities);
    let plan: ReturnType<typeof planReload>;
    try {
      plan = planReload(run.config, run.table, next);
    } catch {
      return; // not enough free slots: refused, nothing changed (the relay logs and counts it)
    }
    reloads++;
    const items = run.ids.length;
    run.table.applyDestinations(plan.destinations);
    for (const slot of plan.destinations.remove) {
      const inc = run.incarnations.find((i) => i.slot === slot && i.state === 'running') ?? fail(`slot ${slot} is running in the table but not in egress`);
      inc.state = 'retiring';
      inc.endItems = items;
      inc.removedBy = reloads;
    }
    for (const { slot, destination } of plan.destinations.add) {
      const identity = identityOfPort(destination.endpoint.port);
      const owns = ownerTest(destinationOptionsFor(next, destination, slot));
      run.incarnations.push({
        identity,
        slot,
        addedBy: reloads,
        removedBy: undefined,
        owns,
        startItems: items,
        endItems: undefined,
        state: 'starting',
        destination: undefined,
        final: undefined,
      });
    }
    run.config = next;
    const r = run;
    r.reconfiguring = r.egress
      .reconfigure(
        {
          add: plan.destinations.add.map(({ slot, destination }) => destinationOptionsFor(next, destination, slot)),
          remove: plan.destinations.remove,
          update: plan.destinations.keep.map(({ slot, destination }) => destinationOptionsFor(next, destination, slot)),
          routes: next.routes,
        },
        next.drainTimeoutMs,
        onRetired,
      )
      .then(
        () => {
          r.reconfiguring = undefined;
        },
        (error: Error) => {
          reconfigureError = error;
          r.reconfiguring = undefined;
        },
      );
  };

  /** Picks up the destinations egress started since (R4 then counts from their cursors: a wrong start item shows there). */
  const refresh = (): void => {
    const { running } = run.egress.inspect();
    for (const inc of run.incarnations) {
      if (inc.state !== 'starting' || !running.has(inc.slot)) continue;
      inc.destination = running.get(inc.slot);
      inc.state = 'running';
    }
  };

  /** Checks R2, R3 and R4. */
  const check = (): void => {
    if (reconfigureError) fail(`a reload threw: ${reconfigureError.stack}`);
    if (retiredError) throw retiredError;
    refresh();
    const { running, retiring, dirs } = run.egress.inspect();
    // R2
    if (new Set(dirs).size !== dirs.length) fail(`two stores own one spill directory: ${dirs.join(', ')}`);
    if (refusedOpens.length > 0) fail(`a spill directory was refused: ${refusedOpens[0]}`);
    // R3
    const tableRunning = [...run.table.running().keys()].sort();
    const incRunning = run.incarnations.filter((i) => i.state === 'running' || i.state === 'starting').map((i) => i.slot);
    if (tableRunning.join() !== [...incRunning].sort().join()) fail(`slot table running ${tableRunning} != ${incRunning}`);
    for (const slot of running.keys()) if (!tableRunning.includes(slot)) fail(`egress runs slot ${slot}, the slot table does not`);
    const tableRetiring = [...run.table.retiring()].sort().join();
    if (tableRetiring !== [...retiring.keys()].sort().join()) fail(`slot table retiring ${tableRetiring} != egress ${[...retiring.keys()]}`);
    if (run.table.refusedReports > 0) fail('the slot table refused a retired report');
    for (let slot = 0; slot < SLOTS; slot++) {
      const taken = Atomics.load(run.views.control, run.views.slotFree + slot) === 0;
      const holds = running.has(slot) || (retiring.has(slot) && !retiring.get(slot)!.ringFreed);
      if (holds && !taken) fail(`slot ${slot} is in use but free in the ring`);
      if (taken && !holds && !run.incarnations.some((i) => i.slot === slot && i.state === 'starting')) fail(`slot ${slot} is taken in the ring by nobody`);
    }
    checkAccounting();
  };

  /** R4 (and I2, I4, I7) per identity. */
  const checkAccounting = (): void => {
    for (let k = 0; k < IDENTITIES; k++) {
      const peer = peers[k]!;
      peer.check();
      let given = run.spilledBefore[k]!;
      let accounted = run.spilledBefore[k]!;
      let sent = 0;
      let sentBytes = 0;
      for (const inc of run.incarnations.filter((i) => i.identity === k)) {
        const end = inc.endItems ?? run.ids.length;
        given += end - inc.startItems;
        // A group member: another member's items it passed, what it handed its successor, what its predecessor handed it.
        if (inc.final) {
          sent += inc.final.sent;
          sentBytes += inc.final.sentBytes;
          given += inc.final.taken;
          accounted += inc.final.sent + inc.final.dropped + inc.final.spillQueueDelta + inc.final.others + inc.final.handed;
        } else if (!inc.destination) {
          accounted += end - inc.startItems;
        } else {
          const c = countersOf(inc.slot);
          const { windowMessages, spillQueueDelta } = inc.destination.accounting();
          const { others, handed, taken } = groupCounts(c);
          sent += c.read('sentMessages');
          sentBytes += c.read('sentBytes');
          given += taken;
          accounted += c.read('sentMessages') + droppedOf(c) + (end - c.read('cursorItems')) + windowMessages + spillQueueDelta + others + handed;
        }
      }
      if (given !== accounted) fail(`identity ${k} (${addressOf(k)}): given ${given} != accounted ${accounted}`);
      for (const conn of peer.connections) {
        if (conn.socket.writesAfterEnd > 0) fail(`identity ${k}: write(s) on connection ${conn.record.id} after it was destroyed`);
        if (conn.socket.writesBeforeUp > 0) fail(`identity ${k}: write(s) on connection ${conn.record.id} before it was up`);
      }
      const accepted = peer.acceptedBytes(run.firstConnection[k]!);
      if (sentBytes > accepted) fail(`identity ${k}: ${sentBytes} bytes counted sent, peers accepted ${accepted}`);
      if (sent > peer.runDelivered.size + peer.runEmptyFrames) fail(`identity ${k}: ${sent} counted sent, fewer distinct delivered`);
    }
  };

  /** R1, after a pump; `refused`: the ring refused an append of the burst before it. */
  const checkRingHold = (refused: boolean): void => {
    const { running, retiring } = run.egress.inspect();
    const tail = run.reader.loadTail();
    for (const [who, slots] of [
      ['running', running.keys()],
      ['retiring', retiring.keys()],
    ] as const) {
      const broken = run.ringHold.check(slots, tail, refused);
      if (broken) fail(`${who} ${broken}`);
    }
  };

  /** Lets disk I/O and a pending reconfigure finish. */
  const settle = async (): Promise<void> => {
    for (let round = 0; round < 1000; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      const { running, retiring } = run.egress.inspect();
      const stores = [...running.values(), ...[...retiring.values()].map((r) => r.destination)].map((d) => d.spillStore);
      if (!run.reconfiguring && !stores.some((s) => s?.busy) && ![...retiring.values()].some((r) => r.finishing)) return;
      // A reload waits on real disk I/O only (opening directories, a predecessor's closing): bounded in real time.
      if (run.reconfiguring) await withDeadline(run.reconfiguring, 10_000, () => fail('a reload never applied'));
      await Promise.all(stores.map((s) => s?.whenIdle()));
    }
    const { running, retiring } = run.egress.inspect();
    fail(
      `disk I/O never settled (reload pending: ${run.reconfiguring !== undefined}, running ${[...running.keys()]}, retiring ${[...retiring.values()].map((r) => `${r.destination.index}${r.finishing ? ' finishing' : ''}`)})`,
    );
  };

  /** Stops the run (every destination finishes, retiring ones too) and checks R5. */
  const stopRun = async (): Promise<void> => {
    await run.reconfiguring; // the main thread runs a stop after the reload before it
    check();
    const stopping = run.egress.stop();
    await settle();
    const report = await stopping;
    await settle();
    for (const inc of run.incarnations) {
      if (inc.state === 'retiring') fail(`slot ${inc.slot} was retiring at the stop and never reported retired`);
      if (inc.state !== 'running') continue;
      const c = countersOf(inc.slot);
      inc.final = {
        ...groupCounts(c),
        sent: c.read('sentMessages'),
        sentBytes: c.read('sentBytes'),
        dropped: droppedOf(c),
        spillQueueDelta: inc.destination!.accounting().spillQueueDelta,
      };
      inc.state = 'finished';
      inc.endItems = run.ids.length;
      if (!report.undelivered.some((u) => u.index === inc.slot)) fail(`slot ${inc.slot} missing from the stop report`);
    }
    checkAccounting();
    for (let k = 0; k < IDENTITIES; k++) {
      const incs = run.incarnations.filter((i) => i.identity === k);
      const onDisk = dir === undefined ? { count: 0, ids: [] } : await readSpillIds(spillPath(k), MAX_MESSAGE_BYTES);
      const queued = run.spilledBefore[k]! + incs.reduce((a, i) => a + i.final!.spillQueueDelta, 0);
      if (onDisk.count !== queued) fail(`identity ${k}: the spill holds ${onDisk.count} messages, its destinations queued ${queued}`);
      for (let i = 1; i < onDisk.ids.length; i++)
        if (onDisk.ids[i]! <= onDisk.ids[i - 1]!) fail(`identity ${k}: spill order ${onDisk.ids[i - 1]} then ${onDisk.ids[i]}`);
      const kept = new Set(onDisk.ids);
      const dropped = incs.reduce((a, i) => a + i.final!.dropped, 0);
      droppedTotal += dropped;
      const owned = (i: Incarnation): number[] => run.ids.slice(i.startItems, i.endItems).filter((id) => i.owns(payloadOf(id, sizes.get(id)!)));
      const given = [...run.spilledBeforeIds[k]!, ...incs.flatMap(owned)].filter((id) => sizes.get(id)! > 0);
      const missing = given.filter((id) => !peers[k]!.delivered.has(id) && !kept.has(id));
      if (missing.length > dropped)
        fail(`identity ${k}: ${missing.length} messages neither delivered, spilled nor counted (dropped ${dropped}), e.g. ${missing.slice(0, 5)}`);
    }
  };

  const sizes = new Map<number, number>();
  const newPayload = (id: number): Buffer => {
    const payload = payloadOf(id, chance(0.05) ? 0 : randomInt(random, 8, maxSize));
    sizes.set(id, payload.length);
    return payload;
  };
  const current = (): number[] => [...new Set(run.incarnations.filter((i) => i.state === 'running' || i.state === 'starting').map((i) => i.identity))];
  const someIdentities = (): number[] => {
    const now = current();
    if (chance(0.6)) {
      // Toggle one: remove it, or add it (again).
      const k = randomInt(random, 0, IDENTITIES - 1);
      const next = now.includes(k) ? now.filter((x) => x !== k) : [...now, k];
      return next.length > 0 ? next : [k];
    }
    const next = peers.map((_, k) => k).filter(() => chance(0.5));
    return next.length > 0 ? next : [randomInt(random, 0, IDENTITIES - 1)];
  };

  run = await startRun(peers.map((_, k) => k).filter((k) => k === 0 || chance(0.5)));
  try {
    for (step = 0; step < options.steps; step++) {
      const roll = random();
      const peer = pick(peers);
      if (roll < 0.28) {
        const burst = randomInt(random, 1, chance(0.2) ? 200 : 30);
        let refused = false;
        for (let i = 0; i < burst && !refused; i++) {
          refused = !run.writer.append(newPayload(nextId));
          if (!refused) run.ids.push(nextId++);
        }
        run.writer.publish();
        run.egress.pump();
        checkRingHold(refused);
      } else if (roll < 0.5) {
        network.read(peer, random);
      } else if (roll < 0.72) {
        network.fire(peers, random);
      } else if (roll < 0.8) {
        clock.advance(randomInt(random, 1, chance(0.2) ? 6000 : 300));
      } else if (roll < 0.83) {
        network.changeMode(peer, random);
      } else if (roll < 0.845) {
        peer.current?.socket.reset();
      } else if (roll < 0.9) {
        await settle();
      } else if (roll < 0.995) {
        // A reload, or a storm of them: each as soon as the one before applied.
        for (let n = chance(0.15) ? randomInt(random, 2, 6) : 1; n > 0; n--) {
          if (run.reconfiguring) await settle();
          reload(someIdentities());
        }
      } else {
        await stopRun();
        run = await startRun(current());
      }
      await Promise.resolve();
      check();
    }
    // The end: every peer reads again; run until every destination caught up and retirees finished, then stop.
    await readToTheEnd(peers, clock, {
      done: () => {
        const tail = run.reader.loadTail();
        const { running, retiring } = run.egress.inspect();
        return !run.reconfiguring && retiring.size === 0 && [...running.values()].every((d) => d.caughtUp(tail) && d.isUp);
      },
      settle,
      serve: () => run.egress.pump(),
      check,
    });
    const { running } = run.egress.inspect();
    const tail = run.reader.loadTail();
    const stuck = [...running.values()].find((d) => !d.caughtUp(tail));
    if (stuck) fail(`slot ${stuck.index} never caught up with every peer reading`);
    await stopRun();
    return { seed, steps: options.steps, messages: nextId, runs, delivered: peers.reduce((n, p) => n + p.delivered.size, 0), dropped: droppedTotal, reloads };
  } finally {
    // After a failure, disk I/O may still be under way: a leftover temp directory must not hide the failure.
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** `promise`, or `onLate()` if it has not settled after `ms` of real time. */
async function withDeadline<T>(promise: Promise<T>, ms: number, onLate: () => never): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      try {
        onLate();
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
