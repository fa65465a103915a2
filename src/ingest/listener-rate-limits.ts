/**
 * The rate limits of every listener (--rate-limit, --rate-burst): one SourceRateLimiter per
 * listener slot, made on first use, and the log line that names a listener's top offenders a
 * second after its drops begin. Ingest owns one, asks it per message and counts what it refuses.
 */
import type { RateLimitedLog } from '../logging.js';
import { SourceRateLimiter, type RateLimit, type SourceBucket } from './rate-limit.js';

/** How long after a rate-limit drop its log line comes: the drops of that second are in it. */
const REPORT_DELAY_MS = 1000;

export class ListenerRateLimits {
  private readonly limiters: (SourceRateLimiter | undefined)[] = [];
  /** Per listener slot, the report waiting to be logged. */
  private readonly reports = new Map<number, NodeJS.Timeout>();

  constructor(
    private limit: RateLimit | undefined,
    private readonly log: RateLimitedLog,
    /** The listener in slot `l` as the log names it. */
    private readonly nameOf: (l: number) => string,
  ) {}

  /** Listener `l`'s limiter, or undefined without --rate-limit. */
  of(l: number): SourceRateLimiter | undefined {
    if (this.limit === undefined) return undefined;
    let limiter = this.limiters[l];
    if (!limiter) {
      limiter = new SourceRateLimiter(this.limit);
      this.limiters[l] = limiter;
    }
    return limiter;
  }

  /** Whether a message of `from` (a bucket of listener `l`'s limiter) may go on; a refused one is reported. */
  admits(l: number, from: SourceBucket): boolean {
    if (this.limiters[l]?.take(from) !== false) return true;
    this.report(l);
    return false;
  }

  /** New limits (a reload): each listener's sources keep what they have left, or with none the tables go. */
  set(limit: RateLimit | undefined): void {
    this.limit = limit;
    if (limit === undefined) this.limiters.length = 0;
    else for (const limiter of this.limiters) limiter?.set(limit);
  }

  /** Slot `l` serves another listener from now on: its sources start afresh. */
  forget(l: number): void {
    this.limiters[l] = undefined;
  }

  /** Logs listener `l`'s top offenders a second from now (at most once per log interval), unless that is pending. */
  private report(l: number): void {
    if (this.reports.has(l)) return;
    const timer = setTimeout(() => {
      this.reports.delete(l);
      this.log.log('warn', `rate-limited:${l}`, () => {
        const top = this.limiters[l]?.takeTopOffenders(3) ?? [];
        return `${this.nameOf(l)}: dropping messages over --rate-limit ${this.limit?.perSecond}/s per source (burst ${this.limit?.burst}); most dropped since the last report: ${top.map((t) => `${t.source} (${t.dropped})`).join(', ')}`;
      });
    }, REPORT_DELAY_MS);
    timer.unref();
    this.reports.set(l, timer);
  }
}
