/**
 * The egress thread's typed view of the routes block (./counters.ts has the layout): what became
 * of messages the rules did not send anywhere, and how many each rule matched.
 */
import { CounterBlock, ROUTE_FIELD_COUNT, RouteField } from './counters.js';
import { MAX_ROUTE_RULES } from '../route/route-spec.js';
import type { RouteOutcome } from '../route/router.js';

const OUTCOME_FIELD = {
  unrouted: RouteField.unrouted,
  blackholed: RouteField.blackholed,
  invalid: RouteField.invalid,
} as const satisfies Record<Exclude<RouteOutcome, 'routed'>, number>;

/** See the module comment. */
export class RouteCounters extends CounterBlock {
  constructor(slots: Float64Array, base: number) {
    super(slots, base, ROUTE_FIELD_COUNT + MAX_ROUTE_RULES);
  }

  /** One message's outcome (`routed` is not counted here: the destinations count what they send). */
  outcome(outcome: RouteOutcome): void {
    if (outcome !== 'routed') this.add(OUTCOME_FIELD[outcome], 1);
  }

  /** Rule `rule` (its position in the list) matched a message. */
  matched(rule: number): void {
    if (rule < MAX_ROUTE_RULES) this.add(ROUTE_FIELD_COUNT + rule, 1);
  }

  /** The rules changed (a reload): their counters start again. */
  rulesChanged(): void {
    this.slots.fill(0, this.base + ROUTE_FIELD_COUNT, this.base + ROUTE_FIELD_COUNT + MAX_ROUTE_RULES);
  }
}

/** Reads the routes block: the outcome counts and the first `rules` rules' matches (main thread). */
export function readRouteCounters(
  slots: Float64Array,
  base: number,
  rules: number,
): { unrouted: number; blackholed: number; invalid: number; matched: number[] } {
  const at = (field: number): number => slots[base + field]!;
  return {
    unrouted: at(RouteField.unrouted),
    blackholed: at(RouteField.blackholed),
    invalid: at(RouteField.invalid),
    matched: Array.from({ length: Math.min(rules, MAX_ROUTE_RULES) }, (_, i) => at(ROUTE_FIELD_COUNT + i)),
  };
}
