/**
 * Every rule derived from the ring's size, in one table: what each fraction of the capacity
 * decides, who applies it, and why that fraction (docs/ARCHITECTURE.md, "The ring protocol" and
 * "Isolation"); and how long the lag rules wait. Change a value here and nowhere else.
 *
 * | fraction | rule                                                                 | applied by                      |
 * |----------|----------------------------------------------------------------------|---------------------------------|
 * | 1/16     | largest single write to a destination (at most 1 MiB)                | main/thread-options.ts          |
 * | 3/4      | a destination lagging more loses its oldest items (spilled or counted)| egress/lag-policy.ts            |
 * | 1/2      | ... down to this lag                                                 | egress/lag-policy.ts            |
 * | 7/8      | a write pinning more means the peer is not reading: cut              | egress/lag-policy.ts            |
 * | 100 ms   | 3/4 and 7/8 apply to an up destination past them that released      | egress/lag-policy.ts            |
 * |          | nothing this long (a time; at once when ingest was refused space)    |                                 |
 * | 1        | spill copies in flight to the disk above which overflow drops        | egress/lag-policy.ts            |
 * | 1/2      | ingest wakes the background thread once this much is in use...      | ring/ring.ts (RingWriter)       |
 * | 1/8      | ... at most once per this much appended                              | ring/ring.ts (RingWriter)       |
 *
 * Why: writes stay small beside the ring (a write pins its bytes until it calls back) while one
 * still carries thousands of small messages; overflow leaves room (3/4 down to 1/2) so a lagging
 * destination drops in batches, not per message; the pin limit sits above the overflow mark so a
 * slow reader is trimmed before it is cut; the background thread reclaims early enough that
 * ingest rarely computes HEAD itself, without a wake per publish. The marks alone cannot tell a
 * destination that stopped from a healthy one right after a burst of most of the ring (one native
 * receive batch of 64 datagrams can be 4 MiB): so a mark applies to a connected destination only
 * once it released nothing for 100 ms past it (a reader's writes call back within milliseconds; a
 * stopped one's never do), or at once when ingest was refused space, which is what the marks
 * protect. One that is down reads nothing: the marks apply to it at once.
 */
export const RING_POLICY = {
  maxWriteFraction: 1 / 16,
  overflowHighFraction: 3 / 4,
  overflowLowFraction: 1 / 2,
  pinLimitFraction: 7 / 8,
  lagGraceMs: 100,
  spillInFlightFraction: 1,
  backgroundWakeUsedFraction: 1 / 2,
  backgroundWakeEveryFraction: 1 / 8,
} as const;
