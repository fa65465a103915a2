/**
 * A UDP listener on node:dgram: one Buffer and one JS call per datagram (~3-4 µs each), the
 * portable path when the native addon is not built (docs/ARCHITECTURE.md, "Ingest").
 */
import dgram from 'node:dgram';
import { formatHostPort } from '../config/address.js';
import { adoptedFd } from '../service/activated-socket.js';
import { bucketOfAddress, checkRecvBuffer, type OpenListener } from './listener.js';

/**
 * Binds a node:dgram socket on `address`, or adopts (bind({ fd })) a duplicate of the socket systemd
 * passed; rejects with its bind error. Each admitted datagram is one message, or one per line with ?split=lf.
 */
export const openDgramUdpListener: OpenListener = async (options, address, intake) => {
  // The main thread refused --reuse-port with --ingest dgram (./reuse-port.ts): Node 20's dgram cannot set it.
  if (intake.reusePort) throw new Error('node:dgram cannot bind with SO_REUSEPORT on Node 20');
  const socket = dgram.createSocket({ type: address.family === 6 ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    const bound = (): void => {
      socket.removeAllListeners('error');
      resolve();
    };
    if (address.fd === undefined) socket.bind(options.port, address.host, bound);
    else socket.bind({ fd: adoptedFd(address.fd) }, bound);
  });
  try {
    // A passed socket may hold more than this process may ask for (ReceiveBuffer=): never lowered.
    if (address.fd === undefined || socket.getRecvBufferSize() / 2 < intake.recvBufferBytes) socket.setRecvBufferSize(intake.recvBufferBytes);
  } catch {
    // Refused outright: keep the kernel default, reported below.
  }
  const granted = socket.getRecvBufferSize();
  checkRecvBuffer(options, intake, granted);
  socket.on('error', (error) => intake.log.log('warn', `udp-error:${options.index}`, `${options.text}: ${error.message}`));
  socket.on('message', (payload, sender) => {
    const why = intake.allowList().refusal(sender.address);
    if (why !== undefined) {
      intake.refuseDatagram(sender.address, why, payload, 0, payload.length);
      return;
    }
    intake.acceptDatagram(payload, 0, payload.length, bucketOfAddress(intake.rateLimiter(), sender.address));
    intake.publishSoon();
  });
  const bound = socket.address();
  return {
    bound: { text: `udp@${formatHostPort(bound.address, bound.port)}`, recvBufferBytes: granted },
    port: bound.port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
};
