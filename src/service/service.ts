/**
 * Running under systemd, as the run command wires it (src/cli/run.ts): what the environment asks
 * (NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS) read once at start, then the relay's life told to the
 * manager — READY=1 once every listener is bound and every destination started; RELOADING=1 and
 * READY=1 around a SIGHUP reload; STOPPING=1 when the drain starts; STATUS= at each of those and
 * every STATUS_INTERVAL_MS; WATCHDOG=1 while every thread makes progress (./watchdog.ts).
 * Each part is its own module: ./notify.ts, ./watchdog.ts, ./heartbeat.ts, ./socket-activation.ts.
 */
import type { LogSink } from '../logging.js';
import type { Snapshot } from '../metrics/snapshot-types.js';
import type { BoundListener } from '../thread-protocol.js';
import type { ActivatedSocket } from './activated-socket.js';
import { monotonicUsec, Notifier, type NotifyField } from './notify.js';
import { takeActivatedSockets, unusedSockets } from './socket-activation.js';
import { statusLine } from './status.js';
import { allowancesMs, ProgressGate, Watchdog, watchdogTiming, type WatchdogTiming } from './watchdog.js';

/** How often STATUS= is refreshed while the relay runs. */
export const STATUS_INTERVAL_MS = 5000;
/** Beyond the drain: ingest reads what the kernel queued (at most 1 s), then the threads end. */
const STOP_MARGIN_MS = 10_000;

/** What the relay's threads are started with for systemd (src/main/threads.ts). */
export interface ServiceThreads {
  /** Heartbeat period of ingest and egress; 0: no heartbeat (no watchdog). */
  heartbeatMs: number;
  /** The sockets systemd passed. */
  activated: ActivatedSocket[];
}

/** What the service needs of the running relay (src/main/relay.ts). */
export interface ServedRelay {
  readonly listening: BoundListener[];
  snapshot(): Promise<Snapshot>;
  /** Each thread's heartbeat count (src/service/heartbeat.ts, BEATING_THREADS order). */
  threadBeats(): number[];
}

/** The relay's dealings with systemd for one run: what the environment asked at start, and what the manager is told since. */
export class SystemdService {
  private statusTimer: NodeJS.Timeout | undefined;
  private watchdog: Watchdog | undefined;
  private relay: ServedRelay | undefined;
  /** SIGHUP reloads not yet done: READY=1 goes when the last one is. */
  private reloads = 0;
  private stopped = false;

  private constructor(
    private readonly notifier: Notifier | undefined,
    private readonly timing: WatchdogTiming | undefined,
    readonly activated: ActivatedSocket[],
    private readonly log: LogSink,
  ) {}

  /**
   * Reads NOTIFY_SOCKET, WATCHDOG_USEC/WATCHDOG_PID and LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES for
   * process `pid` (LISTEN_* are removed from `env`). Logs one line when NOTIFY_SOCKET cannot be
   * used; throws RelayError when passed sockets cannot be (./socket-activation.ts).
   */
  static fromEnvironment(env: NodeJS.ProcessEnv, pid: number, log: LogSink): SystemdService {
    const activated = takeActivatedSockets(env, pid);
    const notifier = Notifier.fromEnvironment(env, log);
    return new SystemdService(notifier, notifier && watchdogTiming(env, pid), activated, log);
  }

  /** What the threads start with. */
  get threads(): ServiceThreads {
    return { heartbeatMs: this.timing?.heartbeatMs ?? 0, activated: this.activated };
  }

  /** The relay is up: READY=1, then STATUS= refreshes and the watchdog; a passed socket no listener took is named. */
  async ready(relay: ServedRelay, backgroundPeriodMs: number): Promise<void> {
    this.relay = relay;
    for (const socket of unusedSockets(this.activated, relay.listening)) {
      this.log('warn', `systemd passed ${socket.text}, and no listener is bound there: it stays unused`);
    }
    if (this.notifier === undefined) return;
    await this.tell([['READY', 1]]);
    this.statusTimer = setInterval(() => void this.tell([]), STATUS_INTERVAL_MS).unref();
    if (this.timing !== undefined) {
      const gate = new ProgressGate(allowancesMs(this.timing, backgroundPeriodMs), performance.now(), relay.threadBeats());
      const notifier = this.notifier;
      this.watchdog = new Watchdog(
        this.timing,
        gate,
        () => relay.threadBeats(),
        () => notifier.send([['WATCHDOG', 1]]),
        this.log,
      );
      this.watchdog.start();
    }
  }

  /** A SIGHUP reload (`done` settles when it applied or failed): RELOADING=1 now, READY=1 once no reload is left. */
  reloading(done: Promise<unknown>): void {
    if (this.notifier === undefined || this.stopped) return;
    this.reloads++;
    this.notifier.send([
      ['RELOADING', 1],
      ['MONOTONIC_USEC', monotonicUsec()],
      ['STATUS', 'reloading the configuration'],
    ]);
    const settled = (): void => {
      this.reloads--;
      if (this.reloads === 0 && !this.stopped) void this.tell([['READY', 1]]);
    };
    done.then(settled, settled);
  }

  /** The drain starts: STOPPING=1 (with time for the drain), no more pings or status refreshes. */
  stopping(drainTimeoutMs: number): void {
    this.stopped = true;
    clearInterval(this.statusTimer);
    this.watchdog?.stop();
    this.notifier?.send([
      ['STOPPING', 1],
      ['EXTEND_TIMEOUT_USEC', (drainTimeoutMs + STOP_MARGIN_MS) * 1000],
      ['STATUS', `stopping: draining for up to ${drainTimeoutMs} ms`],
    ]);
  }

  /** Sends `fields` with a fresh STATUS= (unless stopping). */
  private async tell(fields: NotifyField[]): Promise<void> {
    let status: string | undefined;
    try {
      if (this.relay !== undefined) status = statusLine(await this.relay.snapshot());
    } catch (error) {
      status = `running (no statistics: ${(error as Error).message})`;
    }
    if (this.stopped) return;
    this.notifier?.send(status === undefined ? fields : [...fields, ['STATUS', status]]);
  }
}
