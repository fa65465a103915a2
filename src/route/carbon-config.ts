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
import { readIncluded } from './carbon-include.js';
import type { CarbonCluster, CarbonConfig, CarbonSource, CarbonStatistics, IncludedFile, ReadInclude } from './carbon-types.js';
import { CARBON_BLACKHOLE, CARBON_STATISTICS_INTERVAL_SECONDS, CARBON_STATISTICS_PREFIX } from './carbon-types.js';

export { CARBON_DEFAULT_PORT } from './carbon-address.js';

export * from './carbon-types.js';

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
