/**
 * The receivers of a chaos schedule as real processes on one port each for the whole schedule:
 * `relay sink tcp@…` and `relay sink relp@…` (src/cli/sink.ts), or a private rsyslogd with imrelp
 * (test/helpers/rsyslog.ts). A receiver may be killed, terminated, stopped and started again; it
 * keeps the numbers of every message each of its lives wrote out, in order.
 */
import { numberOf } from '../helpers/numbered.js';
import { type RelayProcess, spawnRelay } from '../helpers/relay-process.js';
import { readRsyslogFile, type Rsyslog, startRsyslog } from '../helpers/rsyslog.js';
import type { ReceiverPlan } from './schedule.js';

/** The numbers in `text`, one message a line; a last line without its LF is not whole yet and is left out. */
function numbersOfLines(text: string): number[] {
  const lines = text.split('\n');
  lines.pop();
  return lines.map((line) => numberOf(Buffer.from(line)));
}

export class Receiver {
  /** The numbers each finished life wrote out, in order. */
  private readonly lives: number[][] = [];
  private sink: RelayProcess | undefined;
  private rsyslog: Rsyslog | undefined;
  private paused = false;
  private port = 0;
  private restarts = 0;
  /** Kills and terminations: after each, plain TCP may have lost what the kernel held (README, "What plain TCP cannot promise"). */
  kills = 0;

  constructor(
    readonly plan: ReceiverPlan,
    private readonly dir: string,
  ) {}

  /** The destination address the relay is given (a member's with its instance). */
  get address(): string {
    const instance = this.plan.instance ? `#${this.plan.instance}` : '';
    return this.plan.kind === 'tcp' ? `tcp@127.0.0.1:${this.port}?framing=lf${instance}` : `relp@127.0.0.1:${this.port}${instance}`;
  }

  /** The destination's name in the relay's /stats and log lines. */
  get name(): string {
    return this.plan.kind === 'tcp' ? `tcp@127.0.0.1:${this.port}?framing=lf` : `relp@127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.sink !== undefined || this.rsyslog !== undefined;
  }

  /** Starts it (on port 0 the first time, on that port after), resolving once it accepts connections. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.plan.kind === 'rsyslog') {
      this.rsyslog = await startRsyslog(this.dir, { port: this.port || undefined, name: `${this.plan.id}-${this.restarts++}` });
      this.port = this.rsyslog.port;
      return;
    }
    const scheme = this.plan.kind === 'tcp' ? 'tcp' : 'relp';
    const sink = spawnRelay(['sink', `${scheme}@127.0.0.1:${this.port}`, ...(scheme === 'tcp' ? ['--framing', 'lf'] : [])]);
    try {
      const match = await sink.waitForStderr(/listening on \w+@127\.0\.0\.1:(\d+)/);
      this.port = Number(match[1]);
    } catch (error) {
      await sink.stop('SIGKILL');
      throw error;
    }
    this.sink = sink;
  }

  /** Ends the current life with `signal` (SIGKILL, SIGTERM), waiting for the exit; its output is kept. */
  async end(signal: NodeJS.Signals): Promise<void> {
    if (this.paused) this.resume();
    this.kills++;
    if (this.sink) {
      const exit = await this.sink.stop(signal);
      this.lives.push(numbersOfLines(exit.stdout));
      this.sink = undefined;
    } else if (this.rsyslog) {
      await this.rsyslog.stop(signal);
      this.rsyslog = undefined;
    }
  }

  /** SIGSTOP: it stops reading (its connections fill, then the relay's writes wait). */
  pause(): void {
    const pid = this.sink?.child.pid ?? this.rsyslog?.process.child.pid;
    if (pid === undefined || this.paused) return;
    process.kill(pid, 'SIGSTOP');
    this.paused = true;
  }

  /** SIGCONT. */
  resume(): void {
    const pid = this.sink?.child.pid ?? this.rsyslog?.process.child.pid;
    if (pid !== undefined && this.paused) process.kill(pid, 'SIGCONT');
    this.paused = false;
  }

  /** Every number received so far, in order (rsyslog's files are read only once its lives are over). */
  async numbers(): Promise<number[]> {
    if (this.plan.kind === 'rsyslog') {
      const all: number[] = [];
      for (let life = 0; life < this.restarts; life++) {
        // startRsyslog names its files NAME-ATTEMPT: every attempt of every life, in order.
        for (let attempt = 1; attempt <= 3; attempt++) {
          for (const line of await readRsyslogFile(`${this.dir}/${this.plan.id}-${life}-${attempt}.out`)) all.push(numberOf(line));
        }
      }
      return all;
    }
    return [...this.lives.flat(), ...(this.sink ? numbersOfLines(this.sink.stdout) : [])];
  }

  /** Kills whatever still runs (cleanup, also after a failure). */
  async kill(): Promise<void> {
    this.resume();
    await this.sink?.stop('SIGKILL');
    await this.rsyslog?.stop('SIGKILL');
    this.sink = undefined;
    this.rsyslog = undefined;
  }

  /** Ends a running receiver gracefully at the end of a schedule (its output is then complete). */
  async finish(): Promise<void> {
    this.resume();
    if (this.sink) {
      const exit = await this.sink.stop('SIGTERM');
      this.lives.push(numbersOfLines(exit.stdout));
      this.sink = undefined;
    }
    await this.rsyslog?.stop('SIGTERM');
    this.rsyslog = undefined;
  }
}
