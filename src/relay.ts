/**
 * The main thread's side of a running relay: allocates the shared ring and counters, starts the
 * background, egress and ingest threads, and runs the stop sequence (stop ingest, drain egress,
 * stop background). It holds no datagram path itself.
 */
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { allocateRing, viewRing, type RingBuffers } from './ring/layout.js';
import { stopReclaimer } from './background/reclaimer.js';
import { ensureWritableDirectory } from './spill/spill-options.js';
import { allocateCounters } from './metrics/counters.js';
import { RelayError } from './errors.js';
import type { RelayConfig } from './config/config.js';
import { destinationOptions, ingestOptions, listenerOptions, spillOptions } from './config/thread-options.js';
import type { LogSink } from './logging.js';
import { takeSnapshot } from './metrics/snapshot.js';
import type { Snapshot } from './metrics/snapshot-types.js';
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
} from './thread-protocol.js';

/** What a graceful stop left undelivered, per destination (same order as the config). */
export interface StopReport {
  undeliveredMessages: number[];
}

/** A started relay. */
export class Relay {
  private stopping: Promise<StopReport> | undefined;
  private readonly startedMs = Date.now();

  private constructor(
    readonly config: RelayConfig,
    readonly listening: BoundListener[],
    private readonly ring: RingBuffers,
    private readonly countersBuffer: SharedArrayBuffer,
    private readonly ingest: Worker,
    private readonly egress: Worker,
    private readonly background: Worker,
    /** Kernel thread id of each relay thread, as each reported it. */
    private readonly threadIds: Map<string, number>,
  ) {}

  /**
   * Starts the three threads and binds every listener. Rejects with RelayError('ERR_BIND') when
   * a listener cannot bind, ERR_RESOLVE when its host name does not resolve, ERR_SPILL when
   * --spill-dir cannot be used (nothing is left running then). `onFatal` is called if a thread dies.
   */
  static async start(config: RelayConfig, log: LogSink, onFatal: (error: Error) => void): Promise<Relay> {
    if (config.spill) await ensureWritableDirectory(config.spill.dir);
    const ring = allocateRing(config.ringBytes, config.destinations.length);
    const counters = allocateCounters(config.listeners.length, config.destinations.length);
    const shared = {
      ring,
      counters,
      listenerCount: config.listeners.length,
      destinationCount: config.destinations.length,
      logIntervalMs: config.logIntervalMs,
    };
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
    const background = spawn('background', './background/background-thread.js', { ...shared, reclaimIntervalMs: config.reclaimIntervalMs });
    const egress = spawn('egress', './egress/egress-thread.js', { ...shared, destinations: destinationOptions(config), spill: spillOptions(config) });
    // Every destination must hold its cursor before the first datagram is appended.
    await nextMessage<FromEgress>(egress, (m) => m.type === 'ready');
    const ingest = spawn('ingest', './ingest/ingest-thread.js', { ...shared, listeners: listenerOptions(config), options: ingestOptions(config) });
    const ready = await nextMessage<FromIngest>(ingest, (m) => m.type === 'listening' || m.type === 'fatal');
    if (ready.type === 'fatal') {
      stopReclaimer(viewRing(ring));
      await Promise.all([ingest.terminate(), egress.terminate(), background.terminate()]);
      throw new RelayError(ready.code, ready.message, ready.cause === undefined ? undefined : { cause: ready.cause });
    }
    if (ready.type !== 'listening') throw new RelayError('ERR_INTERNAL', 'ingest thread sent no listening report');
    return new Relay(config, ready.listeners, ring, counters, ingest, egress, background, threadIds);
  }

  /** Every number the relay reports, now (counters may be a moment stale). */
  snapshot(): Promise<Snapshot> {
    return takeSnapshot({
      views: viewRing(this.ring),
      counters: this.countersBuffer,
      listeners: this.listening.map((l) => l.text),
      destinations: this.config.destinations.map((d) => d.endpoint.text),
      threads: [...this.threadIds].map(([name, tid]) => ({ name, tid })),
      startedMs: this.startedMs,
      udpIngest: this.config.udpIngest,
      ingestRunning: () => this.stopping === undefined,
    });
  }

  /**
   * Graceful stop: close the listeners, drain the ring to every connected destination for at
   * most `config.drainTimeoutMs`, then end the threads. Idempotent.
   */
  stop(): Promise<StopReport> {
    this.stopping ??= this.runStop();
    return this.stopping;
  }

  /** Ends every thread at once, delivering nothing more. */
  async kill(): Promise<void> {
    stopReclaimer(viewRing(this.ring));
    await Promise.all([this.ingest.terminate(), this.egress.terminate(), this.background.terminate()]);
  }

  private async runStop(): Promise<StopReport> {
    const stopped = nextMessage<FromIngest>(this.ingest, (m) => m.type === 'stopped');
    this.ingest.postMessage({ type: 'stop' } satisfies ToIngest);
    await stopped;
    const drained = nextMessage<FromEgress>(this.egress, (m) => m.type === 'drained');
    this.egress.postMessage({ type: 'drain', timeoutMs: this.config.drainTimeoutMs } satisfies ToEgress);
    const report = await drained;
    if (report.type !== 'drained') throw new RelayError('ERR_INTERNAL', 'egress thread sent no drain report');
    stopReclaimer(viewRing(this.ring));
    await Promise.all([this.ingest.terminate(), this.egress.terminate(), once(this.background, 'exit')]);
    return { undeliveredMessages: report.undeliveredMessages };
  }
}

/** Resolves with the first message from `worker` that `matches`; rejects if the thread exits first. */
function nextMessage<T extends { type: string }>(worker: Worker, matches: (m: T) => boolean): Promise<T> {
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
