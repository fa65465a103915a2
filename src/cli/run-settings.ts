/**
 * Everything the relay command runs with, from one place: the command line, and the --config
 * file under it (options given on the command line override the file's; addresses given on the
 * command line add destinations to the file's). loadSettings() is called at start, by
 * --check-config and on every SIGHUP, so a reload reads the file, and every TLS file, again.
 */
import type { Command } from 'commander';
import { DESTINATION_ADDRESS, LISTENER_ADDRESS, parseEndpoint, type Endpoint, type HostPort } from '../config/address.js';
import { readConfigFile } from '../config/config-file.js';
import { carbonDefaultListeners, carbonRelayParts } from '../config/carbon-relay.js';
import { readCarbonConfig } from '../route/carbon-config.js';
import { checkHashMembers, readGroupTable, type GroupTable } from '../config/group-config.js';
import { MAX_ROUTE_RULES, type RouteSpec, type RuleSpec } from '../route/route-spec.js';
import { readRouteOptions } from '../config/route-config.js';
import { SETTINGS, burstOf } from '../config/settings.js';
import { camelCase, type SettingValues } from '../config/setting-values.js';
import type { Setting } from '../config/setting-kinds.js';
import { ringBytesFor } from '../config/ring-size.js';
import { DEFAULTS, validateConfig, type DestinationConfig, type GroupConfig, type RelayConfig } from '../config/config.js';
import { loadTlsClient, loadTlsServer, type TlsSettings } from '../config/tls-files.js';
import { RelayError } from '../errors.js';
import { checkUnixListeners, chooseUdpIngest } from '../ingest/udp-path.js';
import { checkReusePort } from '../ingest/reuse-port.js';
import { formatUnixMode, unixSocketFile } from '../config/unix-socket.js';
import type { LogFormat } from '../logging.js';
import type { ListenerTls, LogLevel } from '../thread-protocol.js';

/** The run command's option values, by commander attribute name (one per setting: src/config/settings.ts). */
export type RunOptions = SettingValues;

/** The relay's configuration plus what the main thread alone uses. */
export interface RunSettings {
  config: RelayConfig;
  /** The --config file, if any. */
  file: string | undefined;
  metrics: HostPort | undefined;
  statsIntervalMs: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Why UDP falls back to node:dgram, when it does. */
  ingestWarning: string | undefined;
  /** Every setting's value, the file's under the command line's (what --check-config shows). */
  values: RunOptions;
}

/**
 * Reads the file (if any) and merges the command line over it. `addresses` are the positional
 * arguments: without a file, a listener then destinations; with one, destinations only.
 * Throws RelayError (exit 2) with one line naming the file and key.
 */
