/**
 * One verifying TCP (or TLS) sink, in its own worker thread: decodes the framing, checks every payload
 * against the per-sender sequence, and records end-to-end latency in an HDR histogram. With `relp`
 * it is a RELP server instead (createRelpServer, imrelp-compatible): each `syslog` command's data
 * is a payload, checked the same way, and is answered 200 once checked.
 *
 * Per sender, `expected` is the next sequence number: a higher one marks the skipped numbers
 * missing; a lower one is either a missing one arriving late (reordered) or a duplicate. Gaps
 * (never delivered) are what was sent less what arrived once, computed by the caller who knows
 * what was sent. A frame that does not parse, or a payload that is not ours, counts as torn.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type net from 'node:net';
import { once } from 'node:events';
import * as hdr from 'hdr-histogram-js';
import { createFramedServer } from '../framing/framed-server.js';
import { createRelpServer } from '../relp/server.js';
import { readPayload } from './payload.js';
import type { SinkReport, SinkWorkerData, ToSink } from './protocol.js';

const { framing, tls, relp } = workerData as SinkWorkerData;
const port = parentPort!;
/** Latency in microseconds, 1 µs to 10 minutes, 3 significant digits. */
const latencyUs = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
const senders = new Map<number, { expected: number; missing: Set<number> }>();
let delivered = 0;
let duplicates = 0;
let reordered = 0;
let torn = 0;
let connections = 0;
const sockets = new Set<net.Socket>();

function accept(payload: Buffer, nowNs: number): void {
  const fields = readPayload(payload);
  if (!fields) {
    torn++;
    return;
  }
  delivered++;
  latencyUs.recordValue(Math.max(1, Math.round((nowNs - fields.sendTimeNs) / 1000)));
  let state = senders.get(fields.sender);
  if (!state) {
    state = { expected: 0, missing: new Set() };
    senders.set(fields.sender, state);
  }
  if (fields.seq === state.expected) state.expected++;
  else if (fields.seq > state.expected) {
    for (let s = state.expected; s < fields.seq; s++) state.missing.add(s);
    state.expected = fields.seq + 1;
  } else if (state.missing.delete(fields.seq)) reordered++;
  else duplicates++;
}

const server = relp ? relpServer() : framedServer();
server.listen(0, '127.0.0.1');
await once(server, 'listening');

function framedServer(): net.Server {
  return createFramedServer({
    framing,
    maxMessageBytes: 16 * 1024 * 1024,
    accept: (socket) => {
      connections++;
      sockets.add(socket);
      return {
        messages: (payloads) => {
          const nowNs = Number(process.hrtime.bigint());
          for (const payload of payloads) accept(payload, nowNs);
        },
        garbage: () => void torn++,
        closed: (tornBytes) => {
          if (tornBytes > 0) torn++;
          sockets.delete(socket);
        },
      };
    },
    tls,
  });
}

/** RELP: every `syslog` command is a message; a session the server closes for a protocol error counts as torn. */
function relpServer(): net.Server {
  // The time a chunk arrived, for all its commands (as the framed sink stamps a chunk's frames):
  // set by a 'data' listener put ahead of the RELP server's own.
  let chunkNs = 0;
  const server = createRelpServer({
    maxDataBytes: 16 * 1024 * 1024,
    onMessage: (payload) => accept(payload, chunkNs),
    onProtocolError: () => void torn++,
  });
  server.on('connection', (socket: net.Socket) => {
    connections++;
    sockets.add(socket);
    socket.prependListener('data', () => {
      chunkNs = Number(process.hrtime.bigint());
    });
    socket.once('close', () => sockets.delete(socket));
  });
  return server;
}

function report(): SinkReport {
  return {
    type: 'report',
    delivered,
    duplicates,
    reordered,
    torn,
    connections,
    latencyHistogram: hdr.encodeIntoCompressedBase64(latencyUs),
  };
}

port.on('message', (message: ToSink) => {
  if (message.type === 'report') port.postMessage(report());
  if (message.type === 'close') {
    for (const s of sockets) s.destroy();
    server.close(() => port.close());
  }
});
port.postMessage({ type: 'listening', port: (server.address() as net.AddressInfo).port });
