/** The default command: `relay LISTENER DESTINATION...` runs the relay until a signal. */
import { type Command, Option } from 'commander';
import { DESTINATION_ADDRESS as DESTINATION, LISTENER_ADDRESS as LISTENER, type Endpoint } from '../config/address.js';
import { loadTlsClient } from '../config/tls-files.js';
import { DEFAULTS, ringBytesFor, validateConfig, type RelayConfig } from '../config/config.js';
import { formatBytes, formatDurationMs } from '../config/size.js';
import type { FramingName } from '../framing/index.js';
import { Relay } from '../relay.js';
import { stderrSink, type LogFormat, type LogSink } from '../logging.js';
import type { HostPort } from '../config/address.js';
import { serveMetrics } from '../metrics/http.js';
import { renderStatsLine, statsRecord } from '../metrics/stats-line.js';
import type { Snapshot } from '../metrics/snapshot-types.js';
import type { Cidr } from '../config/cidr.js';
import { chooseUdpIngest, UDP_INGEST_CHOICES, type UdpIngestChoice } from '../ingest/udp-path.js';
import {
  cidrListOption,
  fileOption,
  durationOption,
  hostPortOption,
  endpointArgument,
  endpointListOption,
  endpointsArgument,
  framingOption,
  sizeOption,
} from './parsers.js';

interface RunOptions {
  listen: Endpoint[];
  framing: FramingName;
  buffer: number;
  maxMessage: number;
  recvBuffer: number;
  ingest: UdpIngestChoice;
  drainTimeout: number;
  connectTimeout: number;
  stallTimeout: number;
  allow: Cidr[];
  spillDir: string | undefined;
  spillMax: number;
  reconnectMin: number;
  reconnectMax: number;
  metrics: HostPort | undefined;
  statsInterval: number;
  logFormat: LogFormat;
  tlsCa: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  quiet: boolean;
  verbose: boolean;
}

const MIB = 1024 * 1024;
const HOUR_MS = 3_600_000;

/** A size option whose default is shown the way a user would type it. */
function sized(flags: string, description: string, defaultBytes: number, bounds: { min: number; max: number }): Option {
  const name = flags.split(' ')[0]!;
  return new Option(flags, description).default(defaultBytes, formatBytes(defaultBytes).replace(' ', '')).argParser(sizeOption(name, bounds));
}

/** A duration option whose default is shown the way a user would type it. */
function timed(flags: string, description: string, defaultMs: number, bounds: { min: number; max: number }): Option {
  const name = flags.split(' ')[0]!;
  return new Option(flags, description).default(defaultMs, formatDurationMs(defaultMs)).argParser(durationOption(name, bounds));
}
const EXAMPLES = `
Examples:
  relay udp@0.0.0.0:2008 tcp@127.0.0.1:2009
  relay udp@[::]:514 'tcp@logs-a:6514?framing=octet' 'tcp@logs-b:6514?framing=octet'
  relay udp@127.0.0.1:2003 --framing lf tcp@graphite:2003 --buffer 256MiB
  relay tcp@0.0.0.0:2008 --listen udp@0.0.0.0:2008 tcp@127.0.0.1:2009

Framings: len32le (default; u32 little-endian length + payload), len32be, lf (payload + \\n),
octet (RFC 6587 "LEN SP payload"). Per destination: 'tcp@HOST:PORT?framing=lf' (quote it).`;

/** Puts the run command's arguments, options and action on `program`. */
export function configureRun(program: Command): Command {
  return program
    .argument('<listener>', 'where datagrams arrive: udp@HOST:PORT, or tcp@HOST:PORT for framed TCP input', endpointArgument(LISTENER))
    .argument('[destinations...]', 'where every message goes: tcp@HOST:PORT or tls@HOST:PORT, [?framing=NAME]', endpointsArgument(DESTINATION))
    .option('--listen <address>', 'another listener (repeatable)', endpointListOption(LISTENER), [] as Endpoint[])
    .addOption(new Option('--framing <name>', 'default framing of destinations and TCP listeners').default(DEFAULTS.framing).argParser(framingOption))
    .addOption(sized('--buffer <size>', 'ring size, rounded down to a power of two', DEFAULTS.bufferBytes, { min: 64 * 1024, max: 1024 * MIB }))
    .addOption(
      sized('--max-message <bytes>', 'largest message accepted; larger ones are counted and dropped', DEFAULTS.maxMessageBytes, { min: 1, max: 16 * MIB }),
    )
    .addOption(
      sized('--recv-buffer <bytes>', 'SO_RCVBUF asked for on UDP listeners (capped by net.core.rmem_max)', DEFAULTS.recvBufferBytes, {
        min: 4096,
        max: 2048 * MIB,
      }),
    )
    .addOption(
      new Option('--ingest <path>', 'how UDP is received: native (recvmmsg addon, batched), dgram (node:dgram), or auto (native when built)')
        .choices(UDP_INGEST_CHOICES)
        .default('auto'),
    )
    .addOption(
      timed('--drain-timeout <duration>', 'on SIGINT/SIGTERM, how long to keep delivering what was received', DEFAULTS.drainTimeoutMs, {
        min: 0,
        max: HOUR_MS,
      }),
    )
    .addOption(timed('--connect-timeout <duration>', 'give up a connection attempt after this long', DEFAULTS.connectTimeoutMs, { min: 1, max: HOUR_MS }))
    .addOption(
      timed('--stall-timeout <duration>', 'close a connection whose pending write made no progress for this long', DEFAULTS.stallTimeoutMs, {
        min: 1,
        max: HOUR_MS,
      }),
    )
    .option('--spill-dir <dir>', "write a lagging destination's oldest data here instead of dropping it; replayed in order, also after a restart")
    .addOption(
      sized('--spill-max <size>', 'most bytes spilled per destination; beyond it data is dropped and counted', DEFAULTS.spillMaxBytes, {
        min: 1024 * 1024,
        max: 2 ** 50,
      }),
    )
    .addOption(
      new Option('--allow <cidr>', 'accept only sources in this block, e.g. 10.0.0.0/8 (repeatable)')
        .default([] as Cidr[], 'everyone')
        .argParser(cidrListOption),
    )
    .addOption(timed('--reconnect-min <duration>', 'first reconnect delay (doubles, with jitter)', DEFAULTS.reconnectMinMs, { min: 1, max: HOUR_MS }))
    .addOption(timed('--reconnect-max <duration>', 'longest reconnect delay', DEFAULTS.reconnectMaxMs, { min: 1, max: HOUR_MS }))
    .option('--tls-ca <file>', 'PEM CA certificates that tls@ destinations may be signed by (besides the system store)', fileOption)
    .option('--tls-cert <file>', 'PEM client certificate presented to tls@ destinations (mutual TLS; with --tls-key)', fileOption)
    .option('--tls-key <file>', 'PEM private key of --tls-cert', fileOption)
    .option('--metrics <host:port>', 'serve /metrics (Prometheus), /stats (JSON) and /health over HTTP here', hostPortOption('--metrics'))
    .addOption(timed('--stats-interval <duration>', 'log a stats line this often (0: never)', DEFAULTS.statsIntervalMs, { min: 0, max: HOUR_MS }))
    .addOption(new Option('--log-format <format>', 'text, or json (one object per line)').choices(['text', 'json']).default('text'))
    .option('-q, --quiet', 'log warnings and errors only', false)
    .option('-v, --verbose', 'log debug detail too', false)
    .addHelpText('after', EXAMPLES)
    .action(async (listener: Endpoint, destinations: Endpoint[] | undefined, options: RunOptions) => {
      await run(listener, destinations ?? [], options);
    });
}

