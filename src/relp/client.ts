/**
 * The client side of RELP (README "RELP destinations"), as a socket: a relp@ destination's
 * connect function (relpConnectFn) wraps the TCP socket in a RelpSocket, which the connection
 * state machine (src/egress/connection.ts) drives like any other socket. So spill, replay, lag
 * limits, stall detection, drain and reload work on relp@ as on tcp@.
 *
 * - Up: after the transport is up, the session opens (`1 open … commands=syslog`); the attempt
 *   is up only once the server answers `200` (a refusal or no answer before the connect deadline
 *   fails the attempt).
 * - A write carries len32le frames (the destination's internal framing, a view of the ring for
 *   the ring's own writes): each message becomes one `syslog` command, its data the payload
 *   unchanged. At most `windowSize` commands are unanswered at once; the rest wait (the socket
 *   reports `writableNeedDrain` meanwhile, and 'drain' once answers made room).
 * - A write's callback comes once every message of it is answered: `null` and the count the
 *   server refused (`500`); or, when the session ends first, an error and how many of its first
 *   messages were answered (`acked`): the destination confirms those and resends only the rest.
 * - Answers come in command order (librelp's doc/relp.md; imrelp answers so): what is answered is
 *   always a prefix of the commands issued, so at most the oldest write is partly answered.
 * - Session states: opening (`open` sent) -> open (`200` with `commands=syslog` offered) -> closing
 *   (`close` sent) -> ended. Whatever the server sends, in any state, ends at worst in `ended`:
 *   `serverclose`, a refused or featureless `open`, a malformed answer, an answer out of order or to
 *   no command end the session (destroyed, the reason its error), after what the same read answered
 *   was settled — imrelp sends its last answers and `serverclose` in one segment when it stops. The
 *   callbacks stay legal whatever arrives: each write called back once, in order, only the oldest
 *   partly answered; nothing a peer sends can throw inside egress.
 * - end(): `close`, then the TCP end once it is answered (or after closeTimeoutMs).
 */
import { EventEmitter } from 'node:events';
import type { ConnectFn, SocketLike, WriteOutcome } from '../egress/attempt.js';
import { systemClock, type Clock } from '../egress/clock.js';
import type { SocketError } from '../egress/socket-error.js';
import { encodeFrame, encodeSyslogFrames, FrameParser, formatOffers, nextTxnr, parseResponse, type RelpResponse } from './frame.js';

export interface RelpClientOptions {
  /** Most commands unanswered at once. */
  windowSize: number;
  /** `relp_software` offered at open. */
  software: string;
  /** Largest answer frame accepted (an answer is short: this bounds a broken peer). */
  maxAnswerBytes: number;
  /** How long end() waits for the answer to `close`. */
  closeTimeoutMs: number;
  /** Where the close timeout's timer comes from (the simulation's fake clock); the real one by default. */
  clock?: Clock;
}

/** One write: its messages, what is known of their answers, and its callback. */
interface Pending {
  messages: Uint8Array[];
  /** Messages sent so far (commands issued). */
  issued: number;
  /** Messages answered, and the indices of those refused (with why). */
  answered: number;
  rejected: number[];
  reasons: string[];
  callback: (error?: Error | null, outcome?: WriteOutcome) => void;
}

const LENGTH_BYTES = 4;

/** A connect function for relp@: `inner` (TCP) with a RELP session over it. */
export function relpConnectFn(inner: ConnectFn, options: RelpClientOptions): ConnectFn {
  return (host, port) => {
    const opening = inner(host, port);
    const socket = new RelpSocket(opening.socket, options);
    return {
      socket,
      upEvent: opening.upEvent,
      acceptanceRequired: true,
      awaitAcceptance: (accepted) => {
        const open = (): void => socket.open(accepted);
        if (opening.awaitAcceptance) opening.awaitAcceptance(open);
        else open();
      },
    };
  };
}

