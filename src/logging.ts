/**
 * Log lines. Only the main thread writes to stderr; worker threads send LogMessage records to it
 * (rare events only — never one per datagram). Repeated causes are rate-limited at the source.
 */

import type { LogLevel } from './thread-protocol.js';

export type { LogLevel, LogMessage } from './thread-protocol.js';

/** Where log lines go; `fields` are structured extras that only the JSON format shows. */
export type LogSink = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** How stderr lines look: `relay: message`, or one JSON object per line. */
export type LogFormat = 'text' | 'json';

/**
 * Lets the first occurrence of each cause through at once, then at most one line per
 * `intervalMs` per cause, saying how many were suppressed in between.
 */
export class RateLimitedLog {
  private readonly causes = new Map<string, { lastMs: number; suppressed: number }>();

  constructor(
    private readonly sink: LogSink,
    private readonly intervalMs: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /**
   * Logs `message` under `cause` unless that cause was logged less than `intervalMs` ago; a
   * function is called only then (a message that costs loads to build, on a path taken per message).
   */
  log(level: LogLevel, cause: string, message: string | (() => string)): void {
    const now = this.nowMs();
    const entry = this.causes.get(cause);
    if (entry && now - entry.lastMs < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const suffix = entry && entry.suppressed > 0 ? ` (${entry.suppressed} more since the last report)` : '';
    this.causes.set(cause, { lastMs: now, suppressed: 0 });
    this.sink(level, (typeof message === 'string' ? message : message()) + suffix);
  }
}

const SEVERITY: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Writes lines to stderr for levels at or above `minimum` (main thread): `relay: <message>`, or JSON. */
export function stderrSink(minimum: LogLevel, format: LogFormat = 'text', prefix = 'relay'): LogSink {
  return (level, message, fields) => {
    if (SEVERITY[level] > SEVERITY[minimum]) return;
    const line = format === 'json' ? JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields }) : `${prefix}: ${message}`;
    process.stderr.write(`${line}\n`);
  };
}
