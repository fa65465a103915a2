/**
 * The STATUS= line `systemctl status` shows: a renderer of the snapshot (compute, then render),
 * one line of totals since start.
 */
import type { Snapshot } from '../metrics/snapshot-types.js';

/** `2 listeners, 3 destinations (2 up); received 1200, sent 3600, dropped 4` (ingest, kernel and destination drops together). */
export function statusLine(s: Snapshot): string {
  const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
  const received = sum(s.listeners.map((l) => l.receivedMessages));
  const sent = sum(s.destinations.map((d) => d.sentMessages));
  const dropped =
    sum(s.listeners.map((l) => l.kernelDroppedMessages + sum(Object.values(l.droppedMessages)))) +
    sum(s.destinations.map((d) => sum(Object.values(d.droppedMessages)))) +
    (s.routes === undefined ? 0 : sum(Object.values(s.routes.droppedMessages)));
  const up = s.destinations.filter((d) => d.up).length;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(s.listeners.length, 'listener')}, ${plural(s.destinations.length, 'destination')} (${up} up); received ${received}, sent ${sent}, dropped ${dropped}`;
}
