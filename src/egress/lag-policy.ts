/**
 * How far a destination may fall behind before it stops holding the ring for everyone (the
 * isolation rule of docs/ARCHITECTURE.md). Pure: positions in, a verdict out.
 *
 * - Lag (TAIL - cursor) past 3/4 of the ring: the oldest items, down to 1/2, leave the ring for
 *   this destination only: spilled to disk when it has a spill directory that is keeping up
 *   (at most one ring's worth of copies on their way to the disk), dropped and counted otherwise.
 * - A write that never completes keeps its bytes pinned (they may still be read out of the ring).
 *   Past 7/8 of the ring the peer is not reading: the connection is cut, and while it is down the
 *   pinned writes leave the window too (spilled when order allows, else dropped and counted).
 */
import { RING_POLICY } from '../ring/policies.js';

export interface LagLimits {
  /** Lag above which the oldest items leave the ring for this destination. */
  overflowHighBytes: number;
  /** What is left behind when they do. */
  overflowLowBytes: number;
  /** Pinned bytes (TAIL - released) above which the connection is cut. */
  pinLimitBytes: number;
  /** Spill copies in flight to the disk above which overflow drops instead of spilling. */
  spillInFlightLimitBytes: number;
}

/** The limits for a ring of `capacity` bytes. */
export function lagLimits(capacity: number): LagLimits {
  return {
    overflowHighBytes: capacity * RING_POLICY.overflowHighFraction,
    overflowLowBytes: capacity * RING_POLICY.overflowLowFraction,
    pinLimitBytes: capacity * RING_POLICY.pinLimitFraction,
    spillInFlightLimitBytes: capacity * RING_POLICY.spillInFlightFraction,
  };
}

/** What to do with a backlog of `lagBytes`: nothing, move the oldest to the spill, or drop them. */
export function overflowAction(limits: LagLimits, lagBytes: number, spill: { enabled: boolean; inFlightBytes: number }): 'none' | 'spill' | 'drop' {
  if (lagBytes <= limits.overflowHighBytes) return 'none';
  return spill.enabled && spill.inFlightBytes < limits.spillInFlightLimitBytes ? 'spill' : 'drop';
}

/** True when unconfirmed ring writes pin `pinnedBytes` of the ring, past the limit. */
export function isPinned(limits: LagLimits, pinnedBytes: number, hasRingWrites: boolean): boolean {
  return hasRingWrites && pinnedBytes > limits.pinLimitBytes;
}
