/**
 * The background thread as the main thread starts and stops it. With the native addon it is a
 * native thread (native/relay_reclaimer.c) running the same loop as ./reclaimer.ts on the ring's
 * control words; without it (not built, or RELAY_NATIVE_UDP=0), a worker running ./reclaimer.ts.
 *
 * Why native: the loop needs no JavaScript, and a worker isolate costs ~8 MB of RSS even when it
 * runs nothing (measured: bare `node` 42 MB, with two idle empty workers 55 MB, three 61 MB;
 * docs/ARCHITECTURE.md, "Memory and CPU"). One difference, documented in the C file: a waker's
 * Atomics.notify() cannot reach a native thread, so it publishes HEAD once per interval whatever
 * ingest asks. Nothing waits for those wakes: ingest computes the bound itself whenever its HEAD
 * leaves it short of space (src/ring/ring.ts reserve()).
 */
import type { Worker } from 'node:worker_threads';
import { loadNativeUdp } from '../native/addon.js';
import { BACKGROUND_BEAT, BG_SLEEPING, HEAD, RELEASED, SLOT_GENERATION, STOP, TAIL, type RingViews } from '../ring/layout.js';
import { stopReclaimer } from './reclaimer.js';

/** The ring's control words the native loop uses, by their names in src/ring/layout.ts. */
export interface ControlIndices {
  HEAD: number;
  TAIL: number;
  RELEASED: number;
  SLOT_GENERATION: number;
  slotFree: number;
  destinationSlots: number;
  BG_SLEEPING: number;
  STOP: number;
  /** The word the loop bumps once per round (src/service/heartbeat.ts); optional for the C code. */
  BEAT?: number;
}

/** The addon's background-thread functions (native/relay_reclaimer.c). */
export interface ReclaimerAddon {
  reclaimerStart(control: Int32Array, at: ControlIndices, intervalMs: number): object;
  /** Wakes the thread and waits for it to leave its loop; the caller has set STOP. */
  reclaimerJoin(handle: object): void;
  reclaimerThreadId(handle: object): number;
  /** The HEAD the loop would publish now: the C twin of computeHead (src/ring/positions.ts), for tests. */
  reclaimerComputeHead(control: Int32Array, at: ControlIndices): number;
}

/** The addon's background-thread functions, or undefined without the addon (or with a build older than them). */
export function loadReclaimerAddon(): ReclaimerAddon | undefined {
  const addon = loadNativeUdp() as Partial<ReclaimerAddon> | undefined;
  return typeof addon?.reclaimerStart === 'function' ? (addon as ReclaimerAddon) : undefined;
}

/** The control indices of a ring, for the addon. */
export function controlIndices(v: RingViews): ControlIndices {
  return { HEAD, TAIL, RELEASED, SLOT_GENERATION, slotFree: v.slotFree, destinationSlots: v.destinationSlots, BG_SLEEPING, STOP, BEAT: BACKGROUND_BEAT };
}

/** A running background thread. */
export interface BackgroundThread {
  /** Sets STOP and resolves once the thread has left its loop. */
  stop(): Promise<void>;
}

/**
 * Starts the background thread on ring `v`: native when the addon has it, else `spawnWorker()`.
 * `onThreadId` gets the native thread's kernel id (a worker reports its own).
 */
export function startBackground(v: RingViews, intervalMs: number, spawnWorker: () => Worker, onThreadId: (tid: number) => void): BackgroundThread {
  const addon = loadReclaimerAddon();
  if (addon === undefined) {
    const worker = spawnWorker();
    // Not events.once: it would reject on the worker's 'error', which the spawner already reports.
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    return {
      stop: async () => {
        stopReclaimer(v);
        await exited;
      },
    };
  }
  const handle = addon.reclaimerStart(v.control, controlIndices(v), intervalMs);
  onThreadId(addon.reclaimerThreadId(handle));
  return {
    stop: async () => {
      stopReclaimer(v);
      addon.reclaimerJoin(handle);
    },
  };
}
