/**
 * Placement and Group without destinations (src/group/): which members own a key in each mode,
 * how stretches fix ownership per item id, and what a member that goes down hands to whom. The
 * group's members are fakes implementing GroupMember; test/sim/group-sim.ts runs real ones.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Group, type GroupMember, type Handed } from '../../src/group/group.js';
import type { GroupKey, GroupMode, GroupSpec } from '../../src/group/group-spec.js';
import { Members } from '../../src/group/members.js';
import { keyOf, Placement } from '../../src/group/placement.js';

function specOf(mode: GroupMode, members: number, options: { replication?: number; dynamic?: boolean; key?: GroupKey } = {}): GroupSpec {
  return {
    name: 'g',
    mode,
    key: options.key ?? 'first-field',
    replication: options.replication ?? 1,
    dynamic: options.dynamic ?? false,
    members: Array.from({ length: members }, (_, i) => ({ host: `host${i}`, port: 2000 + i, instance: undefined, text: `tcp@host${i}:${2000 + i}` })),
  };
}

const key = (name: string): Uint8Array => Buffer.from(name);
/** Sets of members written as bitmasks (these groups have at most 32 members). */
const positionsOf = (mask: number): number[] => Array.from({ length: 32 }, (_, p) => p).filter((p) => (mask >>> p) & 1);
const set = (mask: number): Members => Members.of(32, positionsOf(mask));
const bits = (members: Members): number => members.positions.reduce((mask, p) => mask | (1 << p), 0);
const metric = (i: number): Buffer => Buffer.from(`servers.web${i}.cpu ${i} 1700000000`);
/** Waits for the group's recompute (a microtask after memberDown / memberUp). */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A member as the group sees it: what it will hand over when asked, and what it took. */
class FakeMember implements GroupMember {
  cursorItems = 0;
  unconfirmedBytes = 0;
  oldestOwedId = 0;
  toHand: Handed = { payloads: [], ids: [] };
  handOvers = 0;
  readonly taken: number[] = [];

  handOver(): Handed {
    this.handOvers++;
    const handed = this.toHand;
    this.toHand = { payloads: [], ids: [] };
    return handed;
  }

  takeOver(payloads: Uint8Array[], ids: number[]): void {
    assert.equal(payloads.length, ids.length);
    this.taken.push(...ids);
    // As a destination's: its window holds what it took over until confirmed.
    this.oldestOwedId = Math.min(this.oldestOwedId, ...ids);
  }
}

function groupOf(spec: GroupSpec, cursor = 0): { group: Group; members: FakeMember[] } {
  const group = new Group(spec);
  const members = spec.members.map((_, p) => {
    const m = new FakeMember();
    m.cursorItems = cursor;
    m.oldestOwedId = cursor;
    group.join(p, m);
    return m;
  });
  return { group, members };
}

test('failover: the first member, in the order listed, that is up', () => {
  const placement = new Placement(specOf('failover', 3));
  assert.equal(bits(placement.owners(key('a'), set(0b111), 0)), 0b001);
  assert.equal(bits(placement.owners(key('a'), set(0b110), 0)), 0b010);
  assert.equal(bits(placement.owners(key('b'), set(0b100), 0)), 0b100);
  assert.equal(bits(placement.owners(key('c'), set(0b101), 0)), 0b001);
});

test('any-of: a key stays on its member while it is up; a down member’s keys spread over those up, the same key always to the same one', () => {
  const placement = new Placement(specOf('any-of', 3));
  const all = 0b111;
  const spreadTo = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const k = key(`metric.${i}`);
    const home = bits(placement.owners(k, set(all), 0));
    assert.equal(positionsOf(home).length, 1);
    for (const down of [0, 1, 2]) {
      const up = all & ~(1 << down);
      const now = bits(placement.owners(k, set(up), 0));
      assert.equal(positionsOf(now).length, 1);
      assert.ok((now & up) !== 0, 'placed on a member that is up');
      if (home !== 1 << down) assert.equal(now, home, `key ${i} left its member ${home} that is up`);
      else if (down === 0) spreadTo.add(now);
      assert.equal(bits(placement.owners(k, set(up), 0)), now, 'the same key, the same member');
    }
  }
  assert.deepEqual([...spreadTo].sort(), [0b010, 0b100], 'member 0’s keys go to both members up');
});

