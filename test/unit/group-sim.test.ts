/**
 * The group simulation (test/sim/group-sim.ts) over many seeds. RELAY_GROUP_SIM_SEED=N runs just
 * that seed (a failing one prints itself); RELAY_GROUP_SIM_SEEDS sets how many; `npm run soak`
 * runs far more.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { simulateMany } from '../sim/egress-sim.js';
import { type GroupSimResult, simulateGroup } from '../sim/group-sim.js';

const only = process.env.RELAY_GROUP_SIM_SEED;
const seeds = only !== undefined ? [Number(only)] : Array.from({ length: Number(process.env.RELAY_GROUP_SIM_SEEDS ?? 300) }, (_, i) => i + 1);
const STEPS = Number(process.env.RELAY_SIM_STEPS ?? 250);

test(`group simulation: ${seeds.length} seeds x ${STEPS} steps, every invariant after every step`, async () => {
  const results = (await simulateMany(seeds, { steps: STEPS }, 8, simulateGroup)) as GroupSimResult[];
  const total = (field: 'messages' | 'runs' | 'dropped' | 'handed'): number => results.reduce((n, r) => n + r[field], 0);
  const modes = new Set(results.map((r) => r.mode)).size;
  console.log(
    `simulated ${seeds.length} group seeds (${modes} modes): ${total('messages')} messages, ${total('runs')} relay runs, ${total('handed')} handed over, ${total('dropped')} counted dropped`,
  );
  assert.ok(total('messages') > seeds.length, 'the schedules sent messages');
  if (only === undefined) assert.ok(total('handed') > 0, 'members went down and handed their share over');
});

test('group simulation: a seed replays exactly', async () => {
  const seed = Number(only ?? 7);
  const [a, b] = [await simulateGroup(seed, { steps: STEPS }), await simulateGroup(seed, { steps: STEPS })];
  assert.deepEqual(a, b);
});
