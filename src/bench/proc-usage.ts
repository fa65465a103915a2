/**
 * CPU seconds and peak RSS of a process and all its descendants, from /proc (Linux), so a
 * `--relay-cmd` that runs through a shell or forks workers is measured whole.
 */
import { readFile, readdir } from 'node:fs/promises';
import { parseUdpTable } from '../metrics/kernel-drops.js';
import { parseStatLine } from '../metrics/proc-stat.js';

interface ProcStat {
  pid: number;
  ppid: number;
  cpuSeconds: number;
}

async function readStat(pid: number): Promise<ProcStat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  const stat = text && parseStatLine(text);
  return stat ? { pid, ...stat } : undefined;
}

/** `root` and every live descendant. */
export async function processTree(root: number): Promise<number[]> {
  const stats = (await Promise.all((await readdir('/proc')).filter((n) => /^\d+$/.test(n)).map((n) => readStat(Number(n))))).filter(
    (s): s is ProcStat => s !== undefined,
  );
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const s of stats) if (s.ppid === tree[i]) tree.push(s.pid);
  return tree;
}

/** CPU seconds (user + system) used so far by `pids` together. */
export async function cpuSeconds(pids: number[]): Promise<number> {
  const stats = await Promise.all(pids.map(readStat));
  return stats.reduce((sum, s) => sum + (s?.cpuSeconds ?? 0), 0);
}

/** Sum of the peak resident set (VmHWM) of `pids`, in bytes. */
export async function peakRssBytes(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    if (match) total += Number(match[1]) * 1024;
  }
  return total;
}

/** True once some socket is bound to UDP `port` (the relay under test is ready to receive). */
export async function udpPortBound(port: number): Promise<boolean> {
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    if (parseUdpTable(text).some((row) => row.port === port)) return true;
  }
  return false;
}

/** Datagrams the kernel dropped on every UDP socket bound to `port` (only the relay binds the bench's port). */
export async function kernelDropsOnPort(port: number): Promise<number> {
  let drops = 0;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const row of parseUdpTable(text)) if (row.port === port) drops += row.drops;
  }
  return drops;
}
