/**
 * How far a destination may fall behind before it stops holding the ring for everyone (the
 * isolation rule of docs/ARCHITECTURE.md). Pure: positions, times and ingest's signal in, a
 * verdict out.
 *
 * - Lag (TAIL - cursor) past 3/4 of the ring: the oldest items, down to 1/2, leave the ring for
 *   this destination only: spilled to disk when it has a spill directory that is keeping up
 *   (at most one ring's worth of copies on their way to the disk), dropped and counted otherwise.
 * - A write that never completes keeps its bytes pinned (they may still be read out of the ring).
 *   Past 7/8 of the ring the peer is not reading: the connection is cut, and while it is down the
 *   pinned writes leave the window too (spilled when order allows, else dropped and counted).
 * - Both marks apply only under pressure: the destination is down, or, past a mark, it released
 *   nothing for the grace period (it is not reading), or ingest was refused space since it last
 *   looked. A healthy reader just after a burst of most of the ring is past the marks too, but it
 *   releases as its writes call back: it is left to catch up, and loses nothing while the ring has
 *   room. The price: a connected peer that stops reading holds the ring for up to the grace
 *   period past the 3/4 mark; ingest filling the last quarter faster than that is refused space,
 *   and only then, at once, the rule applies.
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
  /** How long a destination past a mark may release nothing before the marks apply to it. */
  graceMs: number;
}

/** The limits for a ring of `capacity` bytes. */
export function lagLimits(capacity: number): LagLimits {
  return {
    overflowHighBytes: capacity * RING_POLICY.overflowHighFraction,
    overflowLowBytes: capacity * RING_POLICY.overflowLowFraction,
    pinLimitBytes: capacity * RING_POLICY.pinLimitFraction,
    spillInFlightLimitBytes: capacity * RING_POLICY.spillInFlightFraction,
    graceMs: RING_POLICY.lagGraceMs,
  };
}

/** True when `lagBytes` or `pinnedBytes` is past its mark: while it is, the grace period runs. */
export function pastMark(limits: LagLimits, lagBytes: number, pinnedBytes: number): boolean {
  return lagBytes > limits.overflowHighBytes || pinnedBytes > limits.pinLimitBytes;
}

/**
 * True when the marks apply: the destination is not up (it reads nothing), ingest was refused
 * space since it last looked, or it has been past a mark releasing nothing for `stuckMs` (0 while
 * it is below both or releasing).
 */
export function underPressure(limits: LagLimits, state: { up: boolean; stuckMs: number; ingestRefused: boolean }): boolean {
  return !state.up || state.ingestRefused || state.stuckMs >= limits.graceMs;
}

/** What to do with a backlog of `lagBytes`: nothing, move the oldest to the spill, or drop them. */
export function overflowAction(
  limits: LagLimits,
  lagBytes: number,
  pressed: boolean,
  spill: { enabled: boolean; inFlightBytes: number },
): 'none' | 'spill' | 'drop' {
  if (!pressed || lagBytes <= limits.overflowHighBytes) return 'none';
  return spill.enabled && spill.inFlightBytes < limits.spillInFlightLimitBytes ? 'spill' : 'drop';
}

/** True when unconfirmed ring writes pin `pinnedBytes` of the ring, past the limit, under pressure. */
export function isPinned(limits: LagLimits, pinnedBytes: number, pressed: boolean, hasRingWrites: boolean): boolean {
  return pressed && hasRingWrites && pinnedBytes > limits.pinLimitBytes;
}
