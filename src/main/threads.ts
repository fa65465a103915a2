/**
 * The main thread's side of the worker threads: starting them on a new ring with their options
 * (./thread-options.ts), and asking them things (a control message, and the reply it waits for).
 * Datagrams never pass here: they go through the ring.
 */
import { Worker } from 'node:worker_threads';
import { allocateRing, viewRing, type RingBuffers } from '../ring/layout.js';
import { startBackground, type BackgroundThread } from '../background/background.js';
import { allocateCounters } from '../metrics/counters.js';
import { RelayError } from '../errors.js';
import { DESTINATION_SLOTS, MAX_LISTENERS, type RelayConfig } from '../config/config.js';
import type { LogSink } from '../logging.js';
import type { ServiceThreads } from '../service/service.js';
import { destinationName, destinationOptions, ingestOptions, listenerOptions, spillOptions } from './thread-options.js';
import type {
  BackgroundWorkerData,
  BoundListener,
  EgressWorkerData,
  FromBackground,
  FromEgress,
  FromIngest,
  IngestWorkerData,
  ToEgress,
  ToIngest,
} from '../thread-protocol.js';

/** A started relay's threads and what they share. */
export interface RelayThreads {
  ring: RingBuffers;
  counters: SharedArrayBuffer;
  ingest: Worker;
  egress: Worker;
  background: BackgroundThread;
  /** Kernel thread id of each thread, as each reported it (filled in as they report). */
  threadIds: Map<string, number>;
  /** What each listener bound, in configuration order. */
  listening: BoundListener[];
}

/**
 * Starts the background, egress and ingest threads on a new ring, in that order (every destination
 * holds its cursor before the first datagram is appended), and waits until every listener is bound.
 * `service`: what systemd asks of them (heartbeats, sockets it passed: src/service/).
 * Rejects with the ingest thread's RelayError (nothing is left running then).
 */
export async function startThreads(config: RelayConfig, log: LogSink, onFatal: (error: Error) => void, service: ServiceThreads): Promise<RelayThreads> {
  const ring = allocateRing(config.ringBytes, DESTINATION_SLOTS, config.destinations.length);
  const counters = allocateCounters(MAX_LISTENERS, DESTINATION_SLOTS);
  const { heartbeatMs } = service;
  const shared = { ring, counters, listenerSlots: MAX_LISTENERS, destinationSlots: DESTINATION_SLOTS, logIntervalMs: config.logIntervalMs, heartbeatMs };
  const threadIds = new Map<string, number>([['main', process.pid]]);
  /** Every thread reports its id and sends log lines; anything else is for whoever waits on it. */
  const spawn = (name: string, file: string, workerData: IngestWorkerData | EgressWorkerData | BackgroundWorkerData): Worker => {
    const worker = new Worker(new URL(file, import.meta.url), { workerData, name: `relay-${name}` });
    worker.on('error', (error) => onFatal(error));
    worker.on('message', (message: FromIngest | FromEgress | FromBackground) => {
      if (message.type === 'log') log(message.level, message.message);
      if (message.type === 'thread-id' && message.tid !== undefined) threadIds.set(name, message.tid);
    });
    return worker;
  };
  const background = startBackground(
    viewRing(ring),
    config.reclaimIntervalMs,
    () => spawn('background', '../background/background-thread.js', { ...shared, reclaimIntervalMs: config.reclaimIntervalMs }),
    (tid) => threadIds.set('background', tid),
  );
  const egress = spawn('egress', '../egress/egress-thread.js', {
    ...shared,
    destinations: destinationOptions(config),
    routes: config.routes,
    spill: spillOptions(config),
    maxDelayMs: config.maxDelayMs,
  });
  // Every destination must hold its cursor before the first datagram is appended.
  await nextMessage<FromEgress>(egress, (m) => m.type === 'ready');
  const ingest = spawn('ingest', '../ingest/ingest-thread.js', {
    ...shared,
    listeners: listenerOptions(config),
    options: { ...ingestOptions(config), activated: service.activated },
    destinations: config.destinations.map(destinationName),
  });
  const ready = await nextMessage<FromIngest>(ingest, (m) => m.type === 'listening' || m.type === 'fatal');
  if (ready.type === 'fatal') {
    await Promise.all([ingest.terminate(), egress.terminate(), background.stop()]);
    throw new RelayError(ready.code, ready.message, ready.cause === undefined ? undefined : { cause: ready.cause });
  }
  if (ready.type !== 'listening') throw new RelayError('ERR_INTERNAL', 'ingest thread sent no listening report');
  return { ring, counters, ingest, egress, background, threadIds, listening: ready.listeners };
}

/** Posts `message` to `worker` and resolves with the first reply that `matches`. */
export function request<T extends { type: string }>(worker: Worker, message: ToIngest | ToEgress, matches: (m: T) => boolean): Promise<T> {
  const reply = nextMessage<T>(worker, matches);
  worker.postMessage(message);
  return reply;
}

/** Resolves with the first message from `worker` that `matches`; rejects if the thread exits first. */
export function nextMessage<T extends { type: string }>(worker: Worker, matches: (m: T) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: T): void => {
      if (!matches(m)) return;
      cleanup();
      resolve(m);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new RelayError('ERR_INTERNAL', `a relay thread exited unexpectedly (code ${code})`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('exit', onExit);
  });
}
