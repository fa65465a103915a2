/**
 * A piscina task: sends `count` datagrams at `rate` per second, paced by the clock, and says how
 * long it took; the caller compares the rate reached with the rate offered.
 *
 * With the native addon built, datagrams go out in batches of up to 64 per sendmmsg call from a
 * connected socket of this thread's own (one JS call and one syscall per batch); otherwise through
 * node:dgram, one send per datagram, which tops out near 100k/s per thread on a small machine.
 * Behind schedule, either sends the backlog in bursts before letting the event loop run.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { loadNativeUdp, type NativeUdp } from '../native/addon.js';
import { NativeUdpSender } from './native-sender.js';
import { PayloadWriter } from './payload.js';
import { sendStream } from './stream-sender.js';
import { pace, since } from './pacing.js';
import type { SenderResult, SenderTask } from './protocol.js';

/** At most this many dgram sends waiting for their callback (bounds the sender's memory). */
const MAX_IN_FLIGHT = 1024;
/** Datagrams per sendmmsg call. */
const BATCH = 64;
/** Batches sent back to back before the event loop gets a turn. */
const BATCHES_PER_TURN = 16;

export default async function send(task: SenderTask): Promise<SenderResult> {
  if (task.input !== 'udp') return sendStream(task);
  const native = task.sendWith === 'dgram' ? undefined : loadNativeUdp();
  return native ? sendNative(task, native) : sendDgram(task);
}

async function sendNative(task: SenderTask, native: NativeUdp): Promise<SenderResult> {
  const sender = NativeUdpSender.open(native, task.host.includes(':') ? 6 : 4, task.host, task.port);
  const buffer = Buffer.allocUnsafe(BATCH * Math.max(...task.sizes));
  const lengths = new Int32Array(BATCH);
  const writer = new PayloadWriter(task.sender);
  const startNs = process.hrtime.bigint();
  let sent = 0;
  try {
    while (sent < task.count) {
      const elapsedS = since(startNs);
      const due = Math.min(task.count, Math.floor(elapsedS * task.rate) + 1);
      for (let batches = 0; sent < due && batches < BATCHES_PER_TURN; batches++) {
        const n = Math.min(BATCH, due - sent);
        writer.setTime(process.hrtime.bigint());
        let offset = 0;
        for (let i = 0; i < n; i++) {
          const size = task.sizes[(sent + i) % task.sizes.length]!;
          writer.write(buffer.subarray(offset, offset + size), sent + i);
          lengths[i] = size;
          offset += size;
        }
        const accepted = sender.sendBatch(buffer, lengths, n);
        sent += accepted;
        // The socket buffer is full: the rest goes again (same sequence numbers) after a turn.
        if (accepted < n) break;
      }
      await pace(sent, due, task.rate, elapsedS);
    }
    return { sent, elapsedS: since(startNs), sendWith: 'sendmmsg' };
  } finally {
    sender.close();
  }
}

async function sendDgram(task: SenderTask): Promise<SenderResult> {
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
  const writer = new PayloadWriter(task.sender);
  while (sent < task.count) {
    const elapsedS = since(startNs);
    const due = Math.min(task.count, Math.floor(elapsedS * task.rate) + 1);
    for (let burst = 0; sent < due && burst < 64 && inFlight < MAX_IN_FLIGHT; burst++, sent++) {
      writer.setTime(process.hrtime.bigint());
      const payload = writer.write(Buffer.allocUnsafe(task.sizes[sent % task.sizes.length]!), sent);
      inFlight++;
      socket.send(payload, onSent);
    }
    await pace(sent, due, task.rate, elapsedS);
  }
  while (inFlight > 0) await new Promise((resolve) => setImmediate(resolve));
  const elapsedS = since(startNs);
  socket.close();
  return { sent, elapsedS, sendWith: 'dgram' };
}
