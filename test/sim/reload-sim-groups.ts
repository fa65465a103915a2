/**
 * Groups in the reload simulation (./reload-sim.ts): a seed may run its identities as the members
 * of one static consistent-hash group (a share is a pure function of the message and the member
 * list, so what an identity owns is known per incarnation) instead of as plain destinations. A
 * reload that changes the member list replaces the group whole: the members that stay are removed
 * and added again, and one without a spill directory hands what it holds to its successor
 * (docs/ARCHITECTURE.md, "Groups"). The draws come from their own generator, so the seeds that
 * run no group keep the schedule they had.
 */
import type { Endpoint } from '../../src/config/address.js';
import type { GroupConfig } from '../../src/config/config.js';
import type { GroupKey } from '../../src/group/group-spec.js';
import type { HashMode } from '../../src/group/consistent-hash.js';
import { keyOf, Placement } from '../../src/group/placement.js';
import type { DestinationOptions, RetiredReport } from '../../src/thread-protocol.js';
import { mulberry32 } from '../helpers/prng.js';

/** The group a seed runs its identities in, or undefined: plain destinations. */
export interface SimGroupKind {
  mode: HashMode;
  key: GroupKey;
  replication: number;
}

/** Picks a seed's group (two seeds in five), from a generator of its own. */
export function simGroupKind(seed: number): SimGroupKind | undefined {
  const random = mulberry32(seed * 97 + 11);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  if (random() >= 0.4) return undefined;
  return { mode: pick(['carbon_ch', 'fnv1a_ch', 'jump_fnv1a_ch'] as const), key: pick(['first-field', 'message'] as const), replication: pick([1, 1, 2]) };
}

/** The group of `members` (identity k is instance `m<k>`: they share one host), replication at most their number. */
export function simGroup(kind: SimGroupKind, members: { identity: number; endpoint: Endpoint }[]): GroupConfig {
  return {
    name: 'sim',
    mode: kind.mode,
    key: kind.key,
    replication: Math.min(kind.replication, members.length),
    dynamic: false,
    members: members.map(({ identity, endpoint }) => ({ member: endpoint, instance: `m${identity}` })),
    where: 'reload simulation',
  };
}

/** Whether a destination started with `options` owns a message: a plain one every message, a member its static share. */
export function ownerTest(options: DestinationOptions): (payload: Uint8Array) => boolean {
  const member = options.member;
  if (!member) return () => true;
  const placement = new Placement(member.group);
  return (payload) => placement.owners(keyOf(payload, member.group.key), placement.allMembers, 0).has(member.position);
}

/**
 * R6: a member removed by a reload that added its identity again, without a spill directory,
 * whose successor still runs when its report comes (so it ran when the member finished), handed
 * its successor all it held: nothing left undelivered, nothing dropped at shutdown. Returns what
 * is wrong, or undefined.
 */
export function checkHandedToSuccessor(report: RetiredReport, successorRunning: boolean): string | undefined {
  if (!successorRunning) return undefined;
  if (report.messages > 0 || (report.dropped.shutdown ?? 0) > 0)
    return `slot ${report.index}: a member that stays in its group left ${report.messages} undelivered, ${report.dropped.shutdown ?? 0} dropped at shutdown, with its successor running (R6)`;
  return undefined;
}
