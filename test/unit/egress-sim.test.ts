/**
 * The egress simulation (test/sim/egress-sim.ts) over many seeds. RELAY_SIM_SEED=N runs just
 * that seed (a failing one prints itself); RELAY_SIM_SEEDS sets how many; `npm run soak` runs
 * far more.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { simulateMany } from '../sim/egress-sim.js';

const only = process.env.RELAY_SIM_SEED;
const seeds = only !== undefined ? [Number(only)] : Array.from({ length: Number(process.env.RELAY_SIM_SEEDS ?? 500) }, (_, i) => i + 1);
const STEPS = Number(process.env.RELAY_SIM_STEPS ?? 250);

test(`egress simulation: ${seeds.length} seeds x ${STEPS} steps, every invariant after every step`, async () => {
  const results = await simulateMany(seeds, { steps: STEPS });
  const messages = results.reduce((n, r) => n + r.messages, 0);
  const runs = results.reduce((n, r) => n + r.runs, 0);
  console.log(`simulated ${seeds.length} seeds: ${messages} messages, ${runs} relay runs (stops and restarts included)`);
  assert.ok(messages > seeds.length, 'the schedules sent messages');
});
