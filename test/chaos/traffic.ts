/**
 * The traffic of a chaos schedule: numbered datagrams (test/helpers/numbered.ts) to the relay's
 * UDP listener, at a steady rate, with bursts sent back to back. Bounded: at most `window`
 * messages ahead of what the witness (a plain destination that is never faulted) has received,
 * waiting for it at most a moment each time, so the kernel's socket buffer is not what drops.
 */
import dgram from 'node:dgram';
import { numbered } from '../helpers/numbered.js';

export class Traffic {
  /** Messages sent so far: the next one's number. */
  sent = 0;
  private pendingBurst = 0;
  /** Of `sent`, how many went in bursts (the steady rate counts the others). */
  private burstsSent = 0;
  private readonly socket = dgram.createSocket('udp4');

  constructor(
    private readonly target: { host: string; port: number },
    private readonly messageBytes: number,
    /** Waits (at most a moment) until the witness has `count` messages. */
    private readonly witnessHas: (count: number, timeoutMs: number) => Promise<void>,
    private readonly window = 2000,
  ) {}

  /** Adds a burst: sent back to back by the running loop. */
  burst(messages: number): void {
    this.pendingBurst += messages;
  }

  /** Sends `rate` messages a second (and the bursts) for `durationMs`. */
  async run(rate: number, durationMs: number): Promise<void> {
    const start = Date.now();
    for (;;) {
      const elapsed = Date.now() - start;
      if (elapsed >= durationMs && this.pendingBurst === 0) break;
      const due = Math.min(Math.floor((Math.min(elapsed, durationMs) * rate) / 1000), Math.ceil((durationMs * rate) / 1000));
      const steady = Math.max(0, due - (this.sent - this.burstsSent));
      const burst = this.pendingBurst;
      this.pendingBurst = 0;
      for (let i = 0; i < burst; i++) await this.sendOne();
      this.burstsSent += burst;
      if (steady > 0 && this.sent - this.window > 0) await this.witnessHas(this.sent - this.window, 100).catch(() => {});
      for (let i = 0; i < steady; i++) await this.sendOne();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private sendOne(): Promise<void> {
    const payload = numbered(this.sent++, this.messageBytes);
    return new Promise((resolve, reject) => this.socket.send(payload, this.target.port, this.target.host, (error) => (error ? reject(error) : resolve())));
  }

  close(): void {
    this.socket.close();
  }
}
