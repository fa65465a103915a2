/**
 * Members (src/group/members.ts) against a plain Set of positions: seeded random sets of groups
 * of 1 to MAX_GROUP_MEMBERS members, every operation compared after every step.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { MAX_GROUP_MEMBERS } from '../../src/group/group-spec.js';
import { Members, wordsFor } from '../../src/group/members.js';
import { mulberry32, randomInt } from '../helpers/prng.js';

const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);

function check(members: Members, model: Set<number>, count: number, where: string): void {
  assert.deepEqual(members.positions, sorted(model), where);
  assert.equal(members.size, model.size, where);
  assert.equal(members.isEmpty, model.size === 0, where);
  assert.equal(members.lowest, model.size === 0 ? -1 : Math.min(...model), where);
  for (let p = 0; p < count; p++) assert.equal(members.has(p), model.has(p), `${where}: position ${p}`);
  const words = new Uint32Array(3 + wordsFor(count));
  members.writeTo(words, 3);
  for (let p = 0; p < count; p++) assert.equal(Members.hasIn(words, 3, p), model.has(p), `${where}: stored, position ${p}`);
  assert.ok(Members.readFrom(words, 3, wordsFor(count)).equals(members), where);
}

test('members: sets of up to MAX_GROUP_MEMBERS behave as sets of positions (200 seeds)', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = mulberry32(seed);
    const count = seed % 10 === 0 ? MAX_GROUP_MEMBERS : randomInt(random, 1, 100);
    const some = (): Set<number> => new Set(Array.from({ length: randomInt(random, 0, count) }, () => randomInt(random, 0, count - 1)));
    let model = some();
    let members = Members.of(count, model);
    check(Members.none(count), new Set(), count, `seed ${seed}: none`);
    check(Members.all(count), new Set(Array.from({ length: count }, (_, p) => p)), count, `seed ${seed}: all`);
    for (let step = 0; step < 40; step++) {
      const where = `seed ${seed} (${count} members), step ${step}`;
      const p = randomInt(random, 0, count - 1);
      const otherModel = some();
      const other = Members.of(count, otherModel);
      const before = members;
      switch (randomInt(random, 0, 3)) {
        case 0:
          members = members.with(p);
          model = new Set([...model, p]);
          break;
        case 1:
          members = members.without(p);
          model = new Set([...model].filter((q) => q !== p));
          break;
        case 2:
          members = members.or(other);
          model = new Set([...model, ...otherModel]);
          break;
        default:
          members = members.minus(other);
          model = new Set([...model].filter((q) => !otherModel.has(q)));
      }
      check(members, model, count, where);
      assert.equal(members.equals(before), sorted(model).join() === before.positions.join(), `${where}: equals`);
    }
  }
});
