/**
 * Framed TCP input: a listener whose connections' whole frames each become one ring item. Ingest
 * owns the ring and the counters; this module only serves the sockets and hands messages over.
 */
import type net from 'node:net';
import { createFramedServer, type FramedConnection } from '../framing/framed-server.js';
import { formatHostPort } from '../config/address.js';
import type { ListenerCounters } from '../metrics/counters.js';
import type { RateLimitedLog } from '../logging.js';
import type { BoundListener, ListenerOptions } from '../thread-protocol.js';

/** What a TCP listener hands its input to: the ingest side of its slot. */
export interface TcpIntake {
  maxMessageBytes: number;
  counters: ListenerCounters;
  log: RateLimitedLog;
  /** Whether a peer at `address` may send (a refused one is counted and logged by the callee). */
  admits(address: string | undefined): boolean;
  /** Appends one message (visible after publish()). */
  accept(payload: Buffer): void;
  publish(): void;
}

/** A bound TCP listener: what it reports, its port, and how to close it with its input connections. */
export interface TcpListener {
  bound: BoundListener;
  port: number;
  close(): Promise<void>;
}

/** Binds a framed TCP listener on `address`; rejects with the server's error (e.g. EADDRINUSE) when it cannot. */
export async function listenTcp(listener: ListenerOptions, address: { host: string }, intake: TcpIntake): Promise<TcpListener> {
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
}

/** One framed TCP input: every whole frame becomes one item; garbage closes the connection. */
function acceptInput(listener: ListenerOptions, socket: net.Socket, connections: Set<net.Socket>, intake: TcpIntake): FramedConnection | undefined {
  const { counters } = intake;
  if (!intake.admits(socket.remoteAddress)) return undefined;
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
