/** Background thread entry: wiring only (logic in ./reclaimer.ts). */
import { workerData } from 'node:worker_threads';
import { viewRing } from '../ring/layout.js';
import type { BackgroundWorkerData } from '../thread-protocol.js';
import { runReclaimer } from './reclaimer.js';

const data = workerData as BackgroundWorkerData;
runReclaimer(viewRing(data.ring), data.reclaimIntervalMs);
