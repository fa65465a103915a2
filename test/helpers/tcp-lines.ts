/** Feeding a relay's framed TCP listener (`tcp@…?framing=lf`) lines: each line one message. */
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