export function loadSettings(command: Command, addresses: string[], cli: RunOptions): RunSettings {
  const checked = typeof cli.checkConfig === 'string' ? cli.checkConfig : undefined;
  if (cli.config !== undefined && checked !== undefined && cli.config !== checked) {
    throw new RelayError('ERR_BAD_OPTION', `--config ${cli.config} and --check-config ${checked} name two files: give one`);
  }
  if (cli.carbonConfig !== undefined && (cli.config ?? checked) !== undefined) {
    throw new RelayError(
      'ERR_BAD_OPTION',
      `--carbon-config ${cli.carbonConfig} and a TOML file (${cli.config ?? checked}): give one (check a carbon-c-relay file with --carbon-config FILE --check-config)`,
    );
  }
  const path = checked ?? cli.config;
  const file = path === undefined ? undefined : readConfigFile(path);
  const carbon = cli.carbonConfig === undefined ? undefined : carbonRelayParts(readCarbonConfig(cli.carbonConfig));
  const o = { ...cli } as Record<string, unknown>;
  for (const [key, value] of file?.options ?? []) if (command.getOptionValueSource(camelCase(key)) !== 'cli') o[camelCase(key)] = value;
  const options = o as unknown as RunOptions;

  let listeners: Endpoint[];
  let extra: string[];
  if (carbon) {
    // Every address given is a listener: the file names the destinations.
    const given = [...addresses.map((a) => parseEndpoint(a, LISTENER_ADDRESS)), ...options.listen];
    listeners = [...carbon.listeners, ...given];
    if (listeners.length === 0) listeners = carbonDefaultListeners();
    extra = [];
  } else if (file) {
    listeners = options.listen;
    extra = addresses;
    if (listeners.length === 0) throw new RelayError('ERR_BAD_OPTION', `${file.path}: no listener: give listen = ["udp@HOST:PORT"] (or --listen)`);
  } else {
    const [listener, ...rest] = addresses;
    if (listener === undefined) throw new RelayError('ERR_BAD_OPTION', `missing required argument 'listener' (or give --config FILE)`);
    listeners = [parseEndpoint(listener, LISTENER_ADDRESS), ...options.listen];
    extra = rest;
  }
  const defaults: TlsSettings = { caFile: options.tlsCa, certFile: options.tlsCert, keyFile: options.tlsKey, servername: undefined };
  const destinations: DestinationConfig[] = [
    ...(file?.destinations ?? []).map((d) => ({ ...destination(d.endpoint, { ...defaults, ...d.tls }, d.where), name: d.name })),
    ...extra.map((text) => destination(parseEndpoint(text, DESTINATION_ADDRESS), defaults, '')),
    ...(carbon?.destinations ?? []).map((d) => ({ ...destination(d.endpoint, defaults, d.where), name: d.name })),
  ];
  const tables = [
    ...(file?.groups ?? []).map((g) => ({
      ...g,
      members: g.members.map((m) => ({ ...m, member: destination(m.member.endpoint, { ...defaults, ...m.member.tls }, m.member.where) })),
    })),
    ...options.group.map((table, i) => readGroupTable(table, `--group ${i + 1}`, (m, where) => destination(memberAddress(m, where), defaults, where))),
    ...(carbon?.groups ?? []).map((g) => ({
      ...g,
      members: g.members.map((m) => ({ ...m, member: destination(m.member.endpoint, defaults, m.member.where) })),
    })),
  ];
  const groups = tables.map((t) => groupOf(t, destinations));
  if (file && destinations.length === 0) {
    throw new RelayError('ERR_BAD_OPTION', `${file.path}: no destination: add a [[destination]] table with address = "tcp@HOST:PORT" (or a [[group]])`);
  }
  const listenerTls = tlsListening(listeners, options);
  if (options.rateBurst !== 0 && options.rateLimit === 0) {
    throw new RelayError('ERR_BAD_OPTION', `--rate-burst ${options.rateBurst} without --rate-limit: give --rate-limit N (messages per second per source) too`);
  }
  if (carbon && options.route.length > 0)
    throw new RelayError('ERR_BAD_OPTION', `--route with --carbon-config: write the rule in ${cli.carbonConfig} (match … send to …;)`);
  const ingest = chooseUdpIngest(options.ingest);
  checkUnixListeners(listeners);
  checkReusePort(options.reusePort, listeners, ingest.path);
  const config = validateConfig({
    listeners,
    destinations,
    groups,
    framing: options.framing,
    ringBytes: ringBytesFor(options.buffer, options.maxMessage),
    maxMessageBytes: options.maxMessage,
    recvBufferBytes: options.recvBuffer,
    udpIngest: ingest.path,
    drainTimeoutMs: options.drainTimeout,
    connectTimeoutMs: options.connectTimeout,
    stallTimeoutMs: options.stallTimeout,
    allow: options.allow,
    deny: options.deny,
    listenerTls,
    inputLimits: {
      maxConnections: options.maxConnections,
      idleTimeoutMs: options.idleTimeout,
      rateLimit: options.rateLimit === 0 ? undefined : { perSecond: options.rateLimit, burst: burstOf(options.rateLimit, options.rateBurst) },
    },
    unixSocket: unixSocketFile(options.unixMode, options.unixOwner),
    reusePort: options.reusePort,
    spill: options.spillDir === undefined ? undefined : { dir: options.spillDir, maxBytes: options.spillMax },
    reconnectMinMs: options.reconnectMin,
    reconnectMaxMs: options.reconnectMax,
    relpWindow: options.relpWindow,
    maxDelayMs: options.maxDelay,
    reclaimIntervalMs: DEFAULTS.reclaimIntervalMs,
    logIntervalMs: DEFAULTS.logIntervalMs,
    routes: carbon ? carbon.routes : messageRoutes([...(file?.routes ?? []), ...readRouteOptions(options.route)]),
    statistics: carbon?.statistics,
  });
  return {
    config,
    file: file?.path ?? cli.carbonConfig,
    metrics: options.metrics,
    statsIntervalMs: options.statsInterval,
    logLevel: options.quiet ? 'warn' : options.verbose ? 'debug' : 'info',
    logFormat: options.logFormat,
    ingestWarning: ingest.warning,
    values: options,
  };
}

