/** The main thread's handle on one verifying sink worker (src/bench/sink-worker.ts): its port, its reports, its end. */
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import type { FramingName } from '../framing/index.js';
import type { SinkReport, SinkWorkerData, ToSink } from './protocol.js';
import type { BenchTls } from './run-spec.js';

const SINK_WORKER = new URL('./sink-worker.js', import.meta.url);

export interface Sink {
  port: number;
  report(): Promise<SinkReport>;
  close(): Promise<void>;
}

/** What a sink speaks: framed TCP (`framing`), the same over TLS (`tls`), or RELP (`relp`: no framing, no TLS). */
export interface SinkKind {
  framing: FramingName;
  tls?: BenchTls;
  relp?: boolean;
}

/** Starts a sink worker; resolves once it listens on 127.0.0.1. */
export async function startSink(kind: SinkKind): Promise<Sink> {
  const workerData: SinkWorkerData = {
    framing: kind.framing,
    tls: kind.tls && { cert: kind.tls.cert, key: kind.tls.key },
    relp: kind.relp === true,
  };
  const worker = new Worker(SINK_WORKER, { workerData });
  const [ready] = (await once(worker, 'message')) as [{ port: number }];
  // Reports are answered in order, so a FIFO of resolvers pairs them up.
  const waiting: ((r: SinkReport) => void)[] = [];
  worker.on('message', (m: SinkReport) => {
    if (m.type === 'report') waiting.shift()?.(m);
  });
  return {
    port: ready.port,
    report: () =>
      new Promise((resolve) => {
        waiting.push(resolve);
        worker.postMessage({ type: 'report' } satisfies ToSink);
      }),
    close: async () => {
      worker.postMessage({ type: 'close' } satisfies ToSink);
      await once(worker, 'exit');
    },
  };
}
