/**
 * A RELP server that answers as rsyslog 8.2302's imrelp (librelp 1.11) does — what `relay sink
 * relp@` and the tests receive with. Per connection:
 *
 * - TXNRs count up by one from the `open` (1), wrapping from 999999999 to 1; a gap, an unknown
 *   command or a malformed frame gets `0 serverclose 0` and the connection is closed;
 * - `open` must offer `commands=syslog`, else `rsp 500 required command not supported by client`
 *   and serverclose; the answer is `200 OK` and our offers; a second `open` is a 500 and serverclose;
 * - `syslog` before `open` is answered `500 command disabled` (the connection stays, as imrelp's);
 * - each `syslog` is handed to onMessage, then answered `200 OK` (so a 200 means onMessage ran);
 * - `close` is answered `TXNR rsp 0` (empty data), then `0 serverclose 0`, and the connection ends.
 */
import net from 'node:net';
import tls from 'node:tls';
import { formatHostPort } from '../config/address.js';
import type { RelayError } from '../errors.js';
import type { FramedServerTls } from '../framing/framed-server.js';
import { encodeFrame, FrameParser, formatOffers, MAX_TXNR, parseOffers } from './frame.js';

export interface RelpServerOptions {
  /** Largest DATALEN a peer may announce (imrelp's maxDataSize); a frame announcing more closes the connection. */
  maxDataBytes: number;
  /** One `syslog` command's payload (a view of the received bytes, which nothing reuses), from `peer` (its `HOST:PORT`); the 200 is sent after this returns. */
  onMessage(payload: Buffer, peer: string): void;
  /** Why a connection was closed by the server (a protocol error); absent: closed silently. */
  onProtocolError?(error: RelayError | Error, peer: string): void;
  /** Serve RELP over TLS. */
  tls?: FramedServerTls;
}

/** What we offer in answer to `open`. */
export const SERVER_OFFERS: ReadonlyMap<string, string> = new Map([
  ['relp_version', '0'],
  ['relp_software', 'relay'],
  ['commands', 'syslog'],
]);

const OK = Buffer.from('200 OK');
const SERVERCLOSE = encodeFrame(0, 'serverclose');
/** How long a peer that got serverclose may keep the connection before it is destroyed. */
const CLOSE_GRACE_MS = 5000;

/** A server (not yet listening) speaking imrelp-compatible RELP: a net.Server, or with `options.tls` a tls.Server. */
export function createRelpServer(options: RelpServerOptions): net.Server {
  const serve = (socket: net.Socket): void => serveConnection(socket, options);
  if (!options.tls) return net.createServer(serve);
  const t = options.tls;
  return tls.createServer({ cert: t.cert, key: t.key, ca: t.ca, requestCert: t.requestCert === true, rejectUnauthorized: t.requestCert === true }, serve);
}

function serveConnection(socket: net.Socket, options: RelpServerOptions): void {
  const peer = formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
  const parser = new FrameParser(options.maxDataBytes);
  let expected = 1;
  let open = false;
  let done = false;
  // The answers to one chunk's frames, written together (a client with a window sends many per chunk).
  let answers: Buffer[] = [];
  const flush = (): void => {
    if (answers.length > 0) socket.write(answers.length === 1 ? answers[0]! : Buffer.concat(answers));
    answers = [];
  };
  const serverClose = (reason?: Error): void => {
    done = true;
    if (reason) options.onProtocolError?.(reason, peer);
    flush();
    // Half-close, as imrelp: the peer reads the serverclose and closes; one that does not is cut after a grace period.
    socket.end(SERVERCLOSE);
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    socket.once('close', () => clearTimeout(timer));
  };
  const answer = (txnr: number, data: Uint8Array | string): void => {
    answers.push(encodeFrame(txnr, 'rsp', typeof data === 'string' ? Buffer.from(data) : data));
  };
  socket.on('error', () => {}); // a reset peer: 'close' follows, nothing to report
  socket.on('data', (chunk: Buffer) => {
    if (done) return;
    parser.push(chunk);
    for (;;) {
      let frame: ReturnType<FrameParser['next']>;
      try {
        frame = parser.next();
      } catch (error) {
        serverClose(error as Error);
        return;
      }
      if (frame === undefined) {
        flush();
        return;
      }
      if (frame.txnr !== expected) {
        serverClose(new Error(`RELP: TXNR ${frame.txnr}, expected ${expected}`));
        return;
      }
      expected = frame.txnr === MAX_TXNR ? 1 : frame.txnr + 1;
      switch (frame.command) {
        case 'syslog':
          if (!open) {
            answer(frame.txnr, '500 command disabled');
            break;
          }
          options.onMessage(frame.data, peer);
          answer(frame.txnr, OK);
          break;
        case 'open': {
          if (open) {
            answer(frame.txnr, '500 protocol error: connection already open');
            serverClose(new Error('RELP: a second open on one connection'));
            return;
          }
          const commands = parseOffers(frame.data.toString('utf8')).get('commands') ?? '';
          if (!commands.split(',').includes('syslog')) {
            answer(frame.txnr, '500 required command not supported by client');
            serverClose(new Error('RELP: open without commands=syslog'));
            return;
          }
          open = true;
          answer(frame.txnr, `200 OK\n${formatOffers(SERVER_OFFERS)}`);
          break;
        }
        case 'close':
          answer(frame.txnr, '');
          serverClose();
          return;
        default:
          serverClose(new Error(`RELP: unknown command ${JSON.stringify(frame.command)}`));
          return;
      }
    }
  });
}
