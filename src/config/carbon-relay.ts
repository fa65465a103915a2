/**
 * A carbon-c-relay configuration (src/route/carbon-config.ts parses it) as the relay's own
 * (README "carbon-c-relay configurations"): clusters become destinations and groups, `match` and
 * `rewrite` rules become routing rules over cleansed Graphite lines, `listen` blocks listeners.
 *
 * - `forward`: each member a destination named after the cluster (every one gets what is sent to it);
 * - `any_of`, `failover`, `carbon_ch`, `fnv1a_ch`, `jump_fnv1a_ch`: a group of that name and mode
 *   (replication, dynamic and `=instance` as written); members are line-protocol TCP destinations
 *   (`?framing=lf`; `transport plain ssl`: tls@);
 * - `match e1 e2 ...`: one rule per expression, as carbon-c-relay runs them (a metric two of them
 *   match is sent twice); `send to blackhole` first: a drop, which stops;
 * - `statistics`: the relay's own figures as carbon-c-relay writes them (src/metrics/graphite-statistics.ts),
 *   every 60 s by default, through the rules, or first to the clusters of `send statistics to`;
 * - `listen`: line-protocol listeners (TCP `?framing=lf`, UDP `?split=lf`); without one (and none
 *   on the command line), carbon-c-relay's default: port 2003 on every interface, TCP and UDP.
 */
import { RelayError } from '../errors.js';
import {
  type CarbonConfig,
  CARBON_BLACKHOLE,
  CARBON_DEFAULT_PORT,
  CARBON_MATCH_ALL,
  type CarbonMember,
  CARBON_STATISTICS_INTERVAL_SECONDS,
  CARBON_STATISTICS_PREFIX,
} from '../route/carbon-config.js';
import type { RouteSpec, RuleSpec } from '../route/route-spec.js';
import { DESTINATION_ADDRESS, type Endpoint, LISTENER_ADDRESS, parseEndpoint } from './address.js';
import type { GroupTable } from './group-config.js';
import type { GraphiteStatistics } from './config.js';
import { statisticsPrefix } from '../metrics/graphite-statistics.js';
import { hostname } from 'node:os';

/** What a carbon-c-relay file gives the relay: its listeners (those of its `listen` statements), destinations (forward clusters' members), groups and rules. */
export interface CarbonRelayParts {
  listeners: Endpoint[];
  destinations: { endpoint: Endpoint; name: string; where: string }[];
  groups: GroupTable<{ endpoint: Endpoint; where: string }>[];
  routes: RouteSpec;
  statistics: GraphiteStatistics;
}

const GROUP_MODE = { any_of: 'any-of', failover: 'failover', carbon_ch: 'carbon_ch', fnv1a_ch: 'fnv1a_ch', jump_fnv1a_ch: 'jump_fnv1a_ch' } as const;

/** The relay's configuration parts for `config`. */
export function carbonRelayParts(config: CarbonConfig): CarbonRelayParts {
  const stats = config.statistics;
  const statistics: GraphiteStatistics = {
    intervalMs: (stats?.intervalSeconds ?? CARBON_STATISTICS_INTERVAL_SECONDS) * 1000,
    prefix: stats?.prefix ?? CARBON_STATISTICS_PREFIX,
    resetCounters: stats?.resetCounters ?? false,
  };
  const parts: CarbonRelayParts = {
    listeners: listenersOf(config),
    destinations: [],
    groups: [],
    routes: { subject: 'graphite', cleanse: true, rules: [] },
    statistics,
  };
  // `send statistics to`: the relay's own lines go there first, whatever the rules say (carbon-c-relay's stub route).
  if (stats?.send) {
    const prefix = statisticsPrefix(statistics.prefix, hostname()).replace(/[.[\]()*+?{}|^$\\]/g, '\\$&');
    parts.routes.rules.push({
      kind: 'match',
      match: [`^${prefix}\\.`],
      to: stats.send.filter((t) => t !== CARBON_BLACKHOLE),
      drop: stats.send[0] === CARBON_BLACKHOLE,
      stop: true,
      where: `${stats.file}:${stats.line}: statistics`,
    });
  }
  const servers = new Map<string, string>();
  for (const c of config.clusters) {
    const at = `${c.file}:${c.line}`;
    const members = c.members.map((m) => {
      const endpoint = memberEndpoint(m);
      const earlier = servers.get(endpoint.text);
      if (earlier !== undefined)
        throw new RelayError(
          'ERR_CONFIG',
          `${m.file}:${m.line}: cluster '${c.name}': ${endpoint.text} is also in cluster '${earlier}': the relay runs each destination once (not supported)`,
        );
      servers.set(endpoint.text, c.name);
      return { endpoint, instance: m.instance, where: `${m.file}:${m.line}` };
    });
    if (c.type === 'forward') {
      for (const m of members) parts.destinations.push({ endpoint: m.endpoint, name: c.name, where: m.where });
      continue;
    }
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(c.name))
      throw new RelayError('ERR_CONFIG', `${at}: cluster '${c.name}': a ${c.type} cluster's name must be letters, digits, "_", "." or "-" (it names a group)`);
    parts.groups.push({
      name: c.name,
      mode: GROUP_MODE[c.type],
      key: 'first-field',
      replication: c.replication,
      dynamic: c.dynamic,
      members: members.map((m) => ({ member: { endpoint: m.endpoint, where: m.where }, instance: m.instance })),
      where: at,
    });
  }
  for (const r of config.rules) {
    const where = `${r.file}:${r.line}`;
    if (r.kind === 'rewrite') {
      parts.routes.rules.push({ kind: 'rewrite', expression: r.expression, into: r.replacement, where });
      continue;
    }
    const send = r.send ?? [];
    const rule = (match: string[] | undefined): RuleSpec => ({
      kind: 'match',
      match,
      validate: r.validate && { expression: r.validate.expression, otherwise: r.validate.onFailure },
      to: send.filter((t) => t !== CARBON_BLACKHOLE),
      drop: send[0] === CARBON_BLACKHOLE,
      stop: r.stop,
      where,
    });
    for (const e of r.expressions) parts.routes.rules.push(rule(e === CARBON_MATCH_ALL ? undefined : [e]));
  }
  return parts;
}

/** A member as a destination address: line protocol over TCP (or TLS). */
function memberEndpoint(m: CarbonMember): Endpoint {
  const host = m.host.includes(':') ? `[${m.host}]` : m.host;
  return parseEndpoint(`${m.tls ? 'tls' : 'tcp'}@${host}:${m.port}?framing=lf`, DESTINATION_ADDRESS);
}

/** carbon-c-relay's listeners without a `listen` statement: port 2003 on every interface, TCP and UDP (the relay takes no unix socket). */
export function carbonDefaultListeners(): Endpoint[] {
  return listenerEndpoints([
    { host: undefined, port: CARBON_DEFAULT_PORT, proto: 'tcp' },
    { host: undefined, port: CARBON_DEFAULT_PORT, proto: 'udp' },
  ]);
}

function listenersOf(config: CarbonConfig): Endpoint[] {
  return listenerEndpoints(config.listeners);
}

function listenerEndpoints(listeners: readonly { host?: string; port: number; proto: 'tcp' | 'udp' }[]): Endpoint[] {
  return listeners.map((l) => {
    const host = l.host === undefined ? '0.0.0.0' : l.host.includes(':') ? `[${l.host}]` : l.host;
    return parseEndpoint(l.proto === 'tcp' ? `tcp@${host}:${l.port}?framing=lf` : `udp@${host}:${l.port}?split=lf`, LISTENER_ADDRESS);
  });
}
