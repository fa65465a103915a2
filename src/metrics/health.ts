/**
 * /health from a snapshot: ok when every destination and group member is up; degraded when some
 * are down; down (503) when ingest stopped, when no destination is up, or when every member of
 * a group is down (that group's messages reach no one).
 */
import type { Snapshot } from './snapshot-types.js';

export interface HealthReport {
  httpStatus: 200 | 503;
  body: {
    status: 'ok' | 'degraded' | 'down';
    ingestRunning: boolean;
    destinations: { name: string; up: boolean; since: string; group?: string }[];
    /** Names of the destinations (and group members) that are down. */
    down: string[];
    /** Each group: up while one of its members is. */
    groups: { name: string; up: boolean; membersUp: number; members: number }[];
  };
}

/** The health verdict and its body. */
export function health(s: Snapshot): HealthReport {
  const down = s.destinations.filter((d) => !d.up).map((d) => d.name);
  const noneUp = down.length === s.destinations.length;
  const names = [...new Set(s.destinations.flatMap((d) => (d.group === undefined ? [] : [d.group])))];
  const groups = names.map((name) => {
    const members = s.destinations.filter((d) => d.group === name);
    const membersUp = members.filter((d) => d.up).length;
    return { name, up: membersUp > 0, membersUp, members: members.length };
  });
  const groupDown = groups.some((g) => !g.up);
  const status = !s.ingestRunning || noneUp || groupDown ? 'down' : down.length > 0 ? 'degraded' : 'ok';
  return {
    httpStatus: status === 'down' ? 503 : 200,
    body: {
      status,
      ingestRunning: s.ingestRunning,
      destinations: s.destinations.map((d) => ({
        name: d.name,
        up: d.up,
        since: new Date(d.sinceMs).toISOString(),
        ...(d.group === undefined ? {} : { group: d.group }),
      })),
      down,
      groups,
    },
  };
}