/** Logs a stats line every `intervalMs`: rates since the previous one. */
function reportStats(relay: Relay, intervalMs: number, log: LogSink): void {
  let previous: Snapshot | undefined;
  setInterval(() => {
    void relay.snapshot().then((current) => {
      log('info', renderStatsLine(previous, current), { stats: statsRecord(previous, current) });
      previous = current;
    });
  }, intervalMs).unref();
}

async function run(listener: Endpoint, destinations: Endpoint[], options: RunOptions): Promise<void> {
  const ingest = chooseUdpIngest(options.ingest);
  const config: RelayConfig = validateConfig({
    listeners: [listener, ...options.listen],
    destinations: destinations.map((endpoint) => ({
      endpoint,
      tls:
        endpoint.scheme === 'tls'
          ? loadTlsClient({ caFile: options.tlsCa, certFile: options.tlsCert, keyFile: options.tlsKey, servername: undefined }, '')
          : undefined,
    })),
    framing: options.framing,
    ringBytes: ringBytesFor(options.buffer, options.maxMessage),
    maxMessageBytes: options.maxMessage,
    recvBufferBytes: options.recvBuffer,
    udpIngest: ingest.path,
    drainTimeoutMs: options.drainTimeout,
    connectTimeoutMs: options.connectTimeout,
    stallTimeoutMs: options.stallTimeout,
    allow: options.allow,
    spill: options.spillDir === undefined ? undefined : { dir: options.spillDir, maxBytes: options.spillMax },
    reconnectMinMs: options.reconnectMin,
    reconnectMaxMs: options.reconnectMax,
    reclaimIntervalMs: DEFAULTS.reclaimIntervalMs,
    logIntervalMs: DEFAULTS.logIntervalMs,
  });
  const log = stderrSink(options.quiet ? 'warn' : options.verbose ? 'debug' : 'info', options.logFormat);
  const relay = await Relay.start(config, log, (error) => {
    log('error', `a relay thread failed: ${error.message}`);
    process.exit(1);
  });
  if (ingest.warning) log('warn', ingest.warning);
  for (const bound of relay.listening)
    log('info', `listening on ${bound.text}${bound.text.startsWith('udp@') ? ` (${config.udpIngest === 'native' ? 'native recvmmsg' : 'node:dgram'})` : ''}`);
  log('info', `forwarding to ${destinations.map((d) => d.text).join(' ')} (ring ${formatBytes(config.ringBytes)}, framing ${config.framing})`);
  if (options.metrics) {
    const { url } = await serveMetrics(options.metrics.host, options.metrics.port, () => relay.snapshot());
    log('info', `metrics on ${url}/metrics (also /stats, /health)`);
  }
  if (options.statsInterval > 0) reportStats(relay, options.statsInterval, log);

  let signals = 0;
  const onSignal = (signal: string): void => {
    signals++;
    if (signals > 1) {
      log('warn', `${signal} again: exiting without draining`);
      process.exit(1);
    }
    log('info', `${signal}: stopping; draining for up to ${config.drainTimeoutMs} ms`);
    relay
      .stop()
      .then(async (report) => {
        report.undeliveredMessages.forEach((count, d) => {
          if (count > 0) log('warn', `${destinations[d]!.text}: ${count} message(s) undelivered at shutdown`);
        });
        const final = await relay.snapshot();
        const received = final.listeners.reduce((sum, l) => sum + l.receivedMessages, 0);
        const sent = final.destinations.map((d) => `${d.name} ${d.sentMessages}`).join(', ');
        log('info', `stopped: received ${received} message(s); sent ${sent}`, { received, destinations: final.destinations });
        process.exit(0);
      })
      .catch((error: Error) => {
        log('error', `stop failed: ${error.message}`);
        process.exit(1);
      });
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}
