/**
 * CPU time per thread, from /proc (Linux). Each relay thread reports its kernel thread id once at
 * start (currentThreadId); the main thread reads their times when it takes a snapshot. Where
 * /proc is missing (not Linux), both return undefined and threads are left out of the snapshot.
 */
import { readFileSync, readlinkSync } from 'node:fs';

/** Clock ticks per second of /proc's utime/stime (USER_HZ, 100 on every Linux Node supports). */
const CLOCK_TICKS_PER_SECOND = 100;

/** The calling thread's kernel thread id. */
export function currentThreadId(): number | undefined {
  try {
    const match = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of thread `tid` of this process. */
export function threadCpuSeconds(tid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3,
    // utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
