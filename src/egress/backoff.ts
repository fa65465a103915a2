/**
 * Reconnect delays: exponential from `minMs`, capped at `maxMs`, with "equal jitter" (a delay is
 * uniform in [base/2, base]) so that many relays restarted together do not reconnect in lockstep.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call doubles the base until the cap. */
  nextDelayMs(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(base / 2 + (this.random() * base) / 2);
  }

  /** Back to `minMs` after a connection proved healthy. */
  reset(): void {
    this.attempt = 0;
  }
}
