/** What `relay sink` does once its options are parsed (./sink.ts defines them); imported only when a sink runs. */
import type net from 'node:net';
import { once } from 'node:events';
import type { Endpoint } from '../config/address.js';
import { formatHostPort } from '../config/address.js';
import { resolveHost } from '../config/resolve.js';
import { loadTlsClient } from '../config/tls-files.js';
import { describeError } from '../egress/socket-error.js';
import { createFramedServer, type FramedServerTls } from '../framing/framed-server.js';
import type { FramingName } from '../framing/index.js';
import { RelayError } from '../errors.js';
import { createRelpServer } from '../relp/server.js';

export interface SinkOptions {
  framing: FramingName;
  count: boolean;
  maxMessage: number;
  frameTimeout: number;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
}

/** The TLS server settings of a tls@ sink (files read and checked), undefined for tcp@; throws RelayError on a misfit. */
function sinkTls(listen: Endpoint, options: SinkOptions): FramedServerTls | undefined {
  const given = [options.tlsCert, options.tlsKey, options.tlsCa].some((f) => f !== undefined);
  if (listen.scheme !== 'tls') {
    if (given) throw new RelayError('ERR_BAD_OPTION', `--tls-cert, --tls-key and --tls-ca apply to a tls@ sink, not ${listen.text}`);
    return undefined;
  }
  if (options.tlsCert === undefined || options.tlsKey === undefined) {
    throw new RelayError('ERR_BAD_OPTION', `${listen.text}: a tls@ sink needs --tls-cert and --tls-key (its certificate and key)`);
  }
  // The relay's loader: the files are read, parse, and the key fits the certificate.
  const { cert, key, ca } = loadTlsClient({ certFile: options.tlsCert, keyFile: options.tlsKey, caFile: options.tlsCa, servername: undefined }, '');
  return { cert: cert!, key: key!, ca, requestCert: ca !== undefined };
}

export async function sink(listen: Endpoint, options: SinkOptions): Promise<void> {
  const framing = listen.framing ?? options.framing;
  const tls = sinkTls(listen, options);
  let messages = 0;
  let bytes = 0;
  const receive = (payload: Buffer): void => {
    messages++;
    bytes += payload.length;
    if (!options.count) process.stdout.write(Buffer.concat([payload, NEWLINE]));
  };
  const server =
    listen.scheme === 'relp'
      ? createRelpServer({
          maxDataBytes: options.maxMessage,
          frameTimeoutMs: options.frameTimeout,
          onMessage: receive,
          onProtocolError: (error, peer) => void process.stderr.write(`relay sink: closing ${peer}: ${error.message}\n`),
        })
      : createFramedServer({
          framing,
          maxMessageBytes: options.maxMessage,
          accept: (socket) => ({
            messages: (payloads) => {
              for (const payload of payloads) receive(payload);
            },
            garbage: (error) => void process.stderr.write(`relay sink: closing ${socket.remoteAddress}: ${error.message}\n`),
          }),
          tls,
        });
  server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: net.Socket) => {
    const peer = socket.remoteAddress === undefined ? '' : ` with ${formatHostPort(socket.remoteAddress, socket.remotePort ?? 0)}`;
    process.stderr.write(`relay sink: TLS handshake${peer} failed: ${describeError(error)}\n`);
  });
  const address = await resolveHost(listen.host, `cannot listen on ${listen.text}`);
  server.listen({ host: address.host, port: listen.port });
  try {
    // once() rejects with the server's 'error' (EADDRINUSE, EACCES…) if that comes first.
    await once(server, 'listening');
  } catch (error) {
    throw new RelayError('ERR_BIND', `cannot listen on ${listen.text}: ${(error as Error).message}`, { cause: error });
  }
  const bound = server.address() as net.AddressInfo;
  const clients = tls?.requestCert ? ', client certificates required' : '';
  const how = listen.scheme === 'relp' ? 'RELP' : `framing ${framing}${clients}`;
  process.stderr.write(`relay sink: listening on ${listen.scheme}@${formatHostPort(bound.address, bound.port)} (${how})\n`);
  const report = (): void => void process.stdout.write(`${messages} messages, ${bytes} bytes\n`);
  if (options.count) {
    let last = -1;
    setInterval(() => {
      if (messages !== last) report();
      last = messages;
    }, 1000).unref();
  }
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const stop = (): void => {
    // Take nothing more, then exit once stdout has flushed what was printed: process.exit() drops
    // what a pipe has not taken yet, and a relp@ sink has answered 200 for every message printed.
    server.close();
    for (const socket of sockets) socket.destroy();
    if (options.count) report();
    process.stdout.write('', () => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

const NEWLINE = Buffer.from('\n');
