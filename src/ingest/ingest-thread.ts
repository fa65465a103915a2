/** Ingest (server) thread entry: wiring only (logic in ./ingest.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { INGEST_BEAT, viewRing } from '../ring/layout.js';
import { RingWriter } from '../ring/ring.js';
import { RateLimitedLog } from '../logging.js';
import { currentThreadId } from '../metrics/thread-cpu.js';
import { RelayError } from '../errors.js';
import type { FromIngest, IngestWorkerData, ToIngest } from '../thread-protocol.js';
import { startHeartbeat } from '../service/heartbeat.js';
import { Ingest, ListenersClosedError } from './ingest.js';

const data = workerData as IngestWorkerData;
const port = parentPort!;
const post = (message: FromIngest): void => port.postMessage(message);
post({ type: 'thread-id', tid: currentThreadId() });
const log = new RateLimitedLog((level, message) => post({ type: 'log', level, message }), data.logIntervalMs);
const ingest = new Ingest(new RingWriter(viewRing(data.ring)), new Float64Array(data.counters), data.options, log);
ingest.nameDestinations(data.destinations);
startHeartbeat(new Int32Array(data.ring.control), INGEST_BEAT, data.heartbeatMs);
port.on('message', (message: ToIngest) => {
  if (message.type === 'stop') void ingest.close().then(() => post({ type: 'stopped' }));
  if (message.type === 'inject') ingest.inject(message.messages);
  if (message.type === 'reconfigure') {
    ingest.nameDestinations(message.destinations);
    ingest.reconfigure(message.change).then(
      (listeners) => post({ type: 'reconfigured', listeners }),
      (error: Error) => post({ type: 'reconfigure-failed', message: error.message, closed: error instanceof ListenersClosedError ? error.closedSlots : [] }),
    );
  }
});
Promise.all(data.listeners.map((l) => ingest.listen(l))).then(
  (listeners) => post({ type: 'listening', listeners }),
  (error: unknown) => {
    const relayError = error instanceof RelayError ? error : undefined;
    const code = relayError ? relayError.code : 'ERR_INTERNAL';
    const cause = relayError ? relayError.cause : error;
    try {
      post({ type: 'fatal', code, message: (error as Error).message, cause });
    } catch {
      // A cause structured clone cannot copy: the code and message are what matter.
      post({ type: 'fatal', code, message: (error as Error).message });
    }
  },
);
