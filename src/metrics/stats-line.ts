/**
 * The periodic stats log line (--stats-interval): rates in and out since the previous line, lag,
 * and drops since the previous line. statsRecord() is the same content as data (--log-format json).
 */
import { shortCount, shortDuration } from './number-format.js';
import { delta, intervalSeconds, total } from './rates.js';
import type { Snapshot } from './snapshot-types.js';

export interface StatsRecord {
  intervalS: number;
  inPerS: number;
  kernelDropped: number;
  ingestDropped: Record<string, number>;
  listeners: { name: string; inPerS: number }[];
  destinations: { name: string; up: boolean; downForS?: number; outPerS: number; lagMessages: number; dropped: Record<string, number> }[];
}

/** Rates and deltas from `previous` (or the start) to `current`. */
export function statsRecord(previous: Snapshot | undefined, current: Snapshot): StatsRecord {
  const seconds = intervalSeconds(previous, current);
  const listeners = current.listeners.map((l, i) => {
    const before = previous?.listeners[i];
    return { name: l.name, inPerS: delta(before?.receivedMessages, l.receivedMessages) / seconds };
  });
  const ingestDropped: Record<string, number> = {};
  let kernelDropped = 0;
  current.listeners.forEach((l, i) => {
    const before = previous?.listeners[i];
    kernelDropped += delta(before?.kernelDroppedMessages, l.kernelDroppedMessages);
    for (const [reason, n] of Object.entries(l.droppedMessages)) {
      const d = delta(before?.droppedMessages[reason as keyof typeof l.droppedMessages], n);
      if (d > 0) ingestDropped[reason] = (ingestDropped[reason] ?? 0) + d;
    }
  });
  return {
    intervalS: seconds,
    inPerS: listeners.reduce((sum, l) => sum + l.inPerS, 0),
    kernelDropped,
    ingestDropped,
    listeners,
    destinations: current.destinations.map((d, i) => {
      const before = previous?.destinations[i];
      const dropped: Record<string, number> = {};
      for (const [reason, n] of Object.entries(d.droppedMessages)) {
        const change = delta(before?.droppedMessages[reason as keyof typeof d.droppedMessages], n);
        if (change > 0) dropped[reason] = change;
      }
      return {
        name: d.name,
        up: d.up,
        ...(d.up ? {} : { downForS: Math.round((current.timeMs - d.sinceMs) / 1000) }),
        outPerS: delta(before?.sentMessages, d.sentMessages) / seconds,
        lagMessages: d.lagMessages,
        dropped,
      };
    }),
  };
}

/** One line: `in 12.3k/s (kernel drops 0, ingest drops 0) | tcp@a:1 up out 12.3k/s lag 4 | tcp@b:2 DOWN 1m30s lag 52.1k dropped overflow=310`. */
export function renderStatsLine(previous: Snapshot | undefined, current: Snapshot): string {
  const r = statsRecord(previous, current);
  const reasons = (map: Record<string, number>): string =>
    Object.entries(map)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  const perListener = r.listeners.length > 1 ? ` [${r.listeners.map((l) => `${l.name} ${shortCount(l.inPerS)}/s`).join(', ')}]` : '';
  const ingest = total(r.ingestDropped);
  const head = `in ${shortCount(r.inPerS)}/s${perListener} (kernel drops ${r.kernelDropped}, ingest drops ${ingest}${ingest > 0 ? `: ${reasons(r.ingestDropped)}` : ''})`;
  const destinations = r.destinations.map((d) => {
    const state = d.up ? 'up' : `DOWN ${shortDuration((d.downForS ?? 0) * 1000)}`;
    const dropped = total(d.dropped) > 0 ? ` dropped ${reasons(d.dropped)}` : '';
    return `${d.name} ${state} out ${shortCount(d.outPerS)}/s lag ${shortCount(d.lagMessages)}${dropped}`;
  });
  return [head, ...destinations].join(' | ');
}
