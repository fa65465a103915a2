/**
 * What the main thread hands each worker thread (workerData) and the messages they exchange.
 * Control messages only: datagrams never travel by postMessage, they go through the ring.
 */
import type { RingBuffers } from './ring/layout.js';
import type { DestinationOptions } from './egress/destination.js';
import type { BoundListener, IngestOptions, ListenerOptions } from './ingest/ingest.js';
import type { LogMessage } from './logging.js';
import type { DrainReport } from './egress/egress.js';
import type { SpillOptions } from './spill/spill-options.js';

interface Shared {
  ring: RingBuffers;
  counters: SharedArrayBuffer;
  listenerCount: number;
  destinationCount: number;
  /** One line per cause per interval for repeated warnings. */
  logIntervalMs: number;
}

export interface IngestWorkerData extends Shared {
  listeners: ListenerOptions[];
  options: IngestOptions;
}

export interface EgressWorkerData extends Shared {
  destinations: DestinationOptions[];
  /** Absent without --spill-dir. */
  spill: SpillOptions | undefined;
}

export interface BackgroundWorkerData extends Shared {
  reclaimIntervalMs: number;
}

/** Every thread, once at start: its kernel thread id, for per-thread CPU accounting. */
export interface ThreadIdMessage {
  type: 'thread-id';
  tid: number | undefined;
}

/** main -> ingest */
export type ToIngest = { type: 'stop' };
/** ingest -> main */
export type FromIngest =
  | { type: 'listening'; listeners: BoundListener[] }
  /** `cause`: the error the RelayError wrapped, as structured clone carries it (message and stack). */
  | { type: 'fatal'; code: string; message: string; cause?: unknown }
  | { type: 'stopped' }
  | ThreadIdMessage
  | LogMessage;

/** main -> egress */
export type ToEgress = { type: 'drain'; timeoutMs: number };
/** egress -> main */
export type FromEgress = { type: 'ready' } | ({ type: 'drained' } & DrainReport) | ThreadIdMessage | LogMessage;
