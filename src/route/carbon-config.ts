/**
 * carbon-c-relay 3.7's configuration file as a typed tree: the clusters, the match and rewrite
 * rules in file order, the statistics settings and the listeners, each with the file and line it
 * came from. parseCarbonConfig accepts exactly what carbon-c-relay accepts (checked against the
 * real binary in test/unit/carbon-config-oracle.test.ts), except the constructs the relay does not support,
 * which it refuses with one line naming them, and three checks it cannot make without the network
 * or a POSIX regex engine: expressions stay strings (their compiler must refuse what regcomp(3)
 * refuses), host names are compared as written (carbon-c-relay resolves them), and a listener's
 * host name is not resolved. Errors are RelayError ERR_CONFIG `FILE:LINE: message`.
 */
import { RelayError } from '../errors.js';
import { overlaps, serverKey } from './carbon-address.js';
import { type CarbonStatement, type StatisticsStatement, carbonStatements } from './carbon-syntax.js';
import { configError, unsupported } from './carbon-token-cursor.js';
import { type IncludedFile, readIncluded } from './carbon-include.js';

export { CARBON_DEFAULT_PORT } from './carbon-address.js';
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

function where(at: CarbonSource): string {
  return `${at.file}:${at.line}`;
}

/** Adds statements in order, checking what depends on earlier ones, as carbon-c-relay does while parsing. */
class ConfigBuilder {
  readonly config: CarbonConfig = { clusters: [], rules: [], listeners: [], files: [] };
  private readonly clusters = new Map<string, CarbonCluster>();
  private readonly servers = new Map<string, { instance?: string; tls: boolean; cluster: string; at: CarbonSource }>();
  private statisticsSendAt?: CarbonSource;
  private readonly including: string[] = [];

  constructor(private readonly readInclude: ReadInclude | undefined) {}

  addFile(text: string, file: string): void {
    if (!this.config.files.includes(file)) this.config.files.push(file);
    this.including.push(file);
    for (const statement of carbonStatements(text, file)) this.add(statement);
    this.including.pop();
  }

  private add(s: CarbonStatement): void {
    switch (s.kind) {
      case 'cluster':
        this.addCluster(s.cluster);
        return;
      case 'match':
        if (s.send !== undefined) this.checkDestinations(s, s.send, 'match: send to');
        this.config.rules.push(s);
        return;
      case 'rewrite':
        this.config.rules.push(s);
        return;
      case 'statistics':
        this.addStatistics(s);
        return;
      case 'listen':
        for (const l of s.listeners) {
          const earlier = this.config.listeners.find((other) => overlaps(l, other));
          if (earlier !== undefined) {
            throw configError(l, `listen ${l.host ?? '*'}:${l.port} proto ${l.proto} overlaps the listener of ${where(earlier)}`);
          }
          this.config.listeners.push(l);
        }
        return;
      case 'include':
        this.include(s.pattern, s);
        return;
    }
  }

  private addCluster(c: CarbonCluster): void {
    const any = c.type === 'any_of' || c.type === 'failover';
    for (const m of c.members) {
      const key = serverKey(m.host, m.port);
      const server = this.servers.get(key);
      const what = `cluster '${c.name}': member ${m.host.includes(':') ? `[${m.host}]` : m.host}:${m.port}`;
      if (server !== undefined) {
        const first = `cluster '${server.cluster}' at ${where(server.at)}`;
        if (server.instance !== m.instance) {
          const instance = (i: string | undefined): string => (i === undefined ? 'no instance' : `instance '${i}'`);
          throw configError(m, `${what}: ${instance(m.instance)}, but the same server has ${instance(server.instance)} in ${first} (one instance per server)`);
        }
        if (server.tls !== m.tls) throw unsupported(m, `${what}: one server with and without ssl`, `it is also in ${first}`);
        if (any) throw configError(m, `${what}: ${c.type} clusters cannot share a server (also in ${first})`);
      } else {
        this.servers.set(key, { ...(m.instance === undefined ? {} : { instance: m.instance }), tls: m.tls, cluster: c.name, at: m });
      }
    }
    if (c.name === CARBON_BLACKHOLE) throw configError(c, "cluster name 'blackhole' is reserved (the built-in cluster that discards)");
    const earlier = this.clusters.get(c.name);
    if (earlier !== undefined) throw configError(c, `cluster '${c.name}' is already defined at ${where(earlier)}`);
    if (c.replication > c.members.length) {
      throw configError(c, `cluster '${c.name}': replication ${c.replication} needs at least as many members, it has ${c.members.length}`);
    }
    this.clusters.set(c.name, c);
    this.config.clusters.push(c);
  }

