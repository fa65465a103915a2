/**
 * The ledger of a chaos schedule and its invariants. Per destination (its receiver) and per target
 * (a plain destination, or the whole group), from the relay's own counters (summed over its
 * incarnations and runs: retired lines, the final `stopped` lines), the receiver's messages, and
 * what is left on disk (held):
 *
 * - given = sent + dropped (by reason) + held: every ring item of the target's stretches is
 *   accounted for exactly once (the stretches' ends are known within a reload's window);
 * - every item of a stretch's certain core is at the receiver or on disk, but for as many as were
 *   counted dropped, lost at ingest, or lost in a killed TCP receiver's kernel buffers;
 * - nothing invented: every message received was sent and falls in a stretch of its target;
 *   no more unique messages than sent + dropped + held;
 * - the witness (never faulted) drops nothing unless a burst came near the ring's size;
 * - relp@: what was acknowledged is at the receiver (unique ≥ sent); with a spill directory nothing
 *   is dropped at all. tcp@: unique ≥ sent, but for what a receiver's kill cost (measured then);
 * - duplicates only as counted resends; order kept per connection (the stream needs no more
 *   increasing runs than the destination had connections);
 * - a group member gets only messages it may hold: a static consistent hash places only what it
 *   owns on it (src/group/placement.ts, itself checked against carbon-c-relay), what a member
 *   going down hands over follows shares only in groups that move them, and a member's backlog
 *   stays with its identity across a reload (README "Groups").
 */
import { movesShares } from '../../src/group/group-spec.js';
import { keyOf, Placement } from '../../src/group/placement.js';
import { numbered } from '../helpers/numbered.js';
import type { ReceiverKind } from './schedule.js';
import { GROUP, type Presence, type Timeline } from './timeline.js';

export interface IdentityFacts {
  id: string;
  kind: ReceiverKind | 'witness';
  /** Its target: its own id, or GROUP for a member. */
  target: string;
  port: number;
  instance: string | undefined;
  sent: number;
  dropped: Record<string, number>;
  /** Undefined where a removed incarnation's value is not exactly known (it is not in its retired line). */
  resent: number | undefined;
  connects: number | undefined;
  takenOver: number | undefined;
  /**
   * A group member's messages other members took over from it (its final counters and retired
   * lines): one that had gone out when its connection broke may have reached it too (at least once).
   */
  handedOver: number;
  received: number[];
  onDisk: number[];
  /** TCP: how many sent messages a killed receiver may have lost (measured right after its last kill); undefined: not measurable. */
  tcpLossAllowed: number | undefined;
}

export interface Facts {
  spill: boolean;
  messageBytes: number;
  /** Datagrams sent; ingested of them put in the ring. */
  sentDatagrams: number;
  ingested: number;
  identities: IdentityFacts[];
  timeline: Timeline;
  /**
   * False when no burst came near the ring's lag limit (each at most 1/4 of the ring): then the
   * witness, which always reads, has no reason to lag 3/4 of the ring behind and must drop nothing
   * (README, "Isolation": only a destination that lags that far loses messages).
   */
  witnessMayDrop: boolean;
}

const sum = (values: Iterable<number>): number => {
  let total = 0;
  for (const v of values) total += v;
  return total;
};

/** Longest non-increasing subsequence: the fewest strictly increasing streams `sequence` can be an interleaving of (Dilworth). */
function fewestIncreasingStreams(sequence: readonly number[]): number {
  const tails: number[] = [];
  for (const v of sequence) {
    const x = -v;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (tails[mid]! <= x) lo = mid + 1;
      else hi = mid;
    }
    tails[lo] = x;
  }
  return tails.length;
}

