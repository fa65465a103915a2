/** Numbered test messages: the sequence number, padded with dots, so order, gaps and duplicates are checked exactly (lf-safe ASCII). */
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';

/** Message i: its sequence number, padded to `bytes`. */
export function numbered(i: number, bytes = 1024): Buffer {
  return Buffer.from(String(i).padStart(bytes, '.'));
}

/** The sequence number of a numbered message. */
export function numberOf(message: Buffer): number {
  return Number(message.toString().replace(/^\.+/, ''));
}

/** The sequence numbers of `messages`, in order. */
export function sequence(sink: { messages: Buffer[] }): number[] {
  return sink.messages.map(numberOf);
}

/** A TCP port nobody listens on now (a destination that comes up later). */
export async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A UDP port of 127.0.0.1 nobody is bound to now (a listener the test binds later, or a fixed one a reload keeps). */
export async function freeUdpPort(): Promise<number> {
  const probe = dgram.createSocket('udp4');
  probe.bind(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
