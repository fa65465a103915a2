// Wakes per second of each of a relay's threads over SECONDS: the growth of each thread's voluntary
// context switches (a thread that sleeps and is woken counts one), from /proc/PID/task/TID/status,
// named by the relay's /stats (its threads' kernel ids). Threads it does not name (V8's and libuv's
// helpers) are summed as "other".
//   node bench/peers/thread-wakes.mjs PID METRICS_HOST:PORT SECONDS [LABEL]
import { readdirSync, readFileSync } from 'node:fs';

const [pid, metrics, seconds = '10', label = ''] = process.argv.slice(2);
const stats = await (await fetch(`http://${metrics}/stats`)).json();
const names = new Map(stats.threads.map((t) => [String(t.tid), t.name]));
function sample() {
  const switches = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      switches.set(tid, Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)[1]));
    } catch {
      // The thread ended.
    }
  }
  return switches;
}
const before = sample();
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
const after = sample();
const perSecond = {};
for (const [tid, count] of after) {
  const name = names.get(tid) ?? 'other';
  perSecond[name] = (perSecond[name] ?? 0) + (count - (before.get(tid) ?? count)) / Number(seconds);
}
console.log(JSON.stringify({ label, seconds: Number(seconds), wakesPerSecond: perSecond }));
