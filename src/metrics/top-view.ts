/**
 * The screen of `relay top`, as lines of text: what you would otherwise watch with
 * `watch curl …/stats`. Rates come from two snapshots; nothing here reads a clock.
 */
import { shortBytes, shortCount, shortDuration } from './number-format.js';
import { delta, intervalSeconds, total } from './rates.js';
import type { Snapshot } from './snapshot-types.js';

/** A bar of `width` cells filled to `fraction` (0..1). */
function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function reasons(map: Record<string, number>): string {
  const nonZero = Object.entries(map).filter(([, n]) => n > 0);
  return nonZero.length === 0 ? '-' : nonZero.map(([k, n]) => `${k}=${shortCount(n)}`).join(' ');
}

/** Left-aligns the first column, right-aligns the others. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
}

/** The lines of one screen, none wider than `widthColumns`. */
export function renderTop(previous: Snapshot | undefined, current: Snapshot, widthColumns: number): string[] {
  const seconds = intervalSeconds(previous, current);
  const ringFraction = current.ring.capacityBytes === 0 ? 0 : current.ring.usedBytes / current.ring.capacityBytes;
  const cpuPercent = previous ? (delta(previous.process.cpuSeconds, current.process.cpuSeconds) / seconds) * 100 : undefined;
  const lines = [
    `relay top — up ${shortDuration(current.timeMs - current.startedMs)}, ingest ${current.ingestRunning ? 'running' : 'STOPPED'}, ` +
      `cpu ${cpuPercent === undefined ? '-' : `${cpuPercent.toFixed(0)}%`}, rss ${shortBytes(current.process.residentBytes)}`,
    `ring ${bar(ringFraction, 30)} ${(ringFraction * 100).toFixed(1)}% of ${shortBytes(current.ring.capacityBytes)}`,
    '',
    ...table([
      ['LISTENER', 'IN/S', 'RECEIVED', 'KERNEL DROPS', 'INGEST DROPS'],
      ...current.listeners.map((l, i) => [
        l.name,
        shortCount(delta(previous?.listeners[i]?.receivedMessages, l.receivedMessages) / seconds),
        shortCount(l.receivedMessages),
        shortCount(l.kernelDroppedMessages),
        reasons(l.droppedMessages),
      ]),
    ]),
    '',
  ];
  const maxLag = Math.max(1, ...current.destinations.map((d) => d.lagMessages));
  if (current.destinations.length > 0) {
    lines.push(
      ...table([
        ['DESTINATION', 'STATE', 'OUT/S', 'LAG', '', 'LAG BYTES', 'SPILLED/REPLAYED', 'DROPS'],
        ...current.destinations.map((d, i) => [
          d.name,
          `${d.up ? 'up' : 'DOWN'} ${shortDuration(current.timeMs - d.sinceMs)}`,
          shortCount(delta(previous?.destinations[i]?.sentMessages, d.sentMessages) / seconds),
          shortCount(d.lagMessages),
          bar(d.lagMessages / maxLag, 12),
          shortBytes(d.lagBytes),
          `${shortCount(d.spilledMessages)}/${shortCount(d.replayedMessages)}`,
          total(d.droppedMessages) === 0 ? '-' : reasons(d.droppedMessages),
        ]),
      ]),
      '',
    );
  }
  if (current.threads.length > 0) {
    const busy = current.threads.map((t) => {
      const before = previous?.threads.find((p) => p.name === t.name);
      return `${t.name} ${before ? `${((delta(before.cpuSeconds, t.cpuSeconds) / seconds) * 100).toFixed(0)}%` : `${t.cpuSeconds.toFixed(1)}s`}`;
    });
    lines.push(`threads: ${busy.join('  ')}`);
  }
  return lines.map((line) => (line.length > widthColumns ? line.slice(0, Math.max(0, widthColumns - 1)) + '…' : line));
}