test('least-loaded: owns the chosen member; rebalance moves on only past the slack, and only from a new stretch', () => {
  const placement = new Placement(specOf('least-loaded', 3));
  assert.equal(bits(placement.owners(key('x'), set(0b111), 2)), 0b100);
  const { group, members } = groupOf(specOf('least-loaded', 3), 10);
  assert.equal(bits(group.owners(9, metric(1))), 0b001);
  members[0]!.unconfirmedBytes = 64 * 1024;
  group.rebalance();
  assert.equal(bits(group.owners(10, metric(2))), 0b001, 'exactly the slack more: no change');
  members[0]!.unconfirmedBytes = 64 * 1024 + 1;
  members[1]!.unconfirmedBytes = 5;
  group.rebalance();
  assert.equal(bits(group.owners(10, metric(2))), 0b100, 'the least loaded, from the stretch at every cursor');
  assert.equal(bits(group.owners(9, metric(1))), 0b001, 'below the stretch: unchanged');
  assert.equal(members[0]!.handOvers, 0, 'a rebalance hands nothing over');
});

test('stretches: a member going down never changes who owns an item below every cursor', async () => {
  const { group, members } = groupOf(specOf('any-of', 3));
  members[0]!.cursorItems = 40;
  members[1]!.cursorItems = 55;
  members[2]!.cursorItems = 50;
  const before = Array.from({ length: 100 }, (_, id) => bits(group.owners(id, metric(id))));
  group.memberDown(1);
  assert.equal(members[1]!.handOvers, 0, 'recomputed in a microtask, not inside the connection event');
  await settled();
  assert.equal(members[1]!.handOvers, 1);
  for (let id = 0; id < 100; id++) {
    const now = bits(group.owners(id, metric(id)));
    if (id < 55) assert.equal(now, before[id], `item ${id} below the stretch changed owner`);
    else assert.equal(now & 0b010, 0, `item ${id} still owned by the member that is down`);
  }
  assert.ok(
    before.slice(55).some((o) => o === 0b010),
    'some later item was member 1’s',
  );
});

test('redistribute (dynamic carbon_ch, replication 2): each handed item goes to exactly the members that gain it', async () => {
  const spec = specOf('carbon_ch', 4, { replication: 2, dynamic: true });
  const placement = new Placement(spec);
  const { group, members } = groupOf(spec, 30);
  const handed: Handed = { payloads: [], ids: [] };
  for (let id = 0; id < 30; id++) {
    if (bits(group.owners(id, metric(id))) & 1) {
      handed.payloads.push(metric(id));
      handed.ids.push(id);
    }
  }
  assert.ok(handed.ids.length >= 5, 'member 0 owned some items');
  members[0]!.toHand = handed;
  group.memberDown(0);
  await settled();
  const expected: number[][] = [[], [], [], []];
  for (const [i, id] of handed.ids.entries()) {
    const k = keyOf(handed.payloads[i]!, 'first-field');
    const before = bits(placement.owners(k, set(0b1111), 0));
    const after = bits(placement.owners(k, set(0b1110), 0));
    assert.equal(positionsOf(before).length, 2);
    assert.equal(positionsOf(after & ~before).length, 1, 'one member replaces member 0; the other replica stays');
    for (const p of positionsOf(after & ~before)) expected[p]!.push(id);
  }
  assert.deepEqual(
    members.map((m) => m.taken),
    expected,
  );
  for (const [p, m] of members.entries())
    for (const id of m.taken) assert.equal(bits(group.owners(id, metric(id))) & (1 << p), 0, `member ${p} already had item ${id}`);
});

test('static carbon_ch: a member going down moves nothing', async () => {
  const { group, members } = groupOf(specOf('carbon_ch', 3, { replication: 1 }), 10);
  const before = Array.from({ length: 40 }, (_, id) => bits(group.owners(id, metric(id))));
  group.memberDown(0);
  await settled();
  assert.equal(members[0]!.handOvers, 0);
  assert.deepEqual(
    Array.from({ length: 40 }, (_, id) => bits(group.owners(id, metric(id)))),
    before,
  );
  assert.equal(group.ownsNothingFrom(1, 0), false);
});

test('ownsNothingFrom: a failover standby owns nothing until the first member goes down, and then from the new stretch on', async () => {
  const { group, members } = groupOf(specOf('failover', 2), 5);
  assert.equal(group.ownsNothingFrom(1, 0), true);
  assert.equal(group.ownsNothingFrom(0, 0), false);
  group.memberDown(0);
  await settled();
  assert.equal(members[0]!.handOvers, 1);
  assert.equal(group.ownsNothingFrom(1, 0), false);
  assert.equal(group.ownsNothingFrom(0, 5), true, 'member 0 owns nothing from the new stretch on');
  assert.equal(group.ownsNothingFrom(0, 4), false, 'but still owns what came before it');
  members[0]!.cursorItems = 9;
  members[1]!.cursorItems = 9;
  group.memberUp(0);
  await settled();
  assert.equal(group.ownsNothingFrom(1, 9), true, 'back to standby from the stretch where member 0 came back');
  assert.equal(bits(group.owners(9, metric(9))), 0b01);
  assert.equal(bits(group.owners(8, metric(8))), 0b10);
});

