/**
 * The sd_notify protocol (sd_notify(3)) without libsystemd: newline-separated VAR=VALUE
 * assignments in one datagram to the Unix socket named by NOTIFY_SOCKET (an absolute path, or an
 * abstract name written with a leading '@'), sent by the addon (native/relay_notify.c: Node has no
 * Unix datagram sockets).
 *
 * Without the addon nothing can be sent: the relay says so in one line at start (Type=notify then
 * times out waiting for READY=1: use Type=simple, or build the addon). No `systemd-notify`
 * subprocess stands in for it: systemd would attribute its messages to the service only with
 * NotifyAccess=all (any process of the unit could then report readiness or stopping), and a
 * process per watchdog ping is a poor heartbeat.
 */
import { loadNativeSystemd, nativeSystemdUnavailableReason, type NativeSystemd } from '../native/addon.js';
import type { LogSink } from '../logging.js';

/** One assignment of a notification, e.g. ['READY', '1']; values are single lines. */
export type NotifyField = readonly [name: string, value: string | number | bigint];

/** The datagram for `fields`: `NAME=VALUE` lines; a value's line breaks become spaces (STATUS= is one line). */
export function notifyMessage(fields: readonly NotifyField[]): string {
  return fields.map(([name, value]) => `${name}=${String(value).replace(/[\r\n]+/g, ' ')}`).join('\n');
}

/** CLOCK_MONOTONIC in µs, as MONOTONIC_USEC= wants it (Node's hrtime reads CLOCK_MONOTONIC on Linux). */
export function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/** Why NOTIFY_SOCKET cannot be used by this relay, or undefined when it can. */
export function notifySocketProblem(socket: string): string | undefined {
  if ((socket.startsWith('/') || socket.startsWith('@')) && socket.length > 1 && Buffer.byteLength(socket) <= 107) return undefined;
  return `NOTIFY_SOCKET="${socket}" is neither an absolute path nor an @abstract name of at most 107 bytes (this relay does not speak to vsock: sockets)`;
}

/** Sends notifications to the service manager. */
export class Notifier {
  /** errno codes already logged: a manager that went away is said once, not at every ping. */
  private readonly failures = new Set<string>();

  private constructor(
    private readonly native: NativeSystemd,
    readonly socket: string,
    private readonly log: LogSink,
  ) {}

  /**
   * The notifier NOTIFY_SOCKET asks for; undefined when it is not set, or when it cannot work —
   * then one line says why (no addon, or a socket it cannot address) and what to do.
   */
  static fromEnvironment(env: NodeJS.ProcessEnv, log: LogSink): Notifier | undefined {
    const socket = env.NOTIFY_SOCKET;
    if (socket === undefined || socket === '') return undefined;
    const problem = notifySocketProblem(socket);
    const native = loadNativeSystemd();
    if (problem === undefined && native !== undefined) return new Notifier(native, socket, log);
    const why = problem ?? `notifying systemd needs the native addon, which is not available: ${nativeSystemdUnavailableReason()}`;
    const addon = process.env.RELAY_NATIVE_UDP === '0' ? 'unset RELAY_NATIVE_UDP' : 'build the addon (npm run build:native)';
    log('warn', `${why}; Type=notify cannot work (systemd waits for a READY=1 that never comes): use Type=simple${problem ? '' : `, or ${addon}`}`);
    return undefined;
  }

  /** Sends one notification; a failure is logged once per errno, never thrown (the relay runs on). */
  send(fields: readonly NotifyField[]): void {
    try {
      this.native.notifySend(this.socket, notifyMessage(fields));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      if (this.failures.has(code)) return;
      this.failures.add(code);
      this.log('warn', `cannot notify systemd at ${this.socket}: ${(error as Error).message}`);
    }
  }
}
