/**
 * The relp simulation (test/sim/relp-sim.ts) over many seeds. RELAY_RELP_SIM_SEED=N runs just
 * that seed (a failing one prints itself); RELAY_RELP_SIM_SEEDS sets how many; `npm run soak`
 * runs far more.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { simulateMany } from '../sim/egress-sim.js';
import { simulateRelp, type RelpSimResult } from '../sim/relp-sim.js';

const only = process.env.RELAY_RELP_SIM_SEED;
const seeds = only !== undefined ? [Number(only)] : Array.from({ length: Number(process.env.RELAY_RELP_SIM_SEEDS ?? 200) }, (_, i) => i + 1);
const STEPS = Number(process.env.RELAY_SIM_STEPS ?? 400);

test(`relp simulation: ${seeds.length} seeds x ${STEPS} steps, every invariant after every step`, async () => {
  const results = (await simulateMany(seeds, { steps: STEPS }, 4, simulateRelp)) as RelpSimResult[];
  const sum = (key: keyof RelpSimResult): number => results.reduce((n, r) => n + Number(r[key] ?? 0), 0);
  console.log(
    `simulated ${seeds.length} relp seeds: ${sum('messages')} messages to destinations, ${sum('delivered')} acknowledged (200), ` +
      `${sum('refused')} refused (500), ${sum('dropped')} dropped (rejected included), ${sum('duplicates')} duplicates received (+${sum('spillDuplicates')} via the spill), ` +
      `${sum('resent')} counted resent, ${sum('connections')} connections, ${sum('cuts')} cut between command and answer, ` +
      `${sum('servercloses')} serverclose, ${sum('stalls')} stall/not-reading cuts, ${sum('closesAnswered')} close answered`,
  );
  assert.ok(sum('delivered') > seeds.length, 'the receivers acknowledged messages');
  if (only === undefined)
    assert.ok(sum('duplicates') > 0 && sum('refused') > 0 && sum('cuts') > 0 && sum('servercloses') > 0, 'the schedules made every fault');
});
