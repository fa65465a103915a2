/**
 * `npm run soak`: the egress, reload, group and relp simulations over many more seeds than `npm test` runs, for
 * a bounded time, in alternating batches of 100 seeds. RELAY_SOAK_SEEDS (default 20000, each
 * simulation), RELAY_SOAK_SECONDS (default 600), RELAY_SOAK_FIRST (first seed, default 1000001,
 * past the seeds npm test runs). Stops at the first failing seed and prints it; exits non-zero then.
 */
import { simulate, simulateMany, type SimOptions, type SimResult } from './egress-sim.js';
import { simulateGroup } from './group-sim.js';
import { simulateReload } from './reload-sim.js';
import { simulateRelp } from './relp-sim.js';

const count = Number(process.env.RELAY_SOAK_SEEDS ?? 20_000);
const seconds = Number(process.env.RELAY_SOAK_SECONDS ?? 600);
const first = Number(process.env.RELAY_SOAK_FIRST ?? 1_000_001);
const steps = Number(process.env.RELAY_SIM_STEPS ?? 400);
const started = Date.now();
const simulations: { name: string; one: (seed: number, options: SimOptions) => Promise<SimResult>; seeds: number; messages: number; reloads: number }[] = [
  { name: 'egress', one: simulate, seeds: 0, messages: 0, reloads: 0 },
  { name: 'reload', one: simulateReload, seeds: 0, messages: 0, reloads: 0 },
  { name: 'group', one: simulateGroup, seeds: 0, messages: 0, reloads: 0 },
  { name: 'relp', one: simulateRelp, seeds: 0, messages: 0, reloads: 0 },
];
try {
  for (let seed = first; seed < first + count && Date.now() - started < seconds * 1000; seed += 100) {
    const batch = Array.from({ length: Math.min(100, first + count - seed) }, (_, i) => seed + i);
    for (const s of simulations) {
      for (const r of await simulateMany(batch, { steps }, 8, s.one)) {
        s.messages += r.messages;
        s.reloads += r.reloads ?? 0;
      }
      s.seeds += batch.length;
    }
  }
  const took = ((Date.now() - started) / 1000).toFixed(0);
  for (const s of simulations) {
    const reloads = s.name === 'reload' ? `, ${s.reloads} reloads` : '';
    console.log(`soak ${s.name}: ${s.seeds} seeds (${first}..${first + s.seeds - 1}) x ${steps} steps, ${s.messages} messages${reloads}`);
  }
  console.log(`soak: ${took} s: every invariant held`);
} catch (error) {
  console.error(`soak: failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
