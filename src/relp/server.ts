/**
 * A RELP server that answers as rsyslog 8.2302's imrelp (librelp 1.11) does — what `relay sink
 * relp@` and the tests receive with. Per connection:
 *
 * - TXNRs count up by one from the `open` (1), wrapping from 999999999 to 1; a gap, an unknown
 *   command or a malformed frame gets `0 serverclose 0` and the connection is closed;
 * - so does a frame not complete `frameTimeoutMs` after its first byte arrived (imrelp has no such
 *   bound; without it a peer that trickles or stalls frames holds their memory for ever); a
 *   connection between frames may stay idle as long as it likes;
 * - `open` must offer `commands=syslog`, else `rsp 500 required command not supported by client`
 *   and serverclose; the answer is `200 OK` and our offers; a second `open` is a 500 and serverclose;
 * - `syslog` before `open` is answered `500 command disabled` (the connection stays, as imrelp's);
 * - each `syslog` is handed to onMessage, then answered `200 OK` (so a 200 means onMessage ran);
 * - `close` is answered `TXNR rsp 0` (empty data), then `0 serverclose 0`, and the connection ends.
 */
import net from 'node:net';
import tls from 'node:tls';
import { formatHostPort } from '../config/address.js';
import { formatDurationMs } from '../config/size.js';
import type { RelayError } from '../errors.js';
import type { FramedServerTls } from '../framing/framed-server.js';
import { encodeFrame, FRAME_TIMEOUT_MS, FrameParser, formatOffers, nextTxnr, parseOffers, type RelpFrame } from './frame.js';

export interface RelpServerOptions {
  /** Largest DATALEN a peer may announce (imrelp's maxDataSize); a frame announcing more closes the connection. */
  maxDataBytes: number;
  /** One `syslog` command's payload (a view of the received bytes, which nothing reuses), from `peer` (its `HOST:PORT`); the 200 is sent after this returns. */
  onMessage(payload: Buffer, peer: string): void;
  /** Why a connection was closed by the server (a protocol error); absent: closed silently. */
  onProtocolError?(error: RelayError | Error, peer: string): void;
  /** Most time from a frame's first byte to its trailer before the session is closed (default FRAME_TIMEOUT_MS). */
  frameTimeoutMs?: number;
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
  const serve = (socket: net.Socket): void => void new Session(socket, options);
  if (!options.tls) return net.createServer(serve);
  const t = options.tls;
  return tls.createServer({ cert: t.cert, key: t.key, ca: t.ca, requestCert: t.requestCert === true, rejectUnauthorized: t.requestCert === true }, serve);
}

/** What one frame does to a session: `answered` (go on), or `ended` (serverclose sent, stop reading). */
type Step = 'answered' | 'ended';

/** One client connection's session; see the module comment. */
class Session {
  private readonly peer: string;
  private readonly parser: FrameParser;
  private expected = 1;
  private open = false;
  private done = false;
  /** Set while a frame is partly received: closes the session when it fires. */
  private frameTimer: NodeJS.Timeout | undefined;
  /** The answers to one chunk's frames, written together (a client with a window sends many per chunk). */
  private answers: Buffer[] = [];

  constructor(
    private readonly socket: net.Socket,
    private readonly options: RelpServerOptions,
  ) {
    this.peer = formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    this.parser = new FrameParser(options.maxDataBytes);
    socket.on('error', () => {}); // a reset peer: 'close' follows, nothing to report
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.once('close', () => this.stopFrameTimer());
  }

  private received(chunk: Buffer): void {
    if (this.done) return;
    this.parser.push(chunk);
    let completed = false;
    for (;;) {
      let frame: RelpFrame | undefined;
      try {
        frame = this.parser.next();
      } catch (error) {
        this.serverClose(error as Error);
        return;
      }
      if (frame === undefined) {
        this.timeFrame(completed);
        this.flush();
        return;
      }
      completed = true;
      if (frame.txnr !== this.expected) {
        this.serverClose(new Error(`RELP: TXNR ${frame.txnr}, expected ${this.expected}`));
        return;
      }
      this.expected = nextTxnr(frame.txnr);
      if (this.step(frame) === 'ended') return;
    }
  }

  /**
   * Starts the clock when a frame began in the chunk just parsed: none was running, or a frame
   * completed in it (then the partial one began after). A partial frame already timed keeps its
   * start; no partial frame, no clock.
   */
  private timeFrame(completedInChunk: boolean): void {
    if (this.frameTimer !== undefined && this.parser.inFrame && !completedInChunk) return;
    this.stopFrameTimer();
    if (!this.parser.inFrame) return;
    const timeoutMs = this.options.frameTimeoutMs ?? FRAME_TIMEOUT_MS;
    this.frameTimer = setTimeout(() => {
      this.frameTimer = undefined;
      this.serverClose(new Error(`RELP: a frame not complete ${formatDurationMs(timeoutMs)} after its first byte`));
    }, timeoutMs).unref();
  }

  private stopFrameTimer(): void {
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
  }

  private step(frame: RelpFrame): Step {
    switch (frame.command) {
      case 'syslog':
        if (!this.open) {
          this.answer(frame.txnr, '500 command disabled');
          return 'answered';
        }
        this.options.onMessage(frame.data, this.peer);
        this.answer(frame.txnr, OK);
        return 'answered';
      case 'open':
        return this.opening(frame);
      case 'close':
        this.answer(frame.txnr, '');
        this.serverClose();
        return 'ended';
      default:
        this.serverClose(new Error(`RELP: unknown command ${JSON.stringify(frame.command)}`));
        return 'ended';
    }
  }

  private opening(frame: RelpFrame): Step {
    if (this.open) {
      this.answer(frame.txnr, '500 protocol error: connection already open');
      this.serverClose(new Error('RELP: a second open on one connection'));
      return 'ended';
    }
    const commands = parseOffers(frame.data.toString('utf8')).get('commands') ?? '';
    if (!commands.split(',').includes('syslog')) {
      this.answer(frame.txnr, '500 required command not supported by client');
      this.serverClose(new Error('RELP: open without commands=syslog'));
      return 'ended';
    }
    this.open = true;
    this.answer(frame.txnr, `200 OK\n${formatOffers(SERVER_OFFERS)}`);
    return 'answered';
  }

  private answer(txnr: number, data: Uint8Array | string): void {
    this.answers.push(encodeFrame(txnr, 'rsp', typeof data === 'string' ? Buffer.from(data) : data));
  }

  private flush(): void {
    if (this.answers.length > 0) this.socket.write(this.answers.length === 1 ? this.answers[0]! : Buffer.concat(this.answers));
    this.answers = [];
  }

  private serverClose(reason?: Error): void {
    this.done = true;
    this.stopFrameTimer();
    if (reason) this.options.onProtocolError?.(reason, this.peer);
    this.flush();
    // Half-close, as imrelp: the peer reads the serverclose and closes; one that does not is cut after a grace period.
    this.socket.end(SERVERCLOSE);
    const timer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
    this.socket.once('close', () => clearTimeout(timer));
  }
}
