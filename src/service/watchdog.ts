/**
 * systemd's watchdog (WatchdogSec=): systemd passes WATCHDOG_USEC (and WATCHDOG_PID, the process
 * it is meant for) and restarts the service when no WATCHDOG=1 came for that long. The main thread
 * pings every half of it, as sd_watchdog_enabled(3) asks, but only while every relay thread shows
 * progress (./heartbeat.ts): a relay whose egress thread hangs is not alive because its main
 * thread still runs timers.
 *
 * ProgressGate is the decision, pure (a unit test drives it with a fake clock); Watchdog runs it.
 */
import type { LogSink } from '../logging.js';
import { BEATING_THREADS, type BeatingThread } from './heartbeat.js';

/** How often to ping, and how often the worker threads beat, for one WATCHDOG_USEC. */
export interface WatchdogTiming {
  /** WATCHDOG_USEC in ms. */
  timeoutMs: number;
  /** Half of it: how often WATCHDOG=1 goes. */
  pingMs: number;
  /** How often ingest and egress bump their heartbeat: four beats per ping, at most one a second, at least 10 ms apart. */
  heartbeatMs: number;
}

/** The watchdog systemd asks of process `pid`; undefined without WATCHDOG_USEC, or when WATCHDOG_PID names another process. */
export function watchdogTiming(env: NodeJS.ProcessEnv, pid: number): WatchdogTiming | undefined {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || !/^[0-9]{1,15}$/.test(usec) || Number(usec) === 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== String(pid)) return undefined;
  const timeoutMs = Math.max(1, Math.floor(Number(usec) / 1000));
  const pingMs = Math.max(1, Math.floor(timeoutMs / 2));
  return { timeoutMs, pingMs, heartbeatMs: Math.min(1000, Math.max(10, Math.floor(pingMs / 4))) };
}

/** How long each beating thread may go without a beat before it counts as stalled. */
export function allowancesMs(timing: WatchdogTiming, backgroundPeriodMs: number): Record<BeatingThread, number> {
  // Three periods: a timer that fires late under load is not a stall; never less than one ping interval.
  const worker = Math.max(timing.pingMs, 3 * timing.heartbeatMs);
  return { ingest: worker, egress: worker, background: Math.max(timing.pingMs, 3 * backgroundPeriodMs) };
}

/** A thread that has not beaten for longer than it may. */
export interface Stall {
  thread: BeatingThread;
  /** Since when its beat has not moved (the clock's ms). */
  sinceMs: number;
}

/** Whether every thread makes progress: fed each thread's beat count at each check. */
export class ProgressGate {
  private last: readonly number[];
  private readonly movedAtMs: number[];

  /** From `startMs`, when each thread's count was `beats` (BEATING_THREADS order). */
  constructor(
    private readonly allowances: Record<BeatingThread, number>,
    startMs: number,
    beats: readonly number[],
  ) {
    this.movedAtMs = BEATING_THREADS.map(() => startMs);
    this.last = [...beats];
  }

  /** The threads stalled at `nowMs`, given each one's count (BEATING_THREADS order); [] when all make progress. */
  check(nowMs: number, beats: readonly number[]): Stall[] {
    const stalls: Stall[] = [];
    for (const [i, { name }] of BEATING_THREADS.entries()) {
      if (beats[i] !== this.last[i]) this.movedAtMs[i] = nowMs;
      if (nowMs - this.movedAtMs[i]! > this.allowances[name]) stalls.push({ thread: name, sinceMs: this.movedAtMs[i]! });
    }
    this.last = [...beats];
    return stalls;
  }
}

/** Pings systemd's watchdog while the gate says every thread makes progress; says once when it stops and when it resumes. */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private stalled = false;

  constructor(
    private readonly timing: WatchdogTiming,
    private readonly gate: ProgressGate,
    private readonly beats: () => number[],
    private readonly ping: () => void,
    private readonly log: LogSink,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  /** Pings every timing.pingMs from now on. */
  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.timing.pingMs).unref();
  }

  /** No more pings (the relay is stopping: systemd stops watching then). */
  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = this.nowMs();
    const stalls = this.gate.check(now, this.beats());
    if (stalls.length === 0) {
      if (this.stalled) this.log('info', 'watchdog: every thread makes progress again; pinging systemd again');
      this.stalled = false;
      this.ping();
      return;
    }
    if (this.stalled) return;
    this.stalled = true;
    const which = stalls.map((s) => `${s.thread} (silent for ${Math.round(now - s.sinceMs)} ms)`).join(', ');
    this.log(
      'error',
      `watchdog: no progress from the ${which} thread(s): not sending WATCHDOG=1, systemd restarts the relay after ${this.timing.timeoutMs} ms without one`,
    );
  }
}
