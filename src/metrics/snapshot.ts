/**
 * Taking a snapshot (main thread): the shared counters, the ring's positions and what /proc says
 * about threads and kernel drops, turned into the plain Snapshot every renderer reads.
 */
import { TAIL, TAIL_ID, distance, type RingViews } from '../ring/layout.js';
import { usedBytes } from '../ring/positions.js';
import {
  CONNECTION_CLOSE_FIELD,
  DESTINATION_DROP_FIELD,
  DestinationField,
  INGEST_DROP_FIELD,
  ListenerField,
  destinationBase,
  listenerBase,
  routeBlockBase,
} from './counters.js';
import { readRouteCounters } from './route-counters.js';
import { ownUdpSocketDrops } from './kernel-drops.js';
import { threadCpuSeconds } from './thread-cpu.js';
import type { DestinationSnapshot, RoutesSnapshot, Snapshot } from './snapshot-types.js';

/** What the snapshot needs to know about the running relay. */
export interface SnapshotInputs {
  views: RingViews;
  counters: SharedArrayBuffer;
  /** Counter blocks of listeners: destination blocks follow them. */
  listenerSlots: number;
  /** Bound listeners (udp@127.0.0.1:2008) with their slots (counter blocks), and whether each shares its port (--reuse-port). */
  listeners: { index: number; name: string; reusePort?: boolean }[];
  /** Destinations with their slots. */
  destinations: { index: number; name: string; group?: string }[];
  /** Relay threads with their kernel thread ids (main included). */
  threads: { name: string; tid: number }[];
  startedMs: number;
  ingestRunning: () => boolean;
  reloads: { ok: number; failed: number };
  udpIngest: 'native' | 'dgram';
  /** The routing rules in force (where each was written), or undefined without any. */
  routes: string[] | undefined;
}

const U32 = 2 ** 32;

/** Reads everything now and returns it as plain data. */
export async function takeSnapshot(inputs: SnapshotInputs): Promise<Snapshot> {
  const { views, listeners, destinations } = inputs;
  const slots = new Float64Array(inputs.counters);
  const at = (slot: number): number => slots[slot] ?? 0;
  /** Each reason's count, read through the table the writers use (one mapping of reason to field). */
  const byReason = <R extends string>(fields: Record<R, number>, base: number): Record<R, number> =>
    Object.fromEntries(Object.entries<number>(fields).map(([reason, field]) => [reason, at(base + field)])) as Record<R, number>;
  const udpDrops = await ownUdpSocketDrops();
  // Cursors first, then the tail: a cursor read after the tail could already be past it.
  const cursors = destinations.map(({ index }) => {
    const b = destinationBase(inputs.listenerSlots, index);
    return { items: at(b + DestinationField.cursorItems), position: at(b + DestinationField.cursorPosition) };
  });
  const tail = Atomics.load(views.control, TAIL) >>> 0;
  const tailId = Atomics.load(views.control, TAIL_ID) >>> 0;
  // Counters are plain reads (no ordering promise against the tail's atomic load): a lag that
  // comes out "negative" (wrapped) or past the ring's size is a read race, and means ~0.
  const lagMessages = (items: number): number => {
    const lag = (tailId - (items % U32) + U32) % U32;
    return lag > U32 / 2 ? 0 : lag;
  };
  const lagBytes = (position: number): number => {
    const lag = distance(tail, position);
    return lag > views.capacity ? 0 : lag;
  };
  const cpu = process.cpuUsage();
  return {
    timeMs: Date.now(),
    startedMs: inputs.startedMs,
    ingestRunning: inputs.ingestRunning(),
    udpIngest: inputs.udpIngest,
    ring: { capacityBytes: views.capacity, usedBytes: usedBytes(views) },
    reloads: { ...inputs.reloads },
    listeners: listeners.map(({ index, name, reusePort = false }) => {
      const b = listenerBase(index);
      const port = name.startsWith('udp@') ? Number(name.slice(name.lastIndexOf(':') + 1)) : undefined;
      return {
        name,
        reusePort,
        receivedMessages: at(b + ListenerField.receivedMessages),
        receivedBytes: at(b + ListenerField.receivedBytes),
        kernelDroppedMessages: udpDrops.filter((s) => s.port === port).reduce((sum, s) => sum + s.drops, 0),
        droppedMessages: byReason(INGEST_DROP_FIELD, b),
        connectionsAccepted: at(b + ListenerField.connectionsAccepted),
        closedConnections: byReason(CONNECTION_CLOSE_FIELD, b),
      };
    }),
    destinations: destinations.map(({ index, name, group }, d) => {
      const b = destinationBase(inputs.listenerSlots, index);
      const since = at(b + DestinationField.sinceMs);
      const lag = { messages: lagMessages(cursors[d]!.items), bytes: lagBytes(cursors[d]!.position) };
      return { name, group, sinceMs: since > 0 ? since : inputs.startedMs, ...destinationCounts((field) => at(b + field), lag) };
    }),
    routes: inputs.routes && routesOf(slots, inputs.routes),
    threads: inputs.threads.flatMap(({ name, tid }) => {
      const cpuSeconds = threadCpuSeconds(tid);
      return cpuSeconds === undefined ? [] : [{ name, tid, cpuSeconds }];
    }),
    process: { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: process.memoryUsage.rss() },
  };
}

/** The routes block, its rules labelled by where they were written. */
function routesOf(slots: Float64Array, rules: string[]): RoutesSnapshot {
  const { matched, ...droppedMessages } = readRouteCounters(slots, routeBlockBase(slots), rules.length);
  return { droppedMessages, rules: rules.map((rule, i) => ({ rule, matchedMessages: matched[i] ?? 0 })) };
}

/** A destination's counters, read through `at(field)`, with its lag. */
function destinationCounts(at: (field: number) => number, lag: { messages: number; bytes: number }): Omit<DestinationSnapshot, 'name' | 'group' | 'sinceMs'> {
  const dropped = Object.fromEntries(Object.entries<number>(DESTINATION_DROP_FIELD).map(([reason, field]) => [reason, at(field)]));
  return {
    up: at(DestinationField.up) === 1,
    sentMessages: at(DestinationField.sentMessages),
    sentBytes: at(DestinationField.sentBytes),
    droppedMessages: dropped as DestinationSnapshot['droppedMessages'],
    spilledMessages: at(DestinationField.spilledMessages),
    replayedMessages: at(DestinationField.replayedMessages),
    lagMessages: lag.messages,
    lagBytes: lag.bytes,
    reconnects: at(DestinationField.disconnects),
    splitMessages: at(DestinationField.splitLf),
    stalls: at(DestinationField.stalls),
    connects: at(DestinationField.connects),
    resentMessages: at(DestinationField.resentMessages),
    spillCorruptSegments: at(DestinationField.spillCorruptSegments),
    spillCorruptBytes: at(DestinationField.spillCorruptBytes),
    tlsFailures: at(DestinationField.tlsFailures),
    unconfirmedMessages: at(DestinationField.unconfirmedMessages),
    othersMessages: at(DestinationField.othersItems),
    handedOverMessages: at(DestinationField.handedOver),
    takenOverMessages: at(DestinationField.takenOver),
  };
}
