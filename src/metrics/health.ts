/** /health from a snapshot: ok when every destination is up, degraded when some are down, down (503) when none is or ingest stopped. */
import type { Snapshot } from './snapshot-types.js';

export interface HealthReport {
  httpStatus: 200 | 503;
  body: {
    status: 'ok' | 'degraded' | 'down';
    ingestRunning: boolean;
    destinations: { name: string; up: boolean; since: string }[];
    /** Names of the destinations that are down. */
    down: string[];
  };
}

/** The health verdict and its body. */
export function health(s: Snapshot): HealthReport {
  const down = s.destinations.filter((d) => !d.up).map((d) => d.name);
  const noneUp = down.length === s.destinations.length;
  const status = !s.ingestRunning || noneUp ? 'down' : down.length > 0 ? 'degraded' : 'ok';
  return {
    httpStatus: status === 'down' ? 503 : 200,
    body: {
      status,
      ingestRunning: s.ingestRunning,
      destinations: s.destinations.map((d) => ({ name: d.name, up: d.up, since: new Date(d.sinceMs).toISOString() })),
      down,
    },
  };
}
