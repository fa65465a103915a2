/** Feeding a relay's framed TCP listener (`tcp@…?framing=lf`) lines, each line one message; Graphite-like metric lines and reading them back. */
import { once } from 'node:events';
import net from 'node:net';
import { hostPortOf } from './relay-process.js';

/** Writes `lines` to the listener at `listener` (`tcp@HOST:PORT`), waiting on 'drain', and closes the connection once written. */
export async function sendLines(listener: string, lines: string[]): Promise<void> {
  const { host, port } = hostPortOf(listener);
  const socket = net.connect(port, host);
  await once(socket, 'connect');
  for (let i = 0; i < lines.length; i += 500) {
    if (!socket.write(`${lines.slice(i, i + 500).join('\n')}\n`)) await once(socket, 'drain');
  }
  socket.end();
  await once(socket, 'close');
}

/**
 * Writes `lines` to the listener at `listener` on one connection, `perTick` lines every `tickMs` (a
 * steady stream, not a burst), then closes it. Rejects if the connection fails; `signal` stops it
 * early (the connection destroyed), so a failing test leaves nothing running.
 */
export async function sendPaced(listener: string, lines: string[], perTick: number, tickMs: number, signal?: AbortSignal): Promise<void> {
  const { host, port } = hostPortOf(listener);
  const socket = net.connect(port, host);
  const stop = (): void => {
    socket.destroy();
  };
  signal?.addEventListener('abort', stop);
  // A connection the listener closed (its relay exited) fails the stream, rather than wait for a 'drain' that never comes.
  const closed = once(socket, 'close').then(() => Promise.reject(new Error(`${listener} closed the connection`)));
  closed.catch(() => {});
  try {
    await Promise.race([once(socket, 'connect'), closed]);
    for (let i = 0; i < lines.length && !signal?.aborted; i += perTick) {
      if (socket.destroyed) await closed;
      if (!socket.write(`${lines.slice(i, i + perTick).join('\n')}\n`)) await Promise.race([once(socket, 'drain'), closed]);
      await new Promise((resolve) => setTimeout(resolve, tickMs));
    }
    socket.end();
    await once(socket, 'close');
  } finally {
    signal?.removeEventListener('abort', stop);
    socket.destroy();
  }
}

/** `name value timestamp`: metric line number `i` of `key` (its value is `i`). */
export const metricLine = (key: string, i: number): string => `${key} ${i} 1700000000`;

/** The value field of a received metric line (the message number of metricLine). */
export const metricValue = (m: Buffer): number => Number(m.toString('latin1').split(' ')[1]);
