/**
 * The relay's own statistics as Graphite lines, as carbon-c-relay's collector writes them
 * (`PREFIX.metricsReceived 1200 1700000000`), from two snapshots (compute, then render: pure).
 * The names are carbon-c-relay's where the relay has the number; its wall-time and sleep-time
 * figures, which measure its own threads, are not written.
 */
import { PosixRegex } from '../route/posix-ere.js';
import { expandReplacement } from '../route/replacement.js';
import type { Snapshot } from './snapshot-types.js';

/** carbon-c-relay's host name expression: \1 the name, \2 its first label, \3 the rest (with its dot). */
const HOST_PARTS = PosixRegex.compile('^(([^.]+)(\\..*)?)$');

/** The prefix `template` (`prefix with`, e.g. `carbon.relays.\.1`) makes of `hostname`. */
export function statisticsPrefix(template: string, hostname: string): string {
  const match = HOST_PARTS.exec(hostname);
  return match ? expandReplacement(template, hostname, match) : template;
}

/** `host:port` of a destination's address, its dots as `_` (carbon-c-relay's `destinations.127_0_0_1:2003`). */
function destinationKey(name: string): string {
  const at = name.indexOf('@');
  const hostPort = name
    .slice(at + 1)
    .split('?')[0]!
    .replace(/^\[([^\]]*)\]/, '$1');
  return hostPort.replaceAll('.', '_');
}

/**
 * The lines for `current`: totals since start, or (`reset`) what changed since `previous`
 * (gauges — queued — are the value now either way).
 */
export function statisticsLines(prefix: string, previous: Snapshot | undefined, current: Snapshot, reset: boolean): string[] {
  const time = Math.floor(current.timeMs / 1000);
  const lines: string[] = [];
  const counter = (name: string, now: number, before: number | undefined): void => {
    lines.push(`${prefix}.${name} ${reset ? now - (before ?? 0) : now} ${time}`);
  };
  const gauge = (name: string, now: number): void => {
    lines.push(`${prefix}.${name} ${now} ${time}`);
  };
  const sum = <T>(items: readonly T[], f: (x: T) => number): number => items.reduce((n, x) => n + f(x), 0);
  const dropped = (d: Snapshot['destinations'][number]): number => sum(Object.values(d.droppedMessages), (n) => n);
  const routeDrops = (s: Snapshot | undefined, reason: 'unrouted' | 'blackholed' | 'invalid'): number | undefined =>
    s && (s.routes?.droppedMessages[reason] ?? 0);
  counter(
    'metricsReceived',
    sum(current.listeners, (l) => l.receivedMessages),
    previous && sum(previous.listeners, (l) => l.receivedMessages),
  );
  counter(
    'metricsBlackholed',
    (routeDrops(current, 'blackholed') ?? 0) + (routeDrops(current, 'unrouted') ?? 0),
    previous && (routeDrops(previous, 'blackholed') ?? 0) + (routeDrops(previous, 'unrouted') ?? 0),
  );
  counter('metricsDiscarded', routeDrops(current, 'invalid') ?? 0, routeDrops(previous, 'invalid'));
  for (const d of current.destinations) {
    const key = `destinations.${destinationKey(d.name)}`;
    const before = previous?.destinations.find((p) => p.name === d.name);
    counter(`${key}.sent`, d.sentMessages, before?.sentMessages);
    gauge(`${key}.queued`, d.lagMessages + d.unconfirmedMessages);
    counter(`${key}.stalls`, d.stalls, before?.stalls);
    counter(`${key}.dropped`, dropped(d), before && dropped(before));
  }
  counter(
    'metricsSent',
    sum(current.destinations, (d) => d.sentMessages),
    previous && sum(previous.destinations, (d) => d.sentMessages),
  );
  gauge(
    'metricsQueued',
    sum(current.destinations, (d) => d.lagMessages + d.unconfirmedMessages),
  );
  counter(
    'metricStalls',
    sum(current.destinations, (d) => d.stalls),
    previous && sum(previous.destinations, (d) => d.stalls),
  );
  counter('metricsDropped', sum(current.destinations, dropped), previous && sum(previous.destinations, dropped));
  counter(
    'connections',
    sum(current.listeners, (l) => l.connectionsAccepted),
    previous && sum(previous.listeners, (l) => l.connectionsAccepted),
  );
  return lines;
}