/** A group's configuration; its members join `destinations`, each in its own slot. */
/** What tls@ listeners serve with: the --listen-tls-* files, read now; undefined without a tls@ listener (or files). */
function tlsListening(listeners: Endpoint[], options: RunOptions): ListenerTls | undefined {
  const { listenTlsCert: certFile, listenTlsKey: keyFile, listenTlsCa: caFile } = options;
  const tlsListener = listeners.find((l) => l.scheme === 'tls');
  if (certFile === undefined || keyFile === undefined) {
    if (tlsListener)
      throw new RelayError('ERR_BAD_OPTION', `listener ${tlsListener.text}: give --listen-tls-cert and --listen-tls-key (the certificate it presents)`);
    if (certFile !== undefined || keyFile !== undefined || caFile !== undefined)
      throw new RelayError('ERR_BAD_OPTION', '--listen-tls-cert and --listen-tls-key go together (and --listen-tls-ca with them)');
    return undefined;
  }
  return loadTlsServer({ certFile, keyFile, caFile });
}

/** The rules of the file and then of --route (whole messages); undefined without any: every destination and group gets every message. */
function messageRoutes(rules: RuleSpec[]): RouteSpec | undefined {
  if (rules.length > MAX_ROUTE_RULES)
    throw new RelayError('ERR_CONFIG', `${rules.length} routes (the file's and --route); a relay has at most ${MAX_ROUTE_RULES}`);
  return rules.length > 0 ? { subject: 'message', cleanse: false, rules } : undefined;
}

function groupOf(table: GroupTable<DestinationConfig>, destinations: DestinationConfig[]): GroupConfig {
  const group: GroupConfig = { ...table, members: table.members.map((m) => ({ member: m.member.endpoint, instance: m.instance })) };
  checkHashMembers(group, (i) => group.members[i]!.member, group.where);
  for (const [position, m] of table.members.entries()) destinations.push({ ...m.member, member: { group, position } });
  return group;
}

/** A --group member: an address (the compact form has no per-member keys). */
function memberAddress(member: Record<string, unknown>, where: string): Endpoint {
  try {
    return parseEndpoint(String(member.address), { ...DESTINATION_ADDRESS, what: 'address' });
  } catch (error) {
    throw new RelayError((error as RelayError).code ?? 'ERR_BAD_ADDRESS', `${where}: ${(error as Error).message}`, { cause: error });
  }
}

/** A destination with its TLS settings read (tls@ only; `where` prefixes errors about its files). */
function destination(endpoint: Endpoint, tls: TlsSettings, where: string): DestinationConfig {
  return { endpoint, tls: endpoint.scheme === 'tls' ? loadTlsClient(tls, where) : undefined };
}

/**
 * What --check-config prints: everything the relay would run with, one item per line. Listeners
 * and destinations get a line each; every other setting is shown as its row in the settings
 * table says (`show`), the fragments of one summary line joined in table order.
 */
