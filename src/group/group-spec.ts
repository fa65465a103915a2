/**
 * What a destination group is (README "Groups"): a fan-out target whose members share its
 * messages instead of each getting every one. These are the types the configuration builds and
 * the egress thread runs with (one GroupSpec per group, referenced by each member's options).
 */
import type { HashMode } from './consistent-hash.js';

/** How a group places each message on its members. */
export type GroupMode = 'failover' | 'any-of' | 'least-loaded' | HashMode;
export const GROUP_MODES: readonly GroupMode[] = ['failover', 'any-of', 'least-loaded', 'carbon_ch', 'fnv1a_ch', 'jump_fnv1a_ch'];

/** What of a message is hashed: up to its first space (a Graphite metric name), or all of it. */
export type GroupKey = 'first-field' | 'message';
export const GROUP_KEYS: readonly GroupKey[] = ['first-field', 'message'];

/** The most members a group may have (as many as destinations: src/config/config.ts MAX_DESTINATIONS). */
export const MAX_GROUP_MEMBERS = 256;

/** True for the modes that place as carbon-c-relay's consistent-hash clusters do. */
export function isHashMode(mode: GroupMode): mode is HashMode {
  return mode === 'carbon_ch' || mode === 'fnv1a_ch' || mode === 'jump_fnv1a_ch';
}

/** One member as the placement sees it: where it is, and the instance name carbon hashes use. */
export interface GroupMemberSpec {
  host: string;
  port: number;
  instance: string | undefined;
  /** Canonical address text, for logs. */
  text: string;
}

/** A group as it runs. */
export interface GroupSpec {
  name: string;
  mode: GroupMode;
  key: GroupKey;
  /** Members that get each message (hash modes; 1 otherwise). */
  replication: number;
  /**
   * Hash modes: a down member's share goes to the next member on the ring (true), or is held
   * for it, spilled or dropped as a destination's backlog is (false). The other modes always move
   * a down member's share.
   */
  dynamic: boolean;
  members: GroupMemberSpec[];
}

/** True when a member that goes down hands its share to the others (failover, any-of, least-loaded, dynamic hashes). */
export function movesShares(spec: GroupSpec): boolean {
  return !isHashMode(spec.mode) || spec.dynamic;
}
