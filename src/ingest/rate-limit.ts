/**
 * Per-source rate limits of one listener (--rate-limit, --rate-burst): a token bucket per source
 * address. A source may send `burst` messages at once and `perSecond` on average; a message
 * without a token is dropped by the caller and counted (`rate_limited`), other sources untouched.
 *
 * The state is bounded: at most MAX_SOURCES buckets per listener (about 100 bytes each, so under
 * 7 MiB). A bucket full again (its source quiet for burst / perSecond seconds) is the same as no
 * bucket, so when the table is full those are forgotten first; if that frees too little (a flood
 * from many addresses, e.g. spoofed UDP sources), the oldest buckets are forgotten until an eighth
 * of the table is free. A forgotten source starts again with a full burst: under such a flood the
 * limit per source weakens, the memory does not grow. Sweeping at most once per eighth of the
 * table keeps the cost per new source constant.
 */

/** Buckets kept per listener, at most. */
export const MAX_SOURCES = 65_536;

/** What one source may still send; a connection keeps its own, so it does not look it up per message. */
export interface SourceBucket {
  /** The source as logged (an address). */
  readonly source: string;
  tokens: number;
  /** When `tokens` was last brought up to date (performance.now()). */
  lastMs: number;
  /** Messages dropped since the last time the top offenders were logged. */
  dropped: number;
}

/** A source's key: an IPv4 address as its 32-bit number, anything else as text. */
export type SourceKey = number | string;

export interface RateLimit {
  /** Messages per second per source, on average. */
  perSecond: number;
  /** Messages a quiet source may send at once. */
  burst: number;
}

export class SourceRateLimiter {
  private readonly buckets = new Map<SourceKey, SourceBucket>();
  private perMs: number;
  private burst: number;

  constructor(
    limit: RateLimit,
    private readonly maxSources = MAX_SOURCES,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.perMs = limit.perSecond / 1000;
    this.burst = limit.burst;
  }

  /** New limits (a reload): buckets are kept, no fuller than the new burst. */
  set(limit: RateLimit): void {
    this.perMs = limit.perSecond / 1000;
    this.burst = limit.burst;
    for (const b of this.buckets.values()) b.tokens = Math.min(b.tokens, this.burst);
  }

  /** How many sources it remembers now. */
  get size(): number {
    return this.buckets.size;
  }

  /** The bucket of `key`, made full for a source it does not remember; `text` names a new one. */
  bucketOf(key: SourceKey, text: () => string): SourceBucket {
    const known = this.buckets.get(key);
    if (known) return known;
    if (this.buckets.size >= this.maxSources) this.makeRoom();
    const bucket: SourceBucket = { source: text(), tokens: this.burst, lastMs: this.now(), dropped: 0 };
    this.buckets.set(key, bucket);
    return bucket;
  }

  /** Takes one message's token from `bucket`; false (and counted in the bucket) when it has none. */
  take(bucket: SourceBucket): boolean {
    const now = this.now();
    const tokens = Math.min(this.burst, bucket.tokens + (now - bucket.lastMs) * this.perMs);
    bucket.lastMs = now;
    if (tokens >= 1) {
      bucket.tokens = tokens - 1;
      return true;
    }
    bucket.tokens = tokens;
    bucket.dropped++;
    return false;
  }

  /** The `n` sources that had the most messages dropped since the last call, most first; every count restarts. */
  takeTopOffenders(n: number): { source: string; dropped: number }[] {
    const top: SourceBucket[] = [];
    for (const b of this.buckets.values()) {
      if (b.dropped === 0) continue;
      if (top.length < n || b.dropped > top[top.length - 1]!.dropped) {
        top.push(b);
        top.sort((x, y) => y.dropped - x.dropped);
        if (top.length > n) top.pop();
      }
    }
    const result = top.map((b) => ({ source: b.source, dropped: b.dropped }));
    for (const b of this.buckets.values()) b.dropped = 0;
    return result;
  }

  /** Forgets full buckets, then the oldest, until an eighth of the table is free. */
  private makeRoom(): void {
    const now = this.now();
    const target = this.maxSources - Math.max(1, this.maxSources >> 3);
    for (const [key, b] of this.buckets) {
      if (b.tokens + (now - b.lastMs) * this.perMs >= this.burst && b.dropped === 0) this.buckets.delete(key);
    }
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= target) break;
      this.buckets.delete(key);
    }
  }
}

/** The key of an IPv4 address given as 4 bytes at `offset`. */
export function ipv4Key(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** The key of an address as a socket reports it: an IPv4 (or IPv4-mapped IPv6) address as its number, else the text. */
export function addressKey(address: string): SourceKey {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  const parts = v4.split('.');
  if (parts.length !== 4) return address;
  let key = 0;
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0 || n > 255 || p === '') return address;
    key = key * 256 + n;
  }
  return key;
}