export function describeSettings(s: RunSettings): string {
  const c = s.config;
  const lines = [`${s.file ?? 'command line'}: ok`];
  for (const l of c.listeners) {
    const split = l.split === undefined ? '' : ', split into lines';
    const tlsHow = c.listenerTls?.ca === undefined ? 'TLS' : 'TLS, client certificates signed by --listen-tls-ca required';
    const how =
      l.scheme === 'udp'
        ? `UDP via ${c.udpIngest === 'native' ? 'native recvmmsg' : 'node:dgram'}${split}`
        : l.scheme === 'unix'
          ? unixHow(c, split)
          : `framed ${l.scheme === 'tls' ? `${tlsHow}` : 'TCP'}, ${l.framing ?? c.framing}${l.proxy ? `, after a PROXY ${l.proxy} header` : ''}`;
    const shared = c.reusePort && l.scheme !== 'unix' ? ', port shared with SO_REUSEPORT' : '';
    lines.push(`listen      ${l.text} (${how}${shared})`);
  }
  const describe = ({ endpoint: d, tls, member }: DestinationConfig): string => {
    const parts = [`framing ${d.framing ?? c.framing}`];
    const instance = member?.group.members[member.position]?.instance;
    if (instance !== undefined) parts.push(`instance ${instance}`);
    if (tls) {
      parts.push(`TLS verified against the system CAs${tls.ca ? ' + tls-ca' : ''}, name ${tls.servername ?? d.host}`);
      if (tls.cert) parts.push('client certificate');
    }
    return `${d.text} (${parts.join('; ')})`;
  };
  for (const d of c.destinations) if (!d.member) lines.push(`destination ${describe(d)}${d.name === undefined ? '' : ` named ${d.name}`}`);
  for (const g of c.groups) {
    const how = [g.mode === 'failover' || g.mode === 'least-loaded' ? g.mode : `${g.mode} by ${g.key}`];
    if (g.replication > 1) how.push(`replication ${g.replication}`);
    if (g.dynamic) how.push('dynamic');
    lines.push(`group       ${g.name} (${how.join(', ')})`);
    for (const d of c.destinations) if (d.member?.group === g) lines.push(`  member    ${describe(d)}`);
  }
  for (const r of c.routes?.rules ?? []) lines.push(`route       ${describeRule(r)}`);
  const summary = new Map<string, string[]>();
  const values = s.values as unknown as Record<string, unknown>;
  for (const setting of SETTINGS as readonly Setting[]) {
    if (typeof setting.show !== 'object') continue;
    const text = setting.show.text(values[camelCase(setting.key)], values);
    const fragments = summary.get(setting.show.line) ?? [];
    if (text !== undefined) fragments.push(text);
    summary.set(setting.show.line, fragments);
  }
  for (const [line, fragments] of summary) lines.push(`${line.padEnd(11)} ${fragments.join(', ')}`);
  if (s.ingestWarning) lines.push(`note        ${s.ingestWarning}`);
  return `${lines.join('\n')}\n`;
}

/** How a unix@ listener receives, its socket file, and (when any is set) that the per-source rules pass it by. */
function unixHow(c: RelayConfig, split: string): string {
  const { mode, owner } = c.unixSocket;
  const file = `socket file mode ${formatUnixMode(mode)}${owner ? `, owner ${owner.text}` : ''}`;
  const sourceRules = c.allow.length > 0 || c.deny.length > 0 || c.inputLimits.rateLimit !== undefined;
  const unapplied = sourceRules ? '; --allow, --deny and --rate-limit do not apply (its senders have no address)' : '';
  return `Unix datagrams via native recvmmsg${split}, ${file}${unapplied}`;
}

/** One routing rule on one line, as carbon-c-relay would write it. */
function describeRule(r: RuleSpec): string {
  if (r.kind === 'rewrite') return `rewrite ${r.expression} into ${r.into}`;
  const parts = [`match ${r.match?.join(' ') ?? '*'}`];
  if (r.validate) parts.push(`validate ${r.validate.expression} else ${r.validate.otherwise}`);
  if (r.drop) parts.push('send to blackhole');
  else if (r.to.length > 0) parts.push(`send to ${r.to.join(' ')}`);
  if (r.stop) parts.push('stop');
  return parts.join(' ');
}
