/** The one reader of /proc/<pid>/stat and /proc/<pid>/task/<tid>/stat lines (Linux). */

/** Clock ticks per second of /proc's utime/stime (USER_HZ, 100 on every Linux Node supports). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** The parent pid and the user + system CPU seconds in a stat line; undefined if it is not one. */
export function parseStatLine(text: string): { ppid: number; cpuSeconds: number } | undefined {
  // Fields after "pid (comm) " — comm may hold spaces and parentheses: state is field 3, ppid
  // field 4, utime and stime fields 14 and 15.
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const fields = text.slice(close + 2).split(' ');
  const ppid = Number(fields[1]);
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ppid) && Number.isFinite(ticks) ? { ppid, cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND } : undefined;
}
