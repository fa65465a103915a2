/**
 * The typed tree of a carbon-c-relay 3.7 configuration file (./carbon-config.ts builds it; the
 * relay's configuration reads it: src/config/carbon-relay.ts), and its few constants. Apart from the
 * parser so that its parts (lexer, syntax, addresses) depend on the types, not on each other.
 */
import type { IncludedFile } from './carbon-include.js';

export type { IncludedFile } from './carbon-include.js';

/** The expression that matches every metric (`*`, quoted or not). */
export const CARBON_MATCH_ALL = '*';
/** The built-in cluster that discards; a destination list may name it (`send to blackhole`). */
export const CARBON_BLACKHOLE = 'blackhole';
/** carbon-c-relay's statistics prefix without `prefix with`: a rewrite of the hostname by ^(([^.]+)(\..*)?)$. */
export const CARBON_STATISTICS_PREFIX = 'carbon.relays.\\.1';
/** carbon-c-relay's statistics interval without `submit every`. */
export const CARBON_STATISTICS_INTERVAL_SECONDS = 60;

/** Where a statement (or member, or listener) was written. */
export interface CarbonSource {
  file: string;
  /** 1-based. */
  line: number;
}

export type CarbonClusterType = 'forward' | 'any_of' | 'failover' | 'carbon_ch' | 'fnv1a_ch' | 'jump_fnv1a_ch';

/** A cluster member as carbon-c-relay holds it (a HashMember of src/group/consistent-hash.ts, plus TLS). */
export interface CarbonMember extends CarbonSource {
  /** As written, not resolved; an IPv6 address without its brackets. */
  host: string;
  /** 2003 when not written. */
  port: number;
  /** As stored: an unquoted all-digit instance goes through an int (`=007` is "7"). */
  instance?: string;
  /** `transport plain ssl`: TLS to this member (carbon-c-relay verifies it against its CA path). */
  tls: boolean;
}

export interface CarbonCluster extends CarbonSource {
  name: string;
  type: CarbonClusterType;
  /** 1 unless a hash cluster says `replication N` (1 to 255, at most its member count). */
  replication: number;
  /** Hash clusters only: a down member's metrics go to the other members. */
  dynamic: boolean;
  members: CarbonMember[];
}

/**
 * `match`: each expression is a rule of its own with the same clauses (a metric that two of them
 * match is sent twice, unless `stop`). Expressions are POSIX EREs as written, or CARBON_MATCH_ALL;
 * they see the metric name (src/route/carbon-cleanse.ts metricNameEnd), `validate` the rest.
 */
export interface CarbonMatch extends CarbonSource {
  kind: 'match';
  expressions: string[];
  /** On failure the metric is not sent by this rule; `log` also logs it. */
  validate?: { expression: string; onFailure: 'log' | 'drop' };
  /** Cluster names in order, CARBON_BLACKHOLE among them possibly; undefined without `send to`. */
  send?: string[];
  /**
   * Whether a match ends the processing, as carbon-c-relay decides: the `stop` keyword with `send
   * to`, always when the first destination is blackhole, never without `send to` (there a failed
   * validation ends the processing instead).
   */
  stop: boolean;
}

/** `rewrite EXPR into REPLACEMENT`: replaces the name in place; `\1`, `\_1` (lower), `\^1` (upper), `\.1` (dots to `_`). */
export interface CarbonRewrite extends CarbonSource {
  kind: 'rewrite';
  expression: string;
  replacement: string;
}

/** The statistics settings, merged over every `statistics` and `send statistics to` statement (at: the first). */
export interface CarbonStatistics extends CarbonSource {
  intervalSeconds: number;
  /** `reset counters after interval` in the last `statistics` statement: values are per interval, not cumulative. */
  resetCounters: boolean;
  prefix: string;
  /** Where the relay's own metrics go; undefined: through the rules like any metric. */
  send?: string[];
}

export interface CarbonListener extends CarbonSource {
  /** undefined: every interface (a port alone, or `:port`). */
  host?: string;
  port: number;
  proto: 'tcp' | 'udp';
}

export interface CarbonConfig {
  clusters: CarbonCluster[];
  /** In file order, includes read in place. */
  rules: (CarbonMatch | CarbonRewrite)[];
  /** Undefined when no statement sets it (carbon-c-relay's defaults then apply). */
  statistics?: CarbonStatistics;
  /** Empty: carbon-c-relay would listen on port 2003 (-p) on every interface, TCP and UDP, and a unix socket. */
  listeners: CarbonListener[];
  /** Every file read, the root first. */
  files: string[];
}

/** Reads the files of `include pattern;` (the pattern as written); throws an Error whose message says why not. */
export type ReadInclude = (pattern: string, at: CarbonSource) => IncludedFile[];
