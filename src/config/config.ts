/**
 * The relay's whole configuration as one validated value, and the checks that span options.
 * Each single value is parsed where it is typed (address.ts, size.ts); this module adds the
 * defaults and the rules between values.
 */
import type { FramingName } from '../framing/index.js';
import { RelayError } from '../errors.js';
import type { Endpoint } from './address.js';
import type { Cidr } from './cidr.js';
import type { InputLimits, ListenerTls, TlsClientOptions, UdpIngestPath, UnixSocketFile } from '../thread-protocol.js';
import { defaultOf } from './setting-values.js';
import type { GroupTable } from './group-config.js';
import type { RouteSpec } from '../route/route-spec.js';
import { checkRoutes } from '../route/router.js';

/** One destination: where, and for tls@ how (the files already read, src/config/tls-files.ts). */
export interface DestinationConfig {
  endpoint: Endpoint;
  /** Set exactly when endpoint.scheme is 'tls'. */
  tls: TlsClientOptions | undefined;
  /** A group member: its group, and its position in the group's member list. */
  member?: { group: GroupConfig; position: number };
  /** The name routing rules send to it by (README "Routing"); default: its address as written. */
  name?: string;
}

/** A destination group (README "Groups"); its members are also in RelayConfig.destinations. */
export type GroupConfig = GroupTable<Endpoint>;

export interface RelayConfig {
  listeners: Endpoint[];
  /** Plain destinations and group members, each in its own slot. */
  destinations: DestinationConfig[];
  groups: GroupConfig[];
  /** Framing of destinations and TCP listeners that name none. */
  framing: FramingName;
  /** Ring size actually used: `--buffer` rounded down to a power of two. */
  ringBytes: number;
  maxMessageBytes: number;
  recvBufferBytes: number;
  /** How UDP listeners receive: the native recvmmsg addon or node:dgram. */
  udpIngest: UdpIngestPath;
  /** Sources allowed to send; empty: everyone. */
  allow: Cidr[];
  /** Sources refused even inside `allow`. */
  deny: Cidr[];
  /** What tls@ listeners serve with (--listen-tls-*, read by the main thread); undefined without a tls@ listener. */
  listenerTls?: ListenerTls;
  /** --max-connections, --idle-timeout, --rate-limit, --rate-burst. */
  inputLimits: InputLimits;
  /** --unix-mode and --unix-owner: the socket file of unix@ listeners. */
  unixSocket: UnixSocketFile;
  /** --reuse-port: udp@, tcp@ and tls@ listeners bind with SO_REUSEPORT (src/ingest/reuse-port.ts). */
  reusePort: boolean;
  drainTimeoutMs: number;
  connectTimeoutMs: number;
  stallTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** relp@ destinations: most commands unanswered at once. */
  relpWindow: number;
  /** --max-delay (src/egress/egress.ts, Egress.park). */
  maxDelayMs: number;
  /** --spill-dir and --spill-max; absent: a lagging destination's oldest data is dropped. */
  spill: { dir: string; maxBytes: number } | undefined;
  /** How stale the ring's HEAD may get while ingest does not ask for space. */
  reclaimIntervalMs: number;
  /** Repeated warnings of one cause: at most one line per this interval. */
  logIntervalMs: number;
  /** Routing rules (README "Routing"); undefined: every destination and group gets every message. */
  routes?: RouteSpec;
  /** The relay's own statistics as Graphite lines through the ring (a carbon-c-relay file's `statistics`). */
  statistics?: GraphiteStatistics;
}

/** carbon-c-relay's `statistics`: every `intervalMs`, lines `PREFIX.NAME VALUE TIME` (prefix a rewrite template of the host name). */
export interface GraphiteStatistics {
  intervalMs: number;
  /** carbon-c-relay's `prefix with`: `\1` the host name, `\2` its short name, `\3` its domain (with its dot). */
  prefix: string;
  /** Values per interval, not totals since start (`reset counters after interval`). */
  resetCounters: boolean;
}

/** The defaults of the settings (src/config/settings.ts), by RelayConfig's names, and of the policies that are not settings. */
export const DEFAULTS = {
  framing: defaultOf('framing'),
  bufferBytes: defaultOf('buffer'),
  maxMessageBytes: defaultOf('max-message'),
  recvBufferBytes: defaultOf('recv-buffer'),
  drainTimeoutMs: defaultOf('drain-timeout'),
  connectTimeoutMs: defaultOf('connect-timeout'),
  stallTimeoutMs: defaultOf('stall-timeout'),
  spillMaxBytes: defaultOf('spill-max'),
  statsIntervalMs: defaultOf('stats-interval'),
  reconnectMinMs: defaultOf('reconnect-min'),
  reconnectMaxMs: defaultOf('reconnect-max'),
  relpWindow: defaultOf('relp-window'),
  maxDelayMs: defaultOf('max-delay'),
  inputLimits: { maxConnections: defaultOf('max-connections'), idleTimeoutMs: defaultOf('idle-timeout'), rateLimit: undefined },
  unixSocket: { mode: defaultOf('unix-mode'), owner: undefined },
  reusePort: defaultOf('reuse-port'),
  reclaimIntervalMs: 1000,
  logIntervalMs: 10_000,
};