/** Checks every invariant; returns one line per violation (empty: the schedule passed). */
export function checkLedger(f: Facts): string[] {
  const failures: string[] = [];
  const fail = (text: string): void => void failures.push(text);
  const ingestLost = f.sentDatagrams - f.ingested;
  const presencesOf = (target: string): Presence[] => f.timeline.presences.get(target) ?? [];
  const within = (n: number, p: Presence): boolean => n >= p.start.lo && n < p.end.hi + ingestLost;

  for (const d of f.identities) {
    const unique = new Set(d.received);
    const dropped = sum(Object.values(d.dropped));
    const held = d.onDisk.length;
    const what = `${d.id} (${d.kind}, port ${d.port})`;
    const stray = d.received.filter((n) => !presencesOf(d.target).some((p) => within(n, p)));
    if (stray.length > 0) fail(`${what}: ${stray.length} message(s) outside its configured stretches, first ${stray[0]}`);
    if (unique.size > d.sent + dropped + held + d.handedOver)
      fail(`${what}: ${unique.size} unique messages received, more than sent ${d.sent} + dropped ${dropped} + held ${held} + handed over ${d.handedOver}`);
    const allowed = d.kind === 'tcp' ? d.tcpLossAllowed : 0;
    if (allowed !== undefined && unique.size < d.sent - allowed) {
      const cause = d.kind === 'tcp' ? ` (a killed receiver's loss allows ${allowed})` : ' (acknowledged messages missing)';
      fail(`${what}: ${unique.size} unique messages received, relay counted ${d.sent} sent${cause}`);
    }
    const duplicates = d.received.length - unique.size;
    if (d.resent !== undefined && duplicates > d.resent) fail(`${what}: ${duplicates} duplicate(s) received, only ${d.resent} counted resent`);
    if (d.kind === 'witness' && !f.witnessMayDrop && dropped > 0) {
      fail(`${what}: a destination that always reads dropped ${JSON.stringify(d.dropped)}, though every burst was within 1/4 of the ring`);
    }
    if (d.kind === 'relp' || d.kind === 'rsyslog') {
      if (f.spill && dropped > 0) fail(`${what}: relp@ with a spill directory dropped ${dropped} (${JSON.stringify(d.dropped)})`);
    }
    if (d.connects !== undefined && d.takenOver === 0) {
      const streams = fewestIncreasingStreams(d.received);
      if (streams > Math.max(1, d.connects)) fail(`${what}: order broken: its messages need ${streams} increasing runs, it had ${d.connects} connection(s)`);
    }
  }

  for (const target of new Set(f.identities.map((d) => d.target))) {
    const members = f.identities.filter((d) => d.target === target);
    const presences = presencesOf(target);
    const accounted = sum(members.map((d) => d.sent + sum(Object.values(d.dropped)) + d.onDisk.length));
    const givenLo = sum(presences.map((p) => p.end.lo - p.start.hi));
    const givenHi = sum(presences.map((p) => p.end.hi - p.start.lo));
    const ledger = members.map((d) => `${d.id}: sent ${d.sent}, dropped ${JSON.stringify(d.dropped)}, held ${d.onDisk.length}`).join('; ');
    if (accounted < givenLo || accounted > givenHi) {
      fail(`${target}: sent + dropped + held = ${accounted}, but it was given ${givenLo === givenHi ? givenLo : `${givenLo}..${givenHi}`} (${ledger})`);
    }
    // The certain core of each stretch: every item there reached a receiver or the disk, but for what was counted lost.
    const have = new Set<number>();
    for (const d of members) for (const n of [...d.received, ...d.onDisk]) have.add(n);
    let missing = 0;
    let firstMissing: number | undefined;
    for (const p of presences) {
      for (let n = p.start.hi + ingestLost; n < p.end.lo; n++) {
        if (have.has(n)) continue;
        missing++;
        firstMissing ??= n;
      }
    }
    const excused = sum(members.map((d) => sum(Object.values(d.dropped)))) + ingestLost;
    const tcpLoss = members.map((d) => (d.kind === 'tcp' ? d.tcpLossAllowed : 0));
    if (!tcpLoss.includes(undefined) && missing > excused + sum(tcpLoss as number[])) {
      fail(
        `${target}: ${missing} message(s) of its stretches reached no receiver and no disk (first ${firstMissing}); counted dropped ${excused - ingestLost}, lost at ingest ${ingestLost}, TCP kill loss ${sum(tcpLoss as number[])}`,
      );
    }
  }

  checkPlacement(f, fail);
  return failures;
}

/**
 * Each message at a group member is one that member may hold (README "Groups"): one a version of
 * the group it was in placed on it (a static hash: only what it owns; other modes may place any
 * message of that version's stretch on any member), one a member going down handed it (groups
 * that move shares), or one its own identity held before a reload (its successor keeps it in
 * memory while it stays in the group; its spill directory keeps it across any reload).
 */
export function checkPlacement(f: Facts, fail: (text: string) => void): void {
  const ingestLost = f.sentDatagrams - f.ingested;
  const members = new Map(f.identities.filter((d) => d.target === GROUP).map((d) => [d.id, d]));
  const versions = f.timeline.groupVersions.map(({ group, presence }) => {
    const spec = {
      name: 'g',
      mode: group.mode,
      key: 'first-field' as const,
      replication: 1,
      dynamic: group.dynamic,
      members: group.members.map((id) => {
        const m = members.get(id)!;
        return { host: '127.0.0.1', port: m.port, instance: m.instance, text: id };
      }),
    };
    return { group, presence, moves: movesShares(spec), placement: new Placement(spec) };
  });
  /** The members that may hold message `n` at some time while in the group. */
  const mayHold = (n: number): Set<string> => {
    const allowed = new Set<string>();
    let holders = new Set<string>();
    for (const { group, presence, moves, placement } of versions) {
      // A reload: without a spill directory, a holder the new version left out finished with it (sent, or counted).
      if (!f.spill) holders = new Set([...holders].filter((id) => group.members.includes(id)));
      if (n >= presence.start.lo && n < presence.end.hi + ingestLost) {
        const key = keyOf(numbered(n, f.messageBytes), 'first-field');
        const owners = moves ? group.members : placement.owners(key, placement.allMembers, 0).positions.map((p) => group.members[p]!);
        for (const id of owners) holders.add(id);
      }
      // A holder that goes down in a group that moves shares hands it to the members up.
      if (moves && group.members.some((id) => holders.has(id))) for (const id of group.members) holders.add(id);
      for (const id of group.members) if (holders.has(id)) allowed.add(id);
    }
    return allowed;
  };
  const holders = new Map<number, Set<string>>();
  for (const m of members.values()) {
    let wrong = 0;
    let first: number | undefined;
    for (const n of new Set(m.received)) {
      const allowed = holders.get(n) ?? mayHold(n);
      holders.set(n, allowed);
      if (allowed.has(m.id)) continue;
      wrong++;
      first ??= n;
    }
    if (wrong > 0) fail(`${m.id}: ${wrong} message(s) reached this member of group g though it could hold none of them (first ${first})`);
  }
}
