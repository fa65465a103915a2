/**
 * The reload simulation (test/sim/reload-sim.ts) over many seeds. RELAY_RELOAD_SIM_SEED=N runs
 * just that seed (a failing one prints itself); RELAY_RELOAD_SIM_SEEDS sets how many; `npm run
 * soak` runs far more.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { simulateMany } from '../sim/egress-sim.js';
import { simulateReload } from '../sim/reload-sim.js';

const only = process.env.RELAY_RELOAD_SIM_SEED;
const seeds = only !== undefined ? [Number(only)] : Array.from({ length: Number(process.env.RELAY_RELOAD_SIM_SEEDS ?? 300) }, (_, i) => i + 1);
const STEPS = Number(process.env.RELAY_SIM_STEPS ?? 250);

test(`reload simulation: ${seeds.length} seeds x ${STEPS} steps, every invariant after every step`, async () => {
  const results = await simulateMany(seeds, { steps: STEPS }, 8, simulateReload);
  const messages = results.reduce((n, r) => n + r.messages, 0);
  const reloads = results.reduce((n, r) => n + (r.reloads ?? 0), 0);
  const runs = results.reduce((n, r) => n + r.runs, 0);
  console.log(`simulated ${seeds.length} seeds: ${messages} messages, ${reloads} reloads, ${runs} relay runs`);
  assert.ok(reloads > seeds.length, 'the schedules reloaded');
});
