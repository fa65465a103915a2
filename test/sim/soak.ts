/**
 * `npm run soak`: the egress simulation over many more seeds than `npm test` runs, for a bounded
 * time. RELAY_SOAK_SEEDS (default 20000), RELAY_SOAK_SECONDS (default 600), RELAY_SOAK_FIRST
 * (first seed, default 1000001, past the seeds npm test runs). Stops at the first failing seed
 * and prints it; exits non-zero then.
 */
import { simulateMany } from './egress-sim.js';

const count = Number(process.env.RELAY_SOAK_SEEDS ?? 20_000);
const seconds = Number(process.env.RELAY_SOAK_SECONDS ?? 600);
const first = Number(process.env.RELAY_SOAK_FIRST ?? 1_000_001);
const steps = Number(process.env.RELAY_SIM_STEPS ?? 400);
const started = Date.now();
let done = 0;
let messages = 0;
try {
  for (let seed = first; seed < first + count && Date.now() - started < seconds * 1000; seed += 100) {
    const batch = Array.from({ length: Math.min(100, first + count - seed) }, (_, i) => seed + i);
    for (const r of await simulateMany(batch, { steps })) messages += r.messages;
    done += batch.length;
  }
  console.log(
    `soak: ${done} seeds (${first}..${first + done - 1}) x ${steps} steps, ${messages} messages, ${((Date.now() - started) / 1000).toFixed(0)} s: every invariant held`,
  );
} catch (error) {
  console.error(`soak: failed after ${done} seeds: ${(error as Error).message}`);
  process.exitCode = 1;
}
