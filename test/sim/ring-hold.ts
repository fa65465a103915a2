/**
 * The isolation invariant the egress, group and reload simulations check after each burst's
 * service (docs/ARCHITECTURE.md, "Isolation"): a destination holds more than 7/8 of the ring (its
 * released position that far behind the tail) only while the rule's grace runs: never right
 * after a burst that the ring refused an append of, nor once that released position has not moved
 * for the grace period, as the simulation sees it after each service. A healthy reader past the
 * mark just after a burst is allowed to catch up; one that holds the ring for the others is not.
 */
import { lagLimits, type LagLimits } from '../../src/egress/lag-policy.js';
import { RELEASED, distance, type RingViews } from '../../src/ring/layout.js';
import type { FakeClock } from './fake-net.js';

/** Since when (fake ms) each slot holds past the limit with its released position unmoved. */
export class RingHoldCheck {
  private readonly since = new Map<number, { released: number; sinceMs: number }>();
  private readonly limits: LagLimits;

  constructor(
    private readonly views: RingViews,
    private readonly clock: FakeClock,
  ) {
    this.limits = lagLimits(views.capacity);
  }

  /**
   * Checks each taken slot of `slots` against the tail, right after the destinations were served;
   * `refused`: the ring refused an append of the burst they were served for. Returns what broke
   * the invariant (naming the slot), or undefined.
   */
  check(slots: Iterable<number>, tail: number, refused: boolean): string | undefined {
    const { pinLimitBytes: limit, graceMs } = this.limits;
    const control = this.views.control;
    for (const slot of slots) {
      if (Atomics.load(control, this.views.slotFree + slot) !== 0) continue;
      const released = Atomics.load(control, RELEASED + slot) >>> 0;
      const held = distance(tail, released);
      if (held <= limit) {
        this.since.delete(slot);
        continue;
      }
      const seen = this.since.get(slot);
      const since = seen?.released === released ? seen : { released, sinceMs: this.clock.nowMs() };
      this.since.set(slot, since);
      const stuckMs = this.clock.nowMs() - since.sinceMs;
      if (refused || stuckMs >= graceMs) {
        return `slot ${slot} holds ${held} bytes of the ring (limit ${limit}), ${refused ? 'after the ring refused an append' : `unmoved for ${stuckMs} ms`}`;
      }
    }
    return undefined;
  }
}
