/**
 * Routing rules as data (README "Routing"): what the configuration builds (`[[route]]` tables,
 * `--route`, a carbon-c-relay file) and the egress thread compiles (./router.ts). Plain strings
 * only, so they cross threads as they are.
 *
 * Rules run in order for each message, as carbon-c-relay runs its `match` and `rewrite` rules:
 * - a match rule whose expressions (any of them; none: every message) match sends the message to
 *   its targets (destinations and groups by name), or drops it (`blackhole`, which also stops);
 *   with `validate`, the message must match that expression too, else the rule sends nothing
 *   (`log`: the message is logged) and, when the rule has no targets, nothing after it runs;
 *   `stop` ends the rules for a message it matched;
 * - a rewrite rule whose expression matches rewrites the message (or the metric name) for every
 *   rule after it.
 * A message no rule sent anywhere is dropped and counted (`unrouted`). Without rules, every
 * destination and group gets every message.
 */

/** What rules look at: the whole message, or a Graphite line's metric name (and `validate`, what follows it). */
export type RouteSubject = 'message' | 'graphite';

/** One match rule. */
export interface MatchRuleSpec {
  kind: 'match';
  /** POSIX extended regular expressions, any of which must match; undefined: every message. */
  match: string[] | undefined;
  validate?: { expression: string; otherwise: 'drop' | 'log' };
  /** Names of destinations and groups; empty for a global validation rule or a drop. */
  to: string[];
  /** Send nothing, and stop (carbon-c-relay's `blackhole`). */
  drop: boolean;
  stop: boolean;
  /** Where it was written (`relay.toml: route 2`, `carbon.conf:14`), for logs and the rule's metric label. */
  where: string;
}

/** One rewrite rule: `expression` (POSIX ERE) replaced by `into` (\1..\9, \_1 lower, \^1 upper, \.1 dots to underscores). */
export interface RewriteRuleSpec {
  kind: 'rewrite';
  expression: string;
  into: string;
  where: string;
}

export type RuleSpec = MatchRuleSpec | RewriteRuleSpec;

/** The rules of a relay, and how they read a message. */
export interface RouteSpec {
  subject: RouteSubject;
  /** Graphite lines are cleansed as carbon-c-relay cleanses them before any rule sees them (and so forwarded). */
  cleanse: boolean;
  rules: RuleSpec[];
}

/** The most rules a relay may have (each has a counter slot: src/metrics/counters.ts). */
export const MAX_ROUTE_RULES = 256;

/** The target name that drops (carbon-c-relay's). */
export const BLACKHOLE = 'blackhole';