/**
 * The most listeners and destinations (group members included) a configuration has. The ring and
 * the counters have slots for them, allocated at start, so a reload can add some to a running
 * relay: a removed destination keeps its slot while it drains (up to --drain-timeout), so there
 * are DESTINATION_SLOTS, twice the most destinations, and any reload between two configurations
 * within the limit finds slots for what it adds (a group that changed is replaced whole). The
 * slots cost little: 8 bytes of the ring's control block and DESTINATION_FIELD_COUNT counters of
 * 8 bytes each per slot (ARCHITECTURE.md "Groups" has the total).
 */
export const MAX_DESTINATIONS = 256;
export const DESTINATION_SLOTS = 2 * MAX_DESTINATIONS;
export const MAX_LISTENERS = 64;

/** Checks the rules between values that no single parser can see. */
export function validateConfig(config: RelayConfig): RelayConfig {
  if (config.destinations.length === 0) {
    throw new RelayError('ERR_BAD_OPTION', 'no destination: give at least one tcp@HOST:PORT after the listener');
  }
  // A destination is its address and framing: it owns a spill directory and a replay position,
  // so the same one twice would share them (and a user who wants two copies runs two sinks).
  const seen = new Set<string>();
  for (const { endpoint: d } of config.destinations) {
    const identity = destinationIdentity(d, config.framing);
    if (seen.has(identity)) {
      throw new RelayError('ERR_BAD_OPTION', `destination ${d.text} is given twice (framing ${d.framing ?? config.framing}): each destination may appear once`);
    }
    seen.add(identity);
  }
  if (config.destinations.length > MAX_DESTINATIONS) {
    throw new RelayError('ERR_BAD_OPTION', `${config.destinations.length} destinations: a relay runs at most ${MAX_DESTINATIONS}`);
  }
  if (config.listeners.length > MAX_LISTENERS) {
    throw new RelayError('ERR_BAD_OPTION', `${config.listeners.length} listeners: a relay runs at most ${MAX_LISTENERS}`);
  }
  const names = new Set<string>();
  for (const g of config.groups) {
    if (names.has(g.name)) throw new RelayError('ERR_BAD_OPTION', `group ${g.name} is given twice: each group needs its own name`);
    names.add(g.name);
  }
  if (config.reconnectMinMs > config.reconnectMaxMs) {
    throw new RelayError('ERR_BAD_OPTION', `--reconnect-min ${config.reconnectMinMs}ms is above --reconnect-max ${config.reconnectMaxMs}ms`);
  }
  if (config.routes) checkRoutes(config.routes, routeNames(config));
  return config;
}

/** The names routes may send to: each group's, and each plain destination's (its name, else its address). */
export function routeNames(config: RelayConfig): Set<string> {
  const names = new Set(config.groups.map((g) => g.name));
  for (const d of config.destinations) {
    if (d.member) continue;
    const name = d.name ?? d.endpoint.text;
    if (d.name !== undefined && names.has(name) && config.groups.some((g) => g.name === name))
      throw new RelayError('ERR_CONFIG', `destination ${d.endpoint.text} is named ${name}, as a group is: routes could not tell them apart`);
    names.add(name);
  }
  return names;
}

/**
 * What makes a destination itself: its scheme, address and framing. It owns a spill directory
 * and a cursor under this identity; a reload that keeps it keeps them.
 */
export function destinationIdentity(d: Endpoint, defaultFraming: FramingName): string {
  return `${d.scheme}@${d.host}:${d.port} ${d.framing ?? defaultFraming}`;
}

/**
 * What a reload compares destinations by: the identity, and for a group member its group as a
 * whole (a group that changes in any way is replaced whole: its members finish and start again,
 * each handing its backlog to its successor through its spill directory, as a destination
 * removed and added again does).
 */
export function destinationKey(d: DestinationConfig, defaultFraming: FramingName): string {
  const identity = destinationIdentity(d.endpoint, defaultFraming);
  if (!d.member) return d.name === undefined ? identity : `${identity} named ${d.name}`;
  const { group, position } = d.member;
  const members = group.members.map((m) => [destinationIdentity(m.member, defaultFraming), m.instance ?? '']);
  const { name, mode, key, replication, dynamic } = group;
  return `${identity} member ${position} of ${JSON.stringify({ name, mode, key, replication, dynamic, members })}`;
}
