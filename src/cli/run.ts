/**
 * The default command: `relay LISTENER DESTINATION...` (or `relay --config relay.toml`) runs the
 * relay until SIGINT/SIGTERM; SIGHUP reloads the configuration (src/cli/reload.ts). Under systemd
 * it takes the sockets passed and tells the manager how it is doing (src/service/).
 */
import { type Command, Option } from 'commander';
import type { Setting } from '../config/setting-kinds.js';
import { SETTINGS } from '../config/settings.js';
import { formatBytes } from '../config/size.js';
import { Relay } from '../main/relay.js';
import { stderrSink, type LogSink } from '../logging.js';
import { serveMetrics } from '../metrics/http.js';
import { settingOption } from './parsers.js';
import { describeSettings, loadSettings, type RunOptions, type RunSettings } from './run-settings.js';
import { watchReloads } from './reload.js';
import { renderStatsLine, statsRecord } from '../metrics/stats-line.js';
import type { Snapshot } from '../metrics/snapshot-types.js';
import { statisticsLines, statisticsPrefix } from '../metrics/graphite-statistics.js';
import type { GraphiteStatistics } from '../config/config.js';
import { hostname } from 'node:os';
import { SystemdService } from '../service/service.js';
import { passedSocketNote } from '../service/socket-activation.js';

/** A setting's command-line option: its flags, help, default (shown as `defaultText`), choices and parser. */
function settingToOption(setting: Setting): Option {
  const flags = `${setting.short ? `${setting.short}, ` : ''}--${setting.key}${setting.arg ? ` ${setting.arg}` : ''}`;
  const option = new Option(flags, setting.help);
  if (setting.default !== undefined) option.default(setting.default, setting.defaultText);
  if (setting.choices) option.choices(setting.choices);
  else if (setting.parse) option.argParser(settingOption(setting.parse));
  return option;
}

/** The run command's examples, with what each shows: --help's and the manual page's (src/cli/man-page.ts). */
export const RUN_EXAMPLES: readonly { command: string; note?: string }[] = [
  { command: 'relay udp@0.0.0.0:2008 tcp@127.0.0.1:2009' },
  { command: "relay udp@[::]:514 'tcp@logs-a:6514?framing=octet' 'tcp@logs-b:6514?framing=octet'" },
  { command: 'relay udp@127.0.0.1:2003 --framing lf tcp@graphite:2003 --buffer 256MiB' },
  { command: 'relay tcp@0.0.0.0:2008 --listen udp@0.0.0.0:2008 tcp@127.0.0.1:2009' },
  { command: 'relay udp@0.0.0.0:514 tls@logs-a:6514 --tls-ca /etc/relay/ca.pem' },
  { command: 'relay --config /etc/relay/relay.toml', note: 'kill -HUP reloads it' },
  { command: 'relay --check-config /etc/relay/relay.toml', note: 'checks it, prints what would run' },
];

const EXAMPLES = `
Examples:
${RUN_EXAMPLES.map(({ command, note }) => `  ${note === undefined ? command : `${command.padEnd(48)}(${note})`}`).join('\n')}

With --config, options given on the command line override the file's, and addresses given on
the command line are destinations added to the file's (listeners come from listen = [...] or --listen).

Framings: len32le (default; u32 little-endian length + payload), len32be, lf (payload + \\n),
octet (RFC 6587 "LEN SP payload"). Per destination: 'tcp@HOST:PORT?framing=lf' (quote it).`;

/** Puts the run command's arguments, options and action on `program`; --check-config prints its report with `writeOut`. */
export function configureRun(program: Command, writeOut: (text: string) => void): Command {
  program
    .argument('[listener]', 'where datagrams arrive: udp@HOST:PORT, or tcp@HOST:PORT for framed TCP input (with --config: a destination)')
    .argument('[destinations...]', 'where every message goes: tcp@HOST:PORT or tls@HOST:PORT, [?framing=NAME]');
  for (const setting of SETTINGS) program.addOption(settingToOption(setting));
  return program.addHelpText('after', EXAMPLES).action(async (listener: string | undefined, destinations: string[], options: RunOptions, command: Command) => {
    const addresses = listener === undefined ? destinations : [listener, ...destinations];
    const load = (): RunSettings => loadSettings(command, addresses, options);
    const settings = load();
    if (options.checkConfig !== undefined) {
      writeOut(describeSettings(settings));
      return;
    }
    await run(settings, load);
  });
}

/**
 * Starts the relay with `settings`; `load` reads the configuration again (SIGHUP). The signal
 * handlers are installed first: a signal that arrives while the threads start is acted on once
 * they run (a stop drains, a reload reloads), instead of killing the process by default.
 */
