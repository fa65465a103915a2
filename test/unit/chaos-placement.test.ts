/**
 * The chaos ledger's placement check (test/chaos/ledger.ts checkPlacement) against what README
 * "Groups" allows across reloads: a member's backlog stays with its identity, and moves to other
 * members only where a version of the group moves shares. Synthetic facts, no processes.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { keyOf, Placement } from '../../src/group/placement.js';
import { checkPlacement, type Facts, type IdentityFacts } from '../chaos/ledger.js';
import { type ConfigState, type GroupState, NO_INPUT_LIMITS } from '../chaos/schedule.js';
import { GROUP, Timeline } from '../chaos/timeline.js';
import { numbered } from '../helpers/numbered.js';

const MESSAGE_BYTES = 48;
const IDS = ['ma', 'mb', 'mc'];
const port = (id: string): number => 3000 + IDS.indexOf(id);
const instance = (id: string): string => id.slice(1);

/** The first message of 0..99 that a static carbon_ch group of all three places on member `id`. */
function ownedBy(id: string): number {
  const placement = new Placement({
    name: 'g',
    mode: 'carbon_ch',
    key: 'first-field',
    replication: 1,
    dynamic: false,
    members: IDS.map((id) => ({ host: '127.0.0.1', port: port(id), instance: instance(id), text: id })),
  });
  for (let n = 0; n < 100; n++) {
    if (placement.owners(keyOf(numbered(n, MESSAGE_BYTES), 'first-field'), placement.allMembers, 0).lowest === IDS.indexOf(id)) return n;
  }
  throw new Error(`no message of 0..99 on ${id}`);
}

/** Checks ma having received `received`, with the group carbon_ch of all three for items 0..100, then `later` each for 100 more. */
function placementFailures(received: number[], later: GroupState[], spill: boolean): string[] {
  const state = (group: GroupState): ConfigState => ({ plain: [], group, inputs: NO_INPUT_LIMITS });
  const timeline = new Timeline(state({ mode: 'carbon_ch', dynamic: false, members: IDS }));
  for (const [i, group] of later.entries()) timeline.apply(state(group), { lo: 100 * (i + 1), hi: 100 * (i + 1) });
  const ingested = 100 * (later.length + 1);
  timeline.end(ingested);
  const identities: IdentityFacts[] = IDS.map((id) => ({
    ...{ id, kind: 'tcp', target: GROUP, port: port(id), instance: instance(id), sent: 0, dropped: {} },
    ...{ resent: 0, connects: 1, takenOver: 0, handedOver: 0, onDisk: [], tcpLossAllowed: 0 },
    received: id === 'ma' ? received : [],
  }));
  const facts: Facts = { spill, messageBytes: MESSAGE_BYTES, sentDatagrams: ingested, ingested, identities, timeline, witnessMayDrop: false };
  const failures: string[] = [];
  checkPlacement(facts, (text) => failures.push(text));
  return failures;
}

const anyOf = (members: string[]): GroupState => ({ mode: 'any-of', dynamic: false, members });
const jump = (members: string[]): GroupState => ({ mode: 'jump_fnv1a_ch', dynamic: false, members });
const wrong = (n: number): string[] => [`ma: 1 message(s) reached this member of group g though it could hold none of them (first ${n})`];

test("chaos placement: mb's backlog reaches ma only through a version that moves shares and has mb in it", () => {
  const n = ownedBy('mb');
  // mb stays, the group becomes any-of: mb down there hands its backlog to the members up.
  assert.deepEqual(placementFailures([n], [anyOf(IDS)], false), []);
  // mb stays through a static hash first: still its, then moved by the any-of after.
  assert.deepEqual(placementFailures([n], [jump(IDS), anyOf(IDS)], false), []);
  // A static hash never moves a share: mb's message at ma is wrong.
  assert.deepEqual(placementFailures([n], [jump(IDS)], false), wrong(n));
  // mb left out of the any-of: nobody there holds its backlog.
  assert.deepEqual(placementFailures([n], [anyOf(['ma', 'mc'])], false), wrong(n));
  // Without a spill directory, mb left out and added again lost it (dropped at its removal).
  assert.deepEqual(placementFailures([n], [jump(['ma', 'mc']), anyOf(IDS)], false), wrong(n));
  // With one, mb added again replays its directory, and goes down in an any-of.
  assert.deepEqual(placementFailures([n], [jump(['ma', 'mc']), anyOf(IDS)], true), []);
  // ma's own message stays its whatever follows.
  assert.deepEqual(placementFailures([ownedBy('ma')], [jump(['mb', 'mc']), jump(IDS)], false), []);
});
