/**
 * Framed TCP input: a listener whose connections' whole frames each become one ring item
 * (./listener.ts: Ingest owns the ring and the counters; this serves the sockets).
 */
import type net from 'node:net';
import { createFramedServer, type FramedConnection } from '../framing/framed-server.js';
import { formatHostPort } from '../config/address.js';
import type { ListenerOptions } from '../thread-protocol.js';
import { admits, type Intake, type OpenListener } from './listener.js';

/** Binds a framed TCP listener on `address`; rejects with the server's error (e.g. EADDRINUSE) when it cannot. */
export const openTcpListener: OpenListener = async (listener, address, intake) => {
  const connections = new Set<net.Socket>();
  const server = createFramedServer({
    framing: listener.framing,
    maxMessageBytes: intake.maxMessageBytes,
    accept: (socket) => acceptInput(listener, socket, connections, intake),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: listener.port, host: address.host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => intake.log.log('warn', `tcp-error:${listener.index}`, `${listener.text}: ${error.message}`));
  const bound = server.address() as net.AddressInfo;
  return {
    bound: { text: `tcp@${formatHostPort(bound.address, bound.port)}` },
    port: bound.port,
    close: async () => {
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

/** One framed TCP input: every whole frame becomes one item; garbage closes the connection. */
function acceptInput(listener: ListenerOptions, socket: net.Socket, connections: Set<net.Socket>, intake: Intake): FramedConnection | undefined {
  const { counters } = intake;
  if (!admits(intake, socket.remoteAddress)) return undefined;
  counters.accepted();
  connections.add(socket);
  return {
    messages: (payloads) => {
      for (const payload of payloads) intake.accept(payload);
      intake.publish();
    },
    garbage: (error) => {
      counters.dropped('framing');
      intake.log.log('warn', `framing:${listener.index}`, `${listener.text}: closed input from ${socket.remoteAddress}: ${error.message}`);
    },
    closed: (tornBytes) => {
      connections.delete(socket);
      if (tornBytes > 0) counters.dropped('framing');
    },
  };
}