async function run(settings: RunSettings, load: () => RunSettings): Promise<void> {
  const { config } = settings;
  // One sink whose level and format a reload may change.
  let sink = stderrSink(settings.logLevel, settings.logFormat);
  const log: LogSink = (level, message, fields) => sink(level, message, fields);
  const started = deferSignals();
  const service = SystemdService.fromEnvironment(process.env, process.pid, log);
  const onFatal = (error: Error): void => {
    log('error', `a relay thread failed: ${error.message}`);
    process.exit(1);
  };
  const relay = await Relay.start(config, log, onFatal, service.threads);
  if (settings.ingestWarning) log('warn', settings.ingestWarning);
  for (const [i, bound] of relay.listening.entries()) {
    const split = config.listeners[i]?.split === undefined ? '' : ', split into lines';
    const proxy = config.listeners[i]?.proxy;
    // unix@ has one receive path, the addon's.
    const path = bound.text.startsWith('unix@') || config.udpIngest === 'native' ? 'native recvmmsg' : 'node:dgram';
    const datagrams = bound.text.startsWith('udp@') || bound.text.startsWith('unix@');
    const notes = [...(datagrams ? [`${path}${split}`] : proxy ? [`PROXY ${proxy} header first`] : []), ...(bound.reusePort ? ['port shared'] : [])];
    log('info', `listening on ${bound.text}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}${passedSocketNote(bound)}`);
  }
  const targets = [
    ...config.destinations.filter((d) => !d.member).map((d) => d.endpoint.text),
    ...config.groups.map((g) => `group ${g.name} (${g.mode}: ${g.members.map((m) => m.member.text).join(' ')})`),
  ];
  log('info', `forwarding to ${targets.join(' ')} (ring ${formatBytes(config.ringBytes)}, framing ${config.framing})`);
  if (settings.metrics) {
    const { url } = await serveMetrics(settings.metrics.host, settings.metrics.port, () => relay.snapshot());
    log('info', `metrics on ${url}/metrics (also /stats, /health)`);
  }
  const stats = new StatsReporter(relay, log);
  stats.every(settings.statsIntervalMs);
  const graphite = new GraphiteReporter(relay);
  graphite.configure(config.statistics);
  const reload = watchReloads({
    relay,
    log,
    load,
    running: settings,
    applied: (next) => {
      sink = stderrSink(next.logLevel, next.logFormat);
      stats.every(next.statsIntervalMs);
      graphite.configure(next.config.statistics);
    },
  });

  let signals = 0;
  const stop = (signal: string): void => {
    signals++;
    if (signals > 1) {
      log('warn', `${signal} again: exiting without draining`);
      process.exit(1);
    }
    log('info', `${signal}: stopping; draining for up to ${relay.config.drainTimeoutMs} ms`);
    service.stopping(relay.config.drainTimeoutMs);
    relay
      .stop()
      .then(async (report) => {
        for (const { name, messages } of report.undelivered) if (messages > 0) log('warn', `${name}: ${messages} message(s) undelivered at shutdown`);
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
  await service.ready(relay, config.reclaimIntervalMs);
  started({ SIGINT: () => stop('SIGINT'), SIGTERM: () => stop('SIGTERM'), SIGHUP: () => service.reloading(reload()) });
}

/** Logs a stats line every interval: rates since the previous one. */
export class StatsReporter {
  private timer: NodeJS.Timeout | undefined;
  private intervalMs = 0;
  private previous: Snapshot | undefined;

  constructor(
    private readonly relay: Relay,
    private readonly log: LogSink,
  ) {}

  /** Reports every `intervalMs` from now on (0: never). */
  every(intervalMs: number): void {
    if (intervalMs === this.intervalMs) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.intervalMs = intervalMs;
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      void this.relay.snapshot().then((current) => {
        this.log('info', renderStatsLine(this.previous, current), { stats: statsRecord(this.previous, current) });
        this.previous = current;
      });
    }, intervalMs).unref();
  }
}

/** Appends the relay's own statistics, as Graphite lines, to the ring every interval (a carbon-c-relay file's `statistics`). */
class GraphiteReporter {
  private timer: NodeJS.Timeout | undefined;
  private previous: Snapshot | undefined;
  private settings: GraphiteStatistics | undefined;

  constructor(private readonly relay: Relay) {}

  /** Reports with `settings` from now on (undefined: never). */
  configure(settings: GraphiteStatistics | undefined): void {
    if (JSON.stringify(settings) === JSON.stringify(this.settings)) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.settings = settings;
    if (!settings) return;
    const prefix = statisticsPrefix(settings.prefix, hostname());
    this.timer = setInterval(() => {
      void this.relay.snapshot().then((current) => {
        this.relay.inject(statisticsLines(prefix, this.previous, current, settings.resetCounters));
        this.previous = current;
      });
    }, settings.intervalMs).unref();
  }
}

type SignalName = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/**
 * Installs SIGINT, SIGTERM and SIGHUP handlers now, queueing what arrives; the returned function
 * hands them their real actions and replays the queue in arrival order.
 */
function deferSignals(): (actions: Record<SignalName, () => void>) => void {
  let handlers: Record<SignalName, () => void> | undefined;
  const queued: SignalName[] = [];
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (handlers) handlers[signal]();
      else queued.push(signal);
    });
  }
  return (actions) => {
    handlers = actions;
    for (const signal of queued) actions[signal]();
  };
}
