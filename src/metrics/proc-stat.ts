/** The one reader of /proc/<pid>/stat and /proc/<pid>/task/<tid>/stat lines (Linux). */

/** Clock ticks per second of /proc's utime/stime (USER_HZ, 100 on every Linux Node supports). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** One stat line's fields that the relay reads. */
export interface StatLine {
  /** Field 3: R, S, D, Z (zombie), X (dead)… */
  state: string;
  ppid: number;
  /** User + system CPU seconds (fields 14 and 15). */
  cpuSeconds: number;
  /** When the process started, in clock ticks since boot (field 22): with the pid, names one process in one boot. */
  startTicks: number;
}

/** The state, parent pid, CPU seconds and start time in a stat line; undefined if it is not one. */
export function parseStatLine(text: string): StatLine | undefined {
  // Fields after "pid (comm) " — comm may hold spaces and parentheses: state is field 3, ppid
  // field 4, utime and stime fields 14 and 15, starttime field 22.
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0] ?? '';
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  const startTicks = Number(fields[19]);
  if (state === '' || !Number.isFinite(ppid) || !Number.isFinite(ticks) || !Number.isFinite(startTicks)) return undefined;
  return { state, ppid, cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND, startTicks };
}
