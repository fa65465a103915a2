/**
 * A sender task for `relay bench --input tcp|tls`: `count` messages at `rate` per second as len32le
 * frames on one TCP (or TLS) connection, paced by the clock like the datagram senders; a write the
 * socket cannot take at once waits for 'drain', so a relay that reads slowly slows the sender (TCP
 * loses nothing: what falls behind shows as a lower send rate).
 */
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { pace, since } from './pacing.js';
import { PayloadWriter } from './payload.js';
import type { SenderResult, SenderTask } from './protocol.js';

/** Messages written with one socket write, at most. */
const FRAMES_PER_WRITE = 256;

export async function sendStream(task: SenderTask): Promise<SenderResult> {
  const socket = task.input === 'tls' ? tls.connect({ host: task.host, port: task.port, ca: task.ca }) : net.connect({ host: task.host, port: task.port });
  await once(socket, task.input === 'tls' ? 'secureConnect' : 'connect');
  socket.setNoDelay(true);
  socket.resume(); // the relay sends nothing; reading lets its FIN close the socket
  const writer = new PayloadWriter(task.sender);
  const startNs = process.hrtime.bigint();
  let sent = 0;
  try {
    while (sent < task.count) {
      const elapsedS = since(startNs);
      const due = Math.min(task.count, Math.floor(elapsedS * task.rate) + 1);
      if (sent < due) {
        const n = Math.min(FRAMES_PER_WRITE, due - sent);
        let bytes = 0;
        for (let i = 0; i < n; i++) bytes += 4 + task.sizes[(sent + i) % task.sizes.length]!;
        const chunk = Buffer.allocUnsafe(bytes);
        writer.setTime(process.hrtime.bigint());
        for (let i = 0, at = 0; i < n; i++) {
          const size = task.sizes[(sent + i) % task.sizes.length]!;
          chunk.writeUInt32LE(size, at);
          writer.write(chunk.subarray(at + 4, at + 4 + size), sent + i);
          at += 4 + size;
        }
        sent += n;
        if (!socket.write(chunk)) await once(socket, 'drain');
      }
      await pace(sent, due, task.rate, elapsedS);
    }
    const elapsedS = since(startNs);
    socket.end();
    await once(socket, 'close');
    return { sent, elapsedS, sendWith: task.input === 'tls' ? 'tls' : 'tcp' };
  } finally {
    socket.destroy();
  }
}
