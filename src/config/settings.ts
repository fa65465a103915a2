/**
 * The relay's settings, one row each: the one definition of a setting's name, value, default,
 * bounds, scope, when a change applies, and help. Derived from it: the run command's options
 * (src/cli/run.ts), the TOML reader's keys and checks (src/config/config-file.ts), the option
 * values' type (`SettingValues`), `DEFAULTS` (src/config/config.ts), the reload plan's
 * restart-only list (src/main/reload-plan.ts) and README.md's option table
 * (test/unit/settings.test.ts keeps the README in sync). Adding a setting is one row here, plus
 * its use: where loadSettings() (src/cli/run-settings.ts) puts its value and what reads it.
 *
 * Every `parse` throws RelayError naming the option as typed (`--buffer "64XB": …`); the CLI turns
 * that into commander's argument error, the TOML reader into `FILE: buffer "64XB": …`.
 */
import { LISTENER_ADDRESS, parseEndpoint, parseHostPort, type Endpoint, type HostPort } from './address.js';
import { parseCidr, type Cidr } from './cidr.js';
import { duration, parseFilePath, parseFramingOption, row, size, type Setting } from './setting-kinds.js';
import { ringBytesFor } from './ring-size.js';
import { parseGroupOption } from './group-config.js';
import { formatBytes, formatDurationMs, parseCount } from './size.js';
import type { FramingName } from '../framing/index.js';
import { UDP_INGEST_CHOICES, type UdpIngestChoice } from '../ingest/udp-path.js';
import type { LogFormat } from '../logging.js';

const MIB = 1024 * 1024;
const HOUR_MS = 3_600_000;

