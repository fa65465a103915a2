/**
 * Datagrams the kernel dropped on the relay's own UDP sockets before the relay read them: the
 * last column ("drops") of /proc/net/udp and /proc/net/udp6, for the rows whose inode is one of
 * this process's sockets (/proc/self/fd -> socket:[inode]). Linux only; elsewhere: no rows.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';

/** One UDP socket of this process: its local port and the kernel's drop count. */
export interface UdpSocketDrops {
  port: number;
  drops: number;
}

/** This process's UDP sockets and their drop counts. */
export async function ownUdpSocketDrops(): Promise<UdpSocketDrops[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir('/proc/self/fd').catch(() => [] as string[])) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1]!);
  }
  const found: UdpSocketDrops[] = [];
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const row of parseUdpTable(text)) if (inodes.has(row.inode)) found.push({ port: row.port, drops: row.drops });
  }
  return found;
}

/** Rows of a /proc/net/udp{,6} table: local port, inode and drops (header line skipped). */
export function parseUdpTable(text: string): { port: number; inode: string; drops: number }[] {
  const rows: { port: number; inode: string; drops: number }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const columns = line.trim().split(/\s+/);
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
    if (columns.length < 13) continue;
    const port = parseInt(columns[1]!.split(':')[1] ?? '', 16);
    rows.push({ port, inode: columns[9]!, drops: Number(columns[columns.length - 1]) });
  }
  return rows;
}