test('every member down: ownership stays where it was, nothing is handed over', async () => {
  const { group, members } = groupOf(specOf('failover', 2), 5);
  group.memberDown(0);
  await settled();
  assert.equal(bits(group.owners(6, metric(6))), 0b10);
  for (const m of members) m.cursorItems = 12;
  group.memberDown(1);
  await settled();
  assert.equal(members[1]!.handOvers, 0, 'the last member up keeps its share');
  assert.equal(bits(group.owners(20, metric(20))), 0b10);
  const both = groupOf(specOf('any-of', 3), 3);
  const before = Array.from({ length: 20 }, (_, id) => bits(both.group.owners(id, metric(id))));
  for (const p of [0, 1, 2]) both.group.memberDown(p);
  await settled();
  assert.deepEqual(
    both.members.map((m) => m.handOvers),
    [0, 0, 0],
  );
  assert.deepEqual(
    Array.from({ length: 20 }, (_, id) => bits(both.group.owners(id, metric(id)))),
    before,
  );
});

test('keyOf: first-field is the Graphite name: leading blanks skipped, up to any whitespace or a tag; message is the whole payload', () => {
  const key = (line: string): string => Buffer.from(keyOf(Buffer.from(line), 'first-field')).toString();
  assert.equal(key('a.b.c 1 2'), 'a.b.c');
  assert.equal(key('a.b.c'), 'a.b.c');
  assert.equal(key('a.b.c\t1\t2'), 'a.b.c', 'a TAB separates fields');
  assert.equal(key(' \t a.b.c 1 2'), 'a.b.c', 'leading blanks are not part of the name');
  assert.equal(key('a.b.c;dc=x;host=y 1 2'), 'a.b.c', 'a tagged name hashes by the name before its tags');
  assert.equal(key('a.b.c\r\n'), 'a.b.c');
  assert.equal(key('   '), '');
  assert.equal(Buffer.from(keyOf(Buffer.from('a.b.c 1 2'), 'message')).toString(), 'a.b.c 1 2');
  const g = new Group(specOf('carbon_ch', 3));
  assert.equal(bits(g.owners(0, Buffer.from('same.name 1'))), bits(g.owners(1, Buffer.from('same.name 2'))), 'first-field: the value does not move a metric');
});

test('a member that took items over and goes down hands them on to the member up, even back to their first owner', async () => {
  const { group, members } = groupOf(specOf('failover', 3), 10);
  const items: Handed = { payloads: [0, 1, 2].map(metric), ids: [0, 1, 2] };
  members[0]!.toHand = { payloads: [...items.payloads], ids: [...items.ids] };
  group.memberDown(0);
  await settled();
  assert.deepEqual(members[1]!.taken, [0, 1, 2]);
  members[1]!.toHand = { payloads: [...items.payloads], ids: [...items.ids] };
  group.memberDown(1);
  await settled();
  assert.deepEqual(members[2]!.taken, [0, 1, 2], 'the next member up, not the first owner that is down');
  group.memberUp(0);
  await settled();
  members[2]!.toHand = { payloads: [...items.payloads], ids: [...items.ids] };
  group.memberDown(2);
  await settled();
  assert.deepEqual(members[0]!.taken, [0, 1, 2], 'back to member 0, which handed them away when it went down');
});

test('a hash group with fewer members up than its replication moves nothing: nobody hands over', async () => {
  const { group, members } = groupOf(specOf('carbon_ch', 2, { replication: 2, dynamic: true }), 10);
  members[0]!.toHand = { payloads: [metric(1)], ids: [1] };
  group.memberDown(0);
  await settled();
  assert.equal(members[0]!.handOvers, 0);
  assert.equal(bits(group.owners(11, metric(11))), 0b11, 'both still own every item');
  assert.equal(group.ownsNothingFrom(0, 11), false);
});

test('replication 2: a copy handed over twice keeps two holders', async () => {
  const spec = specOf('carbon_ch', 4, { replication: 2, dynamic: true });
  const { group, members } = groupOf(spec, 30);
  const id = Array.from({ length: 30 }, (_, i) => i).find((i) => bits(group.owners(i, metric(i))) & 1)!;
  const first = bits(group.owners(id, metric(id)));
  members[0]!.toHand = { payloads: [metric(id)], ids: [id] };
  group.memberDown(0);
  await settled();
  const taker = members.findIndex((m) => m.taken.includes(id));
  assert.ok(taker > 0 && ((first >>> taker) & 1) === 0, 'taken by a member that did not own it');
  const other = positionsOf(first & ~1)[0]!;
  members[other]!.toHand = { payloads: [metric(id)], ids: [id] };
  group.memberDown(other);
  await settled();
  const copies = members.reduce((n, m) => n + m.taken.filter((t) => t === id).length, 0);
  assert.equal(copies, 2, 'each member that went down was replaced once');
  assert.ok(!members[taker]!.taken.slice(1).includes(id), 'the first taker still holds its copy: not given it again');
});