const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** Every setting of the run command, in --help order. */
export const SETTINGS = [
  row({
    key: 'config',
    arg: '<file>',
    parse: parseFilePath,
    default: undefined as string | undefined,
    scope: 'command line',
    applied: 'live',
    commandLineOnly: true,
    show: 'not shown',
    help: 'read the configuration from this TOML file (keys are these long option names); SIGHUP reloads it',
    readme: 'read the configuration from a TOML file (below); SIGHUP reloads it',
  }),
  row({
    key: 'check-config',
    arg: '<file>',
    parse: parseFilePath,
    default: undefined as string | undefined,
    scope: 'command line',
    applied: 'live',
    commandLineOnly: true,
    show: 'not shown',
    help: 'check the TOML file (and its TLS files) as --config would, print what would run, and exit',
    readme: 'check the file (and the TLS files it names) as `--config` would, print what would run, exit 0, or 2 with the error',
  }),
  row({
    key: 'listen',
    arg: '<address>',
    parse: (text: string, previous: Endpoint[] | undefined) => [...(previous ?? []), parseEndpoint(text, LISTENER_ADDRESS)],
    default: [] as Endpoint[],
    unset: 'none',
    scope: 'relay',
    applied: 'live',
    show: 'listeners',
    help: 'another listener (repeatable)',
    readme: 'another listener (repeatable); in the TOML file, `listen` lists every listener',
  }),
  row({
    key: 'framing',
    arg: '<name>',
    parse: parseFramingOption,
    default: 'len32le' as FramingName,
    scope: 'destination',
    applied: 'live',
    show: 'destinations',
    help: 'default framing of destinations and TCP listeners',
    readme: 'framing of destinations (and TCP listeners) that name none',
  }),
  row({
    key: 'group',
    arg: '<spec>',
    parse: (text: string, previous: Record<string, unknown>[] | undefined) => [...(previous ?? []), parseGroupOption(text)],
    default: [] as Record<string, unknown>[],
    unset: 'none',
    scope: 'relay',
    applied: 'live',
    commandLineOnly: true,
    show: 'destinations',
    help: 'a destination group: "name=NAME mode=MODE members=ADDRESS,ADDRESS" (repeatable; see the README)',
    readme:
      'a destination group whose members share its messages (repeatable): `"name=carbon mode=carbon_ch members=tcp@10.0.0.1:2003#a,tcp@10.0.0.2:2003#b"`, the keys of a `[[group]]` table (below) separated by spaces',
  }),
  row({
    ...size('buffer', 64 * MIB, { min: 64 * 1024, max: 1024 * MIB }),
    arg: '<size>',
    scope: 'relay',
    applied: 'restart',
    show: { line: 'ring', text: (bytes, v) => formatBytes(ringBytesFor(bytes, v.maxMessage as number)) },
    help: 'ring size, rounded down to a power of two',
    readme: 'ring size (all that is held in memory), rounded down to a power of two; at least 4 max-size messages',
  }),
  row({
    ...size('max-message', 65535, { min: 1, max: 16 * MIB }),
    arg: '<bytes>',
    scope: 'relay',
    applied: 'restart',
    show: { line: 'ring', text: (bytes) => `messages up to ${bytes} bytes` },
    help: 'largest message accepted; larger ones are counted and dropped',
  }),
  row({
    ...size('recv-buffer', 32 * MIB, { min: 4096, max: 2048 * MIB }),
    arg: '<bytes>',
    scope: 'relay',
    applied: 'restart',
    show: { line: 'ring', text: (bytes) => `SO_RCVBUF ${formatBytes(bytes)}` },
    help: 'SO_RCVBUF asked for on UDP listeners (capped by net.core.rmem_max)',
    readme:
      'SO_RCVBUF asked for on UDP listeners; Linux caps it at `net.core.rmem_max` (the relay warns). On the native path a relay with CAP_NET_ADMIN (root) gets it past that cap (`SO_RCVBUFFORCE`, as rsyslog does)',
  }),
  row({
    key: 'ingest',
    arg: '<path>',
    choices: UDP_INGEST_CHOICES,
    default: 'auto' as UdpIngestChoice,
    scope: 'relay',
    applied: 'restart',
    show: 'listeners',
    help: 'how UDP is received: native (recvmmsg addon, batched), dgram (node:dgram), or auto (native when built)',
    readme: 'how UDP is received: `native` (the recvmmsg addon), `dgram` (`node:dgram`), `auto` (native when built)',
  }),
  row({
    ...duration('drain-timeout', 5000, { min: 0, max: HOUR_MS }),
    arg: '<duration>',
    scope: 'relay',
    applied: 'live',
    show: { line: 'timeouts', text: (ms) => `drain ${formatDurationMs(ms)}` },
    help: 'on SIGINT/SIGTERM, how long to keep delivering what was received',
    readme: 'on SIGINT/SIGTERM, how long to keep delivering what was received; also how long a destination a reload removed keeps delivering',
  }),
  row({
    ...duration('connect-timeout', 5000, { min: 1, max: HOUR_MS }),
    arg: '<duration>',
    scope: 'destination',
    applied: 'live',
    show: { line: 'timeouts', text: (ms) => `connect ${formatDurationMs(ms)}` },
    help: 'give up a connection attempt after this long',
  }),
  row({
    ...duration('stall-timeout', 30_000, { min: 1, max: HOUR_MS }),
    arg: '<duration>',
    scope: 'destination',
    applied: 'live',
    show: { line: 'timeouts', text: (ms) => `stall ${formatDurationMs(ms)}` },
    help: 'close a connection whose pending write made no progress for this long',
    readme: 'a connection whose pending write made no progress this long is closed and retried',
  }),
  row({
    key: 'spill-dir',
    arg: '<dir>',
    default: undefined as string | undefined,
    unset: 'none',
    path: true,
    scope: 'relay',
    applied: 'restart',
    show: { line: 'spill', text: (dir) => dir ?? 'off (a lagging destination loses its oldest messages)' },
    help: "write a lagging destination's oldest data here instead of dropping it; replayed in order, also after a restart",
    readme:
      "write a lagging destination's oldest data here instead of dropping it; replayed in order, also after a restart. One relay per directory: a relay holds `DIR/.relay.lock` while it runs, a second relay started on `DIR` exits 1 saying which pid holds it, and the lock a crashed relay left behind is taken over",
  }),
  row({
    ...size('spill-max', 1024 * MIB, { min: MIB, max: 2 ** 50 }),
    arg: '<size>',
    scope: 'destination',
    applied: 'restart',
    show: { line: 'spill', text: (bytes, v) => (v.spillDir === undefined ? undefined : `up to ${formatBytes(bytes)} per destination`) },
    help: 'most bytes spilled per destination; beyond it data is dropped and counted',
    readme: 'most bytes spilled per destination; past it, data that would be spilled is dropped and counted',
  }),
  row({
    key: 'allow',
    arg: '<cidr>',
    parse: (text: string, previous: Cidr[] | undefined) => [...(previous ?? []), parseCidr(text)],
    default: [] as Cidr[],
    defaultText: 'everyone',
    scope: 'relay',
    applied: 'live',
    show: { line: 'allow', text: (blocks) => (blocks.length === 0 ? 'everyone' : blocks.map((b) => b.text).join(', ')) },
    help: 'accept only sources in this block, e.g. 10.0.0.0/8 (repeatable)',
    readme: 'accept datagrams and TCP inputs only from these sources (repeatable), e.g. `10.0.0.0/8`, `::1`',
  }),
  row({
    ...duration('reconnect-min', 100, { min: 1, max: HOUR_MS }),
    arg: '<duration>',
    scope: 'destination',
    applied: 'live',
    show: { line: 'timeouts', text: (ms) => `reconnect from ${formatDurationMs(ms)}` },
    help: 'first reconnect delay (doubles, with jitter)',
    readme: 'first reconnect delay: doubles up to `--reconnect-max`, with jitter; names are resolved again on every attempt',
  }),
  row({
    ...duration('reconnect-max', 30_000, { min: 1, max: HOUR_MS }),
    arg: '<duration>',
    scope: 'destination',
    applied: 'live',
    show: { line: 'timeouts', text: (ms) => `up to ${formatDurationMs(ms)}` },
    help: 'longest reconnect delay',
  }),
  row({
    key: 'relp-window',
    arg: '<commands>',
    parse: (text: string) => parseCount(text, '--relp-window', { min: 1, max: 65_536 }),
    default: 128,
    scope: 'destination',
    applied: 'restart',
    show: { line: 'relp', text: (n) => `window ${n} unanswered commands` },
    help: 'relp@ destinations: most syslog commands unanswered at once (as rsyslog omrelp)',
    readme: "`relp@` destinations: most `syslog` commands unanswered at once (the default is rsyslog omrelp's)",
  }),
  row({
    key: 'tls-ca',
    arg: '<file>',
    parse: parseFilePath,
    default: undefined as string | undefined,
    unset: 'system store',
    path: true,
    scope: 'destination',
    applied: 'live',
    show: 'destinations',
    help: 'PEM CA certificates that tls@ destinations may be signed by (besides the system store)',
    readme: "PEM CA certificates `tls@` destinations may be signed by, trusted besides Node's CA store",
  }),
  row({
    key: 'tls-cert',
    arg: '<file>',
    parse: parseFilePath,
    default: undefined as string | undefined,
    unset: 'none',
    path: true,
    scope: 'destination',
    applied: 'live',
    show: 'destinations',
    help: 'PEM client certificate presented to tls@ destinations (mutual TLS; with --tls-key)',
    readme: 'PEM client certificate presented to `tls@` destinations (mutual TLS; with `--tls-key`)',
  }),
  row({
    key: 'tls-key',
    arg: '<file>',
    parse: parseFilePath,
    default: undefined as string | undefined,
    unset: 'none',
    path: true,
    scope: 'destination',
    applied: 'live',
    show: 'destinations',
    help: 'PEM private key of --tls-cert',
    readme: 'PEM private key of `--tls-cert`',
  }),
  row({
    key: 'metrics',
    arg: '<host:port>',
    parse: (text: string) => parseHostPort(text, '--metrics', true),
    default: undefined as HostPort | undefined,
    unset: 'off',
    scope: 'main',
    applied: 'restart',
    show: { line: 'metrics', text: (at) => (at ? `http://${at.text}/metrics` : 'off') },
    help: 'serve /metrics (Prometheus), /stats (JSON) and /health over HTTP here',
    readme: 'serve `/metrics` (Prometheus), `/stats` (JSON) and `/health` over HTTP here (port 0 picks a free one)',
  }),
  row({
    ...duration('stats-interval', 10_000, { min: 0, max: HOUR_MS }),
    arg: '<duration>',
    scope: 'main',
    applied: 'live',
    show: { line: 'metrics', text: (ms) => `stats line ${ms > 0 ? `every ${formatDurationMs(ms)}` : 'off'}` },
    help: 'log a stats line this often (0: never)',
  }),
  row({
    key: 'log-format',
    arg: '<format>',
    choices: LOG_FORMATS,
    default: 'text' as LogFormat,
    scope: 'main',
    applied: 'live',
    show: { line: 'log', text: (format, v) => `${v.quiet ? 'warnings and errors' : v.verbose ? 'debug and up' : 'info and up'}, as ${format}` },
    help: 'text, or json (one object per line)',
  }),
  row({ key: 'quiet', short: '-q', default: false, scope: 'main', applied: 'live', show: 'not shown', help: 'log warnings and errors only' }),
  row({ key: 'verbose', short: '-v', default: false, scope: 'main', applied: 'live', show: 'not shown', help: 'log debug detail too' }),
] as const;

