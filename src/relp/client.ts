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
 * - `serverclose`, a malformed answer, or an answer to no command ends the session (destroyed).
 * - end(): `close`, then the TCP end once it is answered (or after closeTimeoutMs).
 */
import { EventEmitter } from 'node:events';
import type { ConnectFn, SocketLike, WriteOutcome } from '../egress/attempt.js';
import { systemClock, type Clock } from '../egress/clock.js';
import type { SocketError } from '../egress/socket-error.js';
import { encodeFrame, encodeSyslogFrames, FrameParser, formatOffers, nextTxnr, parseResponse } from './frame.js';

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
  /** Commands issued and unanswered, by TXNR: the write and its message index. */
  private readonly unanswered = new Map<number, { write: Pending; index: number }>();
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
      while (write.issued < write.messages.length && this.unanswered.size < this.options.windowSize) {
        this.unanswered.set(this.nextTxnr, { write, index: write.issued });
        this.nextTxnr = nextTxnr(this.nextTxnr);
        payloads.push(write.messages[write.issued++]!);
      }
      if (this.unanswered.size >= this.options.windowSize) break;
    }
    if (payloads.length > 0) this.inner.write(encodeSyslogFrames(first, payloads), () => {});
    if (this.owesDrain && !this.writableNeedDrain) {
      this.owesDrain = false;
      this.emit('drain');
    }
  }

  private received(chunk: Buffer): void {
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
      this.inner.destroy(error as Error);
      return;
    }
    // Once per chunk of answers, not per answer: one callback round and one write of new commands.
    this.settle();
    this.pump();
  }

  private answer(txnr: number, response: { code: number; text: string }): void {
    if (!this.isOpen && txnr === 1) {
      if (response.code !== 200) throw new Error(`the server refused the RELP session: ${response.code} ${response.text}`);
      this.isOpen = true;
      this.opened?.();
      this.pump();
      return;
    }
    const command = this.unanswered.get(txnr);
    if (!command) throw new Error(`a RELP answer to no command (txnr ${txnr})`);
    this.unanswered.delete(txnr);
    const { write, index } = command;
    if (response.code !== 200) {
      write.rejected.push(index);
      write.reasons.push(`${response.code} ${response.text}`);
    }
    write.answered++;
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

  /** Every write not answered in full is called back with an error and what was answered of it. */
  private callBackUnanswered(): void {
    const error = new Error('the RELP session ended before every command was answered');
    for (const write of this.pending.splice(0)) {
      const acked = answeredPrefix(write, this.unanswered);
      let ackedBytes = 0;
      for (let i = 0; i < acked; i++) ackedBytes += LENGTH_BYTES + write.messages[i]!.length;
      const rejected = write.rejected.filter((i) => i < acked).length;
      write.callback(error, { acked, ackedBytes, rejected, reasons: write.reasons, issued: write.issued });
    }
    this.unanswered.clear();
  }
}

/** How many of `write`'s first messages were answered (a message still unanswered ends the run). */
function answeredPrefix(write: Pending, unanswered: Map<number, { write: Pending; index: number }>): number {
  let first = write.issued;
  for (const c of unanswered.values()) if (c.write === write) first = Math.min(first, c.index);
  return first;
}
