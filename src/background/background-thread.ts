/** Background thread entry: wiring only (logic in ./reclaimer.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { currentThreadId } from '../metrics/thread-cpu.js';
import { viewRing } from '../ring/layout.js';
import type { BackgroundWorkerData, ThreadIdMessage } from '../thread-protocol.js';
import { runReclaimer } from './reclaimer.js';

const data = workerData as BackgroundWorkerData;
parentPort!.postMessage({ type: 'thread-id', tid: currentThreadId() } satisfies ThreadIdMessage);
runReclaimer(viewRing(data.ring), data.reclaimIntervalMs);
