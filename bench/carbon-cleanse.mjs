#!/usr/bin/env node
/**
 * Microbenchmark of carbon-c-relay's cleansing (src/route/carbon-cleanse.ts; not part of npm test,
 * a few seconds):
 *
 *   npm run build && node bench/carbon-cleanse.mjs [rounds=10]
 *
 * ns per line, the best of `rounds` rounds of 2,000,000 calls, for a clean 60-byte line (which
 * cleansing leaves as it is), a dirty one of the same length, metricNameEnd on the clean one, and
 * two floors: a JavaScript loop that only reads each byte's class, and Buffer.indexOf of a byte
 * that is not there (what a line split costs per line). On a shared machine take the floors as the
 * yardstick, not the absolute numbers.
 */
const { CARBON_CLEANSE, cleanseLine, cleanseRange, metricNameEnd } = await import(new URL('../dist/route/carbon-cleanse.js', import.meta.url).href);

const CALLS = 2_000_000;
const rounds = Number(process.argv[2] ?? 10);
const clean = Buffer.from('carbon.agents.host-01.cpu.total.user-time.p9 12.5 1700000000', 'latin1');
const dirtyText = '..carbon..agents.host/01.cpu  total.user-ti\t12.5  1700000000';
const dirty = Buffer.from(dirtyText, 'latin1');
const classes = CARBON_CLEANSE.classes;

function readOnly(bytes) {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) sum += classes[bytes[i]];
  return sum;
}

const cases = {
  'cleanseLine, clean line': () => cleanseLine(clean).length,
  'cleanseRange, clean line': () => cleanseRange(clean, 0, clean.length),
  // the line is cleansed in place: restore it first (the copy is measured on its own below)
  'cleanseLine, dirty line (+ restore)': () => {
    dirty.latin1Write(dirtyText, 0);
    return cleanseLine(dirty)?.length ?? 0;
  },
  'restore only': () => dirty.latin1Write(dirtyText, 0),
  'metricNameEnd, clean line': () => metricNameEnd(clean),
  'floor: read each byte class': () => readOnly(clean),
  'floor: Buffer.indexOf (absent byte)': () => clean.indexOf(0x0a),
};

console.log(`clean line: ${clean.length} bytes (${JSON.stringify(clean.toString('latin1'))}); dirty: ${dirty.length} bytes`);
const best = Object.fromEntries(Object.keys(cases).map((name) => [name, Number.POSITIVE_INFINITY]));
let sink = 0;
for (let round = 0; round < rounds; round++) {
  for (const [name, f] of Object.entries(cases)) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) sink += f();
    best[name] = Math.min(best[name], Number(process.hrtime.bigint() - start) / CALLS);
  }
}
for (const [name, ns] of Object.entries(best)) console.log(`${name.padEnd(40)} ${ns.toFixed(1)} ns/line`);
if (sink === 0.5) console.log(sink); // keeps the loops' results alive
