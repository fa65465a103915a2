// Wakes per second of each thread of process PID over SECONDS: the growth of its voluntary context
// switches (a thread that sleeps and is woken counts one), from /proc/PID/task/*/status.
//   node bench/peers/thread-wakes.mjs PID SECONDS [LABEL]
import { readdirSync, readFileSync } from 'node:fs';

const [pid, seconds = '10', label = ''] = process.argv.slice(2);
function sample() {
  const threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      threads.set(tid, { comm, switches: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)[1]) });
    } catch {
      // The thread ended.
    }
  }
  return threads;
}
const before = sample();
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
const after = sample();
const rows = [...after].map(([tid, a]) => ({ tid, comm: a.comm, perSecond: (a.switches - (before.get(tid)?.switches ?? a.switches)) / Number(seconds) }));
console.log(JSON.stringify({ label, seconds: Number(seconds), threads: rows.filter((r) => r.perSecond > 0) }));
