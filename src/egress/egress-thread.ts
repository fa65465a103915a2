/** Egress (client) thread entry: wiring only (logic in ./egress.ts and ./destination.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { EGRESS_BEAT, viewRing } from '../ring/layout.js';
import { RateLimitedLog } from '../logging.js';
import { currentThreadId } from '../metrics/thread-cpu.js';
import type { EgressWorkerData, FromEgress, ToEgress } from '../thread-protocol.js';
import { startHeartbeat } from '../service/heartbeat.js';
import { Egress, systemEnvironment } from './egress.js';

const data = workerData as EgressWorkerData;
const port = parentPort!;
const post = (message: FromEgress): void => port.postMessage(message);
post({ type: 'thread-id', tid: currentThreadId() });
const log = new RateLimitedLog((level, message) => post({ type: 'log', level, message }), data.logIntervalMs);
const environment = { ...systemEnvironment, maxDelayMs: data.maxDelayMs };
const egress = new Egress(
  viewRing(data.ring),
  data.destinations,
  new Float64Array(data.counters),
  data.listenerSlots,
  log,
  data.spill,
  environment,
  data.routes,
);
startHeartbeat(new Int32Array(data.ring.control), EGRESS_BEAT, data.heartbeatMs);
port.on('message', (message: ToEgress) => {
  if (message.type === 'drain') void egress.drain(message.timeoutMs).then((report) => post({ type: 'drained', ...report }));
  if (message.type === 'reconfigure') {
    // Always answered: the main thread's reloads and its stop wait in one queue behind this reply.
    void egress
      .reconfigure(message.change, message.drainTimeoutMs, (report) => post({ type: 'retired', ...report }))
      .catch((error: Error) => log.log('error', 'reconfigure', `applying a reload to the destinations failed: ${error.message}`))
      .finally(() => post({ type: 'reconfigured' }));
  }
});
void egress.start().then(() => post({ type: 'ready' }));