type Row = (typeof SETTINGS)[number];

/** A setting's key. */
export type SettingKey = Row['key'];

/** `stall-timeout` -> `stallTimeout`, as commander names an option's value. */
type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** Every setting's value, by camel-cased key (`stallTimeout`), as the command line gives them. */
export type SettingValues = { [R in Row as CamelCase<R['key']>]: R['default'] };

/** The settings a running relay keeps until restart (the reload plan reports their changes as ignored). */
export type RestartOnlyKey = Extract<Row, { applied: 'restart'; scope: 'relay' | 'destination' }>['key'];

/** `stall-timeout` -> `stallTimeout`. */
export function camelCase<K extends string>(key: K): CamelCase<K> {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as CamelCase<K>;
}

/** The default of `key`. */
export function defaultOf<K extends SettingKey>(key: K): SettingValues[CamelCase<K>] {
  return (SETTINGS.find((s) => s.key === key) as Setting).default as SettingValues[CamelCase<K>];
}

/** The keys that apply only at restart and live in the relay's configuration, in table order. */
export function restartOnlyKeys(): RestartOnlyKey[] {
  return SETTINGS.filter((s) => s.applied === 'restart' && (s.scope === 'relay' || s.scope === 'destination')).map((s) => s.key as RestartOnlyKey);
}