/** See the module comment. */
export class RelpSocket extends EventEmitter implements SocketLike {
  private readonly parser: FrameParser;
  private readonly clock: Clock;
  private nextTxnr = 1;
  /** Writes not yet answered in full, oldest first. */
  private readonly pending: Pending[] = [];
  /** Commands issued and unanswered, oldest first: its TXNR and write (answers come in this order). */
  private readonly unanswered: { txnr: number; write: Pending }[] = [];
  private opened: (() => void) | undefined;
  private isOpen = false;
  private closing: { txnr: number; timer: unknown } | undefined;
  /** Someone saw writableNeedDrain: tell them when there is room again. */
  private owesDrain = false;
  private ending = false;
  private resolveEnded: () => void = () => {};
  /** Settles once end() finished the session: `close` answered, the timeout, or the connection gone. */
  readonly ended = new Promise<void>((resolve) => {
    this.resolveEnded = resolve;
  });

  constructor(
    private readonly inner: SocketLike,
    private readonly options: RelpClientOptions,
  ) {
    super();
    this.clock = options.clock ?? systemClock;
    this.parser = new FrameParser(options.maxAnswerBytes);
    inner.on('connect', () => this.emit('connect'));
    inner.on('secureConnect', () => this.emit('secureConnect'));
    inner.on('timeout', () => this.emit('timeout'));
    inner.on('error', (error: SocketError) => this.emit('error', error));
    inner.on('drain', () => this.pump());
    inner.on('data', (chunk: Buffer) => this.received(chunk));
    inner.on('close', () => this.lost());
  }

  get destroyed(): boolean {
    return this.inner.destroyed;
  }

  get writableNeedDrain(): boolean {
    const blocked = this.inner.writableNeedDrain || this.pending.some((p) => p.issued < p.messages.length);
    if (blocked) this.owesDrain = true;
    return blocked;
  }

  /** Sends `open` and calls `accepted` once the server answers 200. */
  open(accepted: () => void): void {
    this.opened = accepted;
    const offers = formatOffers(
      new Map([
        ['relp_version', '0'],
        ['relp_software', this.options.software],
        ['commands', 'syslog'],
      ]),
    );
    this.inner.write(encodeFrame(this.nextTxnr, 'open', Buffer.from(offers)), () => {});
    this.nextTxnr = nextTxnr(this.nextTxnr);
  }

