/**
 * Per-thread heartbeats for systemd's watchdog: each relay thread bumps its own word in the ring's
 * control buffer (INGEST_BEAT, EGRESS_BEAT, BACKGROUND_BEAT: src/ring/layout.ts), and the main
 * thread sends WATCHDOG=1 only while every word moves (./watchdog.ts decides).
 *
 * What a beat proves: ingest and egress bump theirs from a timer of their own event loop, every
 * `heartbeatMs` (set only while the watchdog is on: no wake-ups otherwise), so a beat means that
 * thread's loop runs — one stuck in a synchronous call or a busy loop stops beating. The
 * background loop (native/relay_reclaimer.c, or src/background/reclaimer.ts without the addon)
 * bumps its word once per round, always: at least once per reclaim interval.
 *
 * Concurrency: one writer per word (Atomics.add, publishing only "I ran"); the main thread reads
 * with Atomics.load. A stale read costs at most one skipped ping, never a false one.
 */
import { BACKGROUND_BEAT, EGRESS_BEAT, INGEST_BEAT } from '../ring/layout.js';

/** The threads whose progress gates the watchdog, and their words. */
export const BEATING_THREADS = [
  { name: 'ingest', index: INGEST_BEAT },
  { name: 'egress', index: EGRESS_BEAT },
  { name: 'background', index: BACKGROUND_BEAT },
] as const;

export type BeatingThread = (typeof BEATING_THREADS)[number]['name'];

/** In a worker thread: bumps `index` every `periodMs` from this thread's event loop (0: never). The timer does not keep the thread alive. */
export function startHeartbeat(control: Int32Array, index: number, periodMs: number): void {
  if (periodMs <= 0) return;
  // Publishes only that this loop ran; nothing else is ordered by it.
  setInterval(() => Atomics.add(control, index, 1), periodMs).unref();
}

/** Each beating thread's count now, in BEATING_THREADS order (main thread). */
export function readBeats(control: Int32Array): number[] {
  // Acquires nothing but the counts: a count that moved means its thread ran since the last read.
  return BEATING_THREADS.map(({ index }) => Atomics.load(control, index));
}
