/** Per-second rates and deltas between two snapshots (for the stats line and the top view). */
import type { Snapshot } from './snapshot-types.js';

/** Seconds between two snapshots; with no previous one, since the relay started. */
export function intervalSeconds(previous: Snapshot | undefined, current: Snapshot): number {
  const fromMs = previous ? previous.timeMs : current.startedMs;
  return Math.max(0.001, (current.timeMs - fromMs) / 1000);
}

/** current - previous (previous absent: current), never negative. */
export function delta(previous: number | undefined, current: number): number {
  return Math.max(0, current - (previous ?? 0));
}

/** Sum of the values of a reason map. */
export function total(reasons: Record<string, number>): number {
  return Object.values(reasons).reduce((sum, n) => sum + n, 0);
}
