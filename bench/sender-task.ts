/**
 * A piscina task: sends `count` datagrams at `rate` per second, paced by the clock. Behind
 * schedule it sends the backlog in bursts of at most 64 before letting the event loop run; the
 * caller compares the rate reached with the rate offered.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { writePayload } from './payload.js';
import type { SenderResult, SenderTask } from './protocol.js';

/** At most this many sends waiting for their callback (bounds the sender's memory). */
const MAX_IN_FLIGHT = 1024;

export default async function send(task: SenderTask): Promise<SenderResult> {
  const socket = dgram.createSocket(task.host.includes(':') ? 'udp6' : 'udp4');
  socket.connect(task.port, task.host);
  await once(socket, 'connect');
  // A connected UDP socket reports ICMP errors (port unreachable when the relay is gone): the
  // datagram is lost, which the sinks count; the sender carries on.
  socket.on('error', () => {});
  const startNs = process.hrtime.bigint();
  let sent = 0;
  let inFlight = 0;
  const onSent = (): void => void inFlight--;
  while (sent < task.count) {
    const elapsedS = Number(process.hrtime.bigint() - startNs) / 1e9;
    const due = Math.min(task.count, Math.floor(elapsedS * task.rate) + 1);
    for (let burst = 0; sent < due && burst < 64 && inFlight < MAX_IN_FLIGHT; burst++, sent++) {
      const payload = writePayload(Buffer.allocUnsafe(task.sizes[sent % task.sizes.length]!), task.sender, sent, process.hrtime.bigint());
      inFlight++;
      socket.send(payload, onSent);
    }
    if (sent < due) await new Promise((resolve) => setImmediate(resolve));
    else await new Promise((resolve) => setTimeout(resolve, Math.max(0, ((sent / task.rate) - elapsedS) * 1000 - 1)));
  }
  while (inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
  const elapsedS = Number(process.hrtime.bigint() - startNs) / 1e9;
  socket.close();
  return { sent, elapsedS };
}
