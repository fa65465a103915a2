/**
 * The screen of `relay top`, as lines of text: what you would otherwise watch with
 * `watch curl …/stats`. Rates come from two snapshots; nothing here reads a clock.
 * Drops by reason go on an indented line under their row, so a narrow terminal cuts the
 * table's right edge, never the reasons.
 */
import { shortBytes, shortCount, shortDuration } from './number-format.js';
import { delta, intervalSeconds, total } from './rates.js';
import type { Snapshot } from './snapshot-types.js';

/** Inner cells of the lag bars: what the terminal leaves over, within these bounds. */
const LAG_BAR_MIN_CELLS = 4;
const LAG_BAR_MAX_CELLS = 20;
const RING_BAR_CELLS = 30;

/** A bar of `cells` cells between brackets, filled to `fraction` (0..1). */
function bar(fraction: number, cells: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * cells);
  return `[${'#'.repeat(filled)}${'.'.repeat(cells - filled)}]`;
}

/** `overflow=310 shutdown=2` for the non-zero reasons. */
function reasons(map: Record<string, number>): string {
  return Object.entries(map)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k}=${shortCount(n)}`)
    .join(' ');
}

/** Left-aligns the first column, right-aligns the others. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** Table lines with, under a row that has drops, an indented `label: reason=n …` line. */
function withDropLines(
  tableLines: string[],
  drops: Record<string, number>[],
  label: string,
  more?: { label: string; counts: Record<string, number>[] },
): string[] {
  const [header = '', ...rows] = tableLines;
  const detail = (counts: Record<string, number> | undefined, what: string): string[] => (total(counts ?? {}) > 0 ? [`    ${what}: ${reasons(counts!)}`] : []);
  return [header, ...rows.flatMap((row, i) => [row, ...detail(drops[i], label), ...(more ? detail(more.counts[i], more.label) : [])])];
}

/** The lines of one screen, none wider than `widthColumns`. */
export function renderTop(previous: Snapshot | undefined, current: Snapshot, widthColumns: number): string[] {
  const seconds = intervalSeconds(previous, current);
  const ringFraction = current.ring.capacityBytes === 0 ? 0 : current.ring.usedBytes / current.ring.capacityBytes;
  const cpuPercent = previous ? (delta(previous.process.cpuSeconds, current.process.cpuSeconds) / seconds) * 100 : undefined;
  const lines = [
    `relay top — up ${shortDuration(current.timeMs - current.startedMs)}, ingest ${current.ingestRunning ? 'running' : 'STOPPED'} (${current.udpIngest}), ` +
      `cpu ${cpuPercent === undefined ? '-' : `${cpuPercent.toFixed(0)}%`}, rss ${shortBytes(current.process.residentBytes)}`,
    `ring ${bar(ringFraction, RING_BAR_CELLS)} ${(ringFraction * 100).toFixed(1)}% of ${shortBytes(current.ring.capacityBytes)}`,
    '',
    ...withDropLines(
      table([
        ['LISTENER', 'IN/S', 'RECEIVED', 'KERNEL DROPS', 'INGEST DROPS'],
        ...current.listeners.map((l, i) => [
          l.reusePort ? `${l.name} (port shared)` : l.name,
          shortCount(delta(previous?.listeners[i]?.receivedMessages, l.receivedMessages) / seconds),
          shortCount(l.receivedMessages),
          shortCount(l.kernelDroppedMessages),
          shortCount(total(l.droppedMessages)),
        ]),
      ]),
      current.listeners.map((l) => l.droppedMessages),
      'ingest drops',
      { label: 'connections closed', counts: current.listeners.map((l) => l.closedConnections) },
    ),
    '',
  ];
  if (current.destinations.length > 0) {
    const maxLag = Math.max(1, ...current.destinations.map((d) => d.lagMessages));
    // A group member shows as GROUP/ADDRESS, with its share of the group's messages sent (only when there are groups).
    const grouped = current.destinations.some((d) => d.group !== undefined);
    const groupSent = (g: string): number => current.destinations.reduce((n, d) => n + (d.group === g ? d.sentMessages : 0), 0);
    const share = (d: (typeof current.destinations)[number]): string[] =>
      !grouped ? [] : d.group === undefined ? [''] : [`${Math.round((100 * d.sentMessages) / Math.max(1, groupSent(d.group)))}%`];
    const rows = (lagBar: (lagMessages: number) => string): string[][] => [
      ['DESTINATION', 'STATE', 'OUT/S', 'LAG', '', 'LAG BYTES', 'SPILL/REPLAY', 'DROPPED', ...(grouped ? ['SHARE'] : [])],
      ...current.destinations.map((d, i) => [
        d.group === undefined ? d.name : `${d.group}/${d.name}`,
        `${d.up ? 'up' : 'DOWN'} ${shortDuration(current.timeMs - d.sinceMs)}`,
        shortCount(delta(previous?.destinations[i]?.sentMessages, d.sentMessages) / seconds),
        shortCount(d.lagMessages),
        lagBar(d.lagMessages),
        shortBytes(d.lagBytes),
        `${shortCount(d.spilledMessages)}/${shortCount(d.replayedMessages)}`,
        shortCount(total(d.droppedMessages)),
        ...share(d),
      ]),
    ];
    // The bars take what the other columns leave (the empty column already counts its separator).
    const othersWidth = Math.max(...table(rows(() => '')).map((line) => line.length));
    const barCells = Math.min(LAG_BAR_MAX_CELLS, Math.max(LAG_BAR_MIN_CELLS, widthColumns - othersWidth - 2));
    lines.push(
      ...withDropLines(
        table(rows((lagMessages) => bar(lagMessages / maxLag, barCells))),
        current.destinations.map((d) => d.droppedMessages),
        'dropped',
      ),
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
  return lines.map((line) => fit(line, widthColumns));
}

/** `line` cut to `widthColumns`, its last cell an ellipsis when it was cut. */
function fit(line: string, widthColumns: number): string {
  if (line.length <= widthColumns) return line;
  return widthColumns < 1 ? '' : `${line.slice(0, widthColumns - 1)}…`;
}
