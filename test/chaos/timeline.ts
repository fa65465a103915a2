/**
 * Which stretch of the traffic each destination (and the group) was configured for, as the relay
 * was reloaded under traffic. Positions are ring items (ingest's received count): a destination
 * added by a reload starts somewhere between what ingest had taken just before the SIGHUP and just
 * after the reload's log line, a removed one stops there; at start and at the end they are exact.
 * Each configured stretch of a destination is one incarnation: its counters start at zero and end
 * in a retired line (removed) or in the final `stopped` line.
 */
import type { DestinationSnapshot } from '../../src/metrics/snapshot-types.js';
import { type ConfigState, type GroupState, NO_INPUT_LIMITS } from './schedule.js';

export interface Window {
  lo: number;
  hi: number;
}

export interface Presence {
  start: Window;
  end: Window;
}

/** One incarnation of a destination: its last /stats entry seen, and its final counters once known. */
export interface Incarnation {
  lastSeen: DestinationSnapshot | undefined;
  ended: boolean;
}

/** The group target's id in `presences`. */
export const GROUP = 'group g';

function sameGroup(a: GroupState | undefined, b: GroupState | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class Timeline {
  /** Per target (a plain receiver's id, or GROUP): its stretches, the last one open until end(). */
  readonly presences = new Map<string, Presence[]>();
  /** Versions of the group (a changed group is replaced whole), for placement checks. */
  readonly groupVersions: { group: GroupState; presence: Presence }[] = [];
  /** Per receiver id, its incarnations in order. */
  readonly incarnations = new Map<string, Incarnation[]>();
  private state: ConfigState = { plain: [], group: undefined, inputs: NO_INPUT_LIMITS };
  private readonly open = new Map<string, Window>();

  constructor(initial: ConfigState) {
    this.apply(initial, { lo: 0, hi: 0 });
  }

  get current(): ConfigState {
    return this.state;
  }

  /** The receivers configured now (plain and members). */
  configured(state = this.state): string[] {
    return [...state.plain, ...(state.group?.members ?? [])];
  }

  /** A reload to `next` whose changes took effect within `at`. */
  apply(next: ConfigState, at: Window): void {
    const before = this.state;
    for (const id of new Set([...before.plain, ...next.plain])) {
      const was = before.plain.includes(id);
      const now = next.plain.includes(id);
      if (was && !now) this.close(id, at);
      if (!was && now) this.start(id, at);
    }
    if (!sameGroup(before.group, next.group)) {
      if (before.group) {
        this.groupVersions.at(-1)!.presence.end = at;
        for (const id of before.group.members) this.endIncarnation(id);
        if (!next.group) this.close(GROUP, at);
      }
      if (next.group) {
        this.groupVersions.push({ group: next.group, presence: { start: at, end: { lo: Infinity, hi: Infinity } } });
        for (const id of next.group.members) this.newIncarnation(id);
        if (!before.group) this.open.set(GROUP, at);
      }
    }
    this.state = next;
  }

  /** The end of the traffic: `ingested` items in all; every open stretch ends there. */
  end(ingested: number): void {
    const at = { lo: ingested, hi: ingested };
    for (const id of [...this.open.keys()]) this.close(id, at, false);
    const last = this.groupVersions.at(-1);
    if (last && last.presence.end.lo === Infinity) last.presence.end = at;
  }

  /** A /stats entry of `id`'s current incarnation. */
  observe(id: string, seen: DestinationSnapshot): void {
    const current = this.incarnations.get(id)?.at(-1);
    if (current && !current.ended) current.lastSeen = seen;
  }

  /** Incarnations of `id` that ended (were removed) so far. */
  endedCount(id: string): number {
    return (this.incarnations.get(id) ?? []).filter((i) => i.ended).length;
  }

  private start(id: string, at: Window): void {
    this.open.set(id, at);
    this.newIncarnation(id);
  }

  /** Ends `id`'s open stretch at `at`; `removed`: a reload removed it (its incarnation ends in a retired line). */
  private close(id: string, at: Window, removed = true): void {
    const start = this.open.get(id)!;
    this.open.delete(id);
    const list = this.presences.get(id) ?? [];
    list.push({ start, end: at });
    this.presences.set(id, list);
    if (id !== GROUP && removed) this.endIncarnation(id);
  }

  private newIncarnation(id: string): void {
    const list = this.incarnations.get(id) ?? [];
    list.push({ lastSeen: undefined, ended: false });
    this.incarnations.set(id, list);
  }

  private endIncarnation(id: string): void {
    const current = this.incarnations.get(id)?.at(-1);
    if (current) current.ended = true;
  }
}
