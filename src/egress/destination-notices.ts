/**
 * What one destination tells the operator: each event's log line (rate-limited, one cause per
 * event and slot) and the counter that goes with it. ./destination.ts decides what happens; this
 * words it and counts it.
 */
import type { DestinationCounters } from '../metrics/counters.js';
import type { RateLimitedLog } from '../logging.js';
import type { DestinationOptions } from '../thread-protocol.js';
import type { Clock } from './clock.js';

/** See the module comment. */
export class DestinationNotices {
  constructor(
    /** Its settings of the moment (a reload may change them). */
    private readonly options: () => DestinationOptions,
    private readonly counters: DestinationCounters,
    private readonly log: RateLimitedLog,
    private readonly clock: Clock,
  ) {}

  /** A warning about `cause` (a failing spill directory, a lost replay position...). */
  warn(cause: string, message: string): void {
    const o = this.options();
    this.log.log('warn', `${cause}:${o.index}`, `${o.text}: ${message}`);
  }

  started(): void {
    this.counters.started(this.clock.nowMs());
  }

  up(): void {
    const o = this.options();
    this.counters.connected(this.clock.nowMs());
    this.log.log('info', `up:${o.index}`, `${o.text}: connected`);
  }

  /** The connection went down (or an attempt failed); `unconfirmed` writes will be resent. */
  down(wasUp: boolean, reason: string, tlsFailed: boolean, unconfirmed: number): void {
    this.counters.disconnected(wasUp, this.clock.nowMs());
    const o = this.options();
    if (tlsFailed) {
      this.counters.tlsFailed();
      const resend = wasUp ? ` (${unconfirmed} unconfirmed write(s) will be resent)` : '';
      this.log.log('error', `error:${o.index}:${reason}`, `${o.text}: TLS handshake failed: ${reason}; retrying${resend}`);
    } else if (wasUp) {
      this.log.log('warn', `down:${o.index}`, `${o.text}: connection lost (${reason}); ${unconfirmed} unconfirmed write(s) will be resent`);
    } else {
      this.log.log('warn', `error:${o.index}:${reason}`, `${o.text}: cannot connect: ${reason}`);
    }
  }

  /** No write completed for the stall timeout: it reconnects. */
  stalled(): void {
    const o = this.options();
    this.log.log('warn', `stalled:${o.index}`, `${o.text}: stalled: no write completed for ${o.stallTimeoutMs} ms; reconnecting`);
    this.counters.stalled();
  }

  /** A write pinned the ring for 7/8 of its size: it reconnects. */
  notReading(): void {
    const o = this.options();
    this.log.log('warn', `stalled:${o.index}`, `${o.text}: not reading (a write has pinned the ring for 7/8 of its size); reconnecting`);
    this.counters.stalled();
  }

  /** Lagging with no spill to take them: its `items` oldest messages were dropped. */
  overflowDropped(items: number, up: boolean): void {
    this.counters.dropped('overflow', items);
    const o = this.options();
    this.log.log('warn', `overflow:${o.index}`, `${o.text}: lagging ${up ? 'behind' : 'while down'}, dropped its ${items} oldest message(s) (ring overflow)`);
  }

  /** The receiver refused `messages` (a RELP `500`): dropped, counted, logged once per interval with the first reason. */
  rejected(messages: number, reasons: string[]): void {
    this.counters.dropped('rejected', messages);
    const o = this.options();
    this.log.log('warn', `rejected:${o.index}`, `${o.text}: the receiver refused ${messages} message(s): ${reasons[0] ?? 'no reason given'}`);
  }

  /** `skipped` empty messages its framing cannot carry were left out. */
  unframeable(skipped: number, framing: string): void {
    if (skipped === 0) return;
    this.counters.dropped('unframeable', skipped);
    const o = this.options();
    this.log.log('warn', `unframeable:${o.index}`, `${o.text}: skipped ${skipped} empty message(s): framing ${framing} cannot carry an empty payload`);
  }

  spillReadFailed(error: Error): void {
    const o = this.options();
    this.log.log('warn', `spill-read:${o.index}`, `${o.text}: cannot read spill: ${error.message}`);
  }
}
