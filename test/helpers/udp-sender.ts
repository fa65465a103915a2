/** UDP senders for end-to-end tests: one that never outruns the receiver (at most `window` messages in flight), and one burst. */
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';

/**
 * Sends payloadAt(0..count-1) to host:port, one datagram each, waiting whenever `window`
 * messages are not yet delivered (as `waitDelivered(n)` reports), so loopback never drops for
 * lack of socket buffer; returns once `waitDelivered(count)` says all of them were. Bounded:
 * every wait has the caller's deadline.
 */
export async function sendWindowed(
  target: { host: string; port: number },
  count: number,
  payloadAt: (i: number) => Buffer,
  waitDelivered: (n: number) => Promise<void>,
  window = 16,
): Promise<void> {
  await sendLeavingWindowInFlight(target, count, payloadAt, waitDelivered, window);
  await waitDelivered(count);
}

/**
 * sendWindowed without its last wait: returns with up to `window` messages perhaps still in
 * flight, for a test that acts on the relay while it holds them (a signal, a reset, a dropped
 * connection). Whatever it asserts on next must be waited for by the test itself.
 */
export async function sendLeavingWindowInFlight(
  target: { host: string; port: number },
  count: number,
  payloadAt: (i: number) => Buffer,
  waitDelivered: (n: number) => Promise<void>,
  window = 16,
): Promise<void> {
  await sendWhile(target, (i) => i < count, payloadAt, waitDelivered, window);
}

/**
 * sendLeavingWindowInFlight for as long as `more(i)` says datagram i is to be sent (asked once per
 * datagram, before the window's wait): traffic that lasts until something else is done. Returns
 * how many it sent.
 */
export async function sendWhile(
  target: { host: string; port: number },
  more: (i: number) => boolean,
  payloadAt: (i: number) => Buffer,
  waitDelivered: (n: number) => Promise<void>,
  window = 16,
): Promise<number> {
  const socket = dgram.createSocket(net.isIPv6(target.host) ? 'udp6' : 'udp4');
  try {
    for (let i = 0; ; i++) {
      if (!more(i)) return i;
      if (i >= window) await waitDelivered(i - window + 1);
      await new Promise<void>((resolve, reject) => socket.send(payloadAt(i), target.port, target.host, (error) => (error ? reject(error) : resolve())));
    }
  } finally {
    socket.close();
  }
}

/**
 * Sends every payload at once, back to back (all handed to the socket before the first send calls
 * back), so the receiver finds them queued together: one burst, not a paced stream. The caller
 * keeps the burst within the receiver's socket buffer (its kernel drops are counted).
 */
export async function sendBurst(target: { host: string; port: number }, payloads: Buffer[]): Promise<void> {
  const socket = dgram.createSocket(net.isIPv6(target.host) ? 'udp6' : 'udp4');
  try {
    await Promise.all(
      payloads.map((p) => new Promise<void>((resolve, reject) => socket.send(p, target.port, target.host, (error) => (error ? reject(error) : resolve())))),
    );
  } finally {
    socket.close();
  }
}

/**
 * Sends `payloads` one after the other from a socket bound to `from` (a loopback address such as
 * 127.0.0.2) to 127.0.0.1:port; resolves with the milliseconds the sending took.
 */
export async function sendFrom(from: string, port: number, payloads: string[]): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, from);
  await once(socket, 'listening');
  const started = performance.now();
  try {
    for (const p of payloads) await new Promise<void>((resolve, reject) => socket.send(p, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  } finally {
    socket.close();
  }
  return performance.now() - started;
}
