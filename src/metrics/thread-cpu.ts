/**
 * CPU time per thread, from /proc (Linux). Each relay thread reports its kernel thread id once at
 * start (currentThreadId); the main thread reads their times when it takes a snapshot. Where
 * /proc is missing (not Linux), both return undefined and threads are left out of the snapshot.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { parseStatLine } from './proc-stat.js';

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
    return parseStatLine(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'))?.cpuSeconds;
  } catch {
    return undefined;
  }
}