  private checkDestinations(at: CarbonSource, names: string[], what: string): void {
    for (const name of names) {
      if (name !== CARBON_BLACKHOLE && !this.clusters.has(name))
        throw configError(at, `${what} '${name}': no cluster of that name is defined before this line`);
    }
  }

  private addStatistics(s: StatisticsStatement): void {
    if (s.send !== undefined) {
      this.checkDestinations(s, s.send, 'statistics: send to');
      if (this.statisticsSendAt !== undefined) {
        throw configError(s, `statistics: a second 'send to' (the first is at ${where(this.statisticsSendAt)}); name every cluster in one`);
      }
      this.statisticsSendAt = s;
    }
    const stats: CarbonStatistics = this.config.statistics ?? {
      file: s.file,
      line: s.line,
      intervalSeconds: CARBON_STATISTICS_INTERVAL_SECONDS,
      resetCounters: false,
      prefix: CARBON_STATISTICS_PREFIX,
    };
    this.config.statistics = stats;
    if (s.intervalSeconds !== undefined) stats.intervalSeconds = s.intervalSeconds;
    if (s.resetCounters !== undefined) stats.resetCounters = s.resetCounters;
    if (s.prefix !== undefined) stats.prefix = s.prefix;
    if (s.send !== undefined) stats.send = s.send;
  }

  private include(pattern: string, at: CarbonSource): void {
    if (this.readInclude === undefined) throw configError(at, `include '${pattern}': no files can be read here (parseCarbonConfig was given no readInclude)`);
    let files: IncludedFile[];
    try {
      files = this.readInclude(pattern, at);
    } catch (error) {
      if (error instanceof RelayError) throw error;
      throw configError(at, `include '${pattern}': ${(error as Error).message}`);
    }
    for (const f of files) {
      // carbon-c-relay has no guard: it recurses until it crashes
      if (this.including.includes(f.file)) throw configError(at, `include '${pattern}': a loop (${[...this.including, f.file].join(' includes ')})`);
      this.addFile(f.text, f.file);
    }
  }
}

/**
 * Parses carbon-c-relay configuration `text` (latin1: one char per byte), named `file` in errors;
 * `readInclude` reads what its `include` statements name (without it an include is an error).
 * Throws RelayError ERR_CONFIG at the first error.
 */
export function parseCarbonConfig(text: string, file: string, readInclude?: ReadInclude): CarbonConfig {
  const builder = new ConfigBuilder(readInclude);
  builder.addFile(text, file);
  return builder.config;
}

/** Reads and parses carbon-c-relay configuration `file` and its includes (relative paths against `cwd`, as carbon-c-relay does). */
export function readCarbonConfig(file: string, options: { cwd?: string } = {}): CarbonConfig {
  const cwd = options.cwd ?? process.cwd();
  let text: string;
  try {
    text = readIncluded(file, cwd, false)[0]!.text;
  } catch (error) {
    throw new RelayError('ERR_CONFIG', `carbon-c-relay config '${file}': ${(error as Error).message}`, { cause: error });
  }
  return parseCarbonConfig(text, file, (pattern) => readIncluded(pattern, cwd));
}