  write(chunk: Uint8Array, callback: (error?: Error | null, outcome?: WriteOutcome) => void): boolean {
    const messages: Uint8Array[] = [];
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let offset = 0; offset < chunk.length; ) {
      const length = view.getUint32(offset, true);
      messages.push(chunk.subarray(offset + LENGTH_BYTES, offset + LENGTH_BYTES + length));
      offset += LENGTH_BYTES + length;
    }
    const write: Pending = { messages, issued: 0, answered: 0, rejected: [], reasons: [], callback };
    this.pending.push(write);
    if (messages.length === 0) this.settle();
    else this.pump();
    return !this.writableNeedDrain;
  }

  end(): void {
    if (this.ending) return;
    this.ending = true;
    if (!this.isOpen || this.inner.destroyed) {
      this.inner.end();
      this.resolveEnded();
      return;
    }
    const txnr = this.nextTxnr;
    this.nextTxnr = nextTxnr(txnr);
    const timer = this.clock.setTimeout(() => {
      this.inner.end();
      this.resolveEnded();
    }, this.options.closeTimeoutMs);
    this.closing = { txnr, timer };
    this.inner.write(encodeFrame(txnr, 'close'), () => {});
  }

  /**
   * Ends the session at once, and calls back its writes now, not at 'close': whoever destroys it
   * may take those writes right after (a cut for a pinned ring drops them), so what was answered
   * of them must be confirmed first.
   */
  destroy(error?: Error): void {
    this.inner.destroy(error);
    this.callBackUnanswered();
  }

  setTimeout(ms: number): void {
    this.inner.setTimeout(ms);
  }

  /** Issues commands while the window has room, in one write. */
  private pump(): void {
    if (!this.isOpen || this.inner.destroyed || this.ending) return;
    const payloads: Uint8Array[] = [];
    const first = this.nextTxnr;
    for (const write of this.pending) {
      while (write.issued < write.messages.length && this.unanswered.length < this.options.windowSize) {
        this.unanswered.push({ txnr: this.nextTxnr, write });
        this.nextTxnr = nextTxnr(this.nextTxnr);
        payloads.push(write.messages[write.issued++]!);
      }
      if (this.unanswered.length >= this.options.windowSize) break;
    }
    if (payloads.length > 0) this.inner.write(encodeSyslogFrames(first, payloads), () => {});
    if (this.owesDrain && !this.writableNeedDrain) {
      this.owesDrain = false;
      this.emit('drain');
    }
  }

  private received(chunk: Buffer): void {
    if (this.inner.destroyed) return;
    let failure: Error | undefined;
    try {
      this.parser.push(chunk);
      for (let frame = this.parser.next(); frame; frame = this.parser.next()) {
        if (frame.command === 'serverclose') {
          if (this.ending) return; // after our `close`: the end we asked for
          throw new Error('the server closed the session (serverclose)');
        }
        if (frame.command !== 'rsp') throw new Error(`unexpected RELP command "${frame.command}" from the server`);
        if (this.closing?.txnr === frame.txnr) {
          // `close` is answered `rsp 0`, with no code.
          this.closed();
          return;
        }
        this.answer(frame.txnr, parseResponse(frame.data));
      }
    } catch (error) {
      failure = error as Error;
    }
    // Once per chunk of answers, not per answer: one callback round and one write of new commands.
    // What this chunk answered is settled before a failure in it ends the session.
    this.settle();
    if (failure) this.destroy(failure);
    else this.pump();
  }

  private answer(txnr: number, response: RelpResponse): void {
    if (!this.isOpen && txnr === 1) {
      this.accept(response);
      return;
    }
    const command = this.unanswered[0];
    if (!command) throw new Error(`a RELP answer to no command (txnr ${txnr})`);
    if (command.txnr !== txnr) throw new Error(`a RELP answer out of order (txnr ${txnr}, expected ${command.txnr})`);
    this.unanswered.shift();
    const { write } = command;
    if (response.code !== 200) {
      write.rejected.push(write.answered);
      write.reasons.push(`${response.code} ${response.text}`);
    }
    write.answered++;
  }

  /** The answer to `open`: the session is open if the server accepted it and offers `syslog` (librelp refuses it otherwise). */
  private accept(response: RelpResponse): void {
    if (response.code !== 200) throw new Error(`the server refused the RELP session: ${response.code} ${response.text}`);
    const commands = response.offers?.get('commands')?.split(',') ?? [];
    if (!commands.includes('syslog'))
      throw new Error(`the RELP server does not offer the syslog command (it offered commands=${response.offers?.get('commands') ?? '(none)'})`);
    this.isOpen = true;
    this.opened?.();
    this.pump();
  }

  /** Our `close` was answered: the session is over. */
  private closed(): void {
    this.clock.clearTimeout(this.closing!.timer);
    this.inner.end();
    this.resolveEnded();
  }

  /** Calls back the writes at the head that are answered in full, in order. */
  private settle(): void {
    while (this.pending.length > 0 && this.pending[0]!.answered === this.pending[0]!.messages.length) {
      const write = this.pending.shift()!;
      write.callback(null, { acked: write.answered, ackedBytes: 0, rejected: write.rejected.length, reasons: write.reasons });
    }
  }

  /** The session is over (its connection closed). */
  private lost(): void {
    if (this.closing) this.clock.clearTimeout(this.closing.timer);
    this.resolveEnded();
    this.callBackUnanswered();
    this.emit('close');
  }

  /**
   * Every write is called back: those answered in full succeed (settle), the rest fail with what
   * was answered of them — answers come in order, so only the first of them can have any.
   */
  private callBackUnanswered(): void {
    this.settle();
    const error = new Error('the RELP session ended before every command was answered');
    for (const write of this.pending.splice(0)) {
      const acked = write.answered;
      let ackedBytes = 0;
      for (let i = 0; i < acked; i++) ackedBytes += LENGTH_BYTES + write.messages[i]!.length;
      write.callback(error, { acked, ackedBytes, rejected: write.rejected.length, reasons: write.reasons, issued: write.issued });
    }
    this.unanswered.length = 0;
  }
}
