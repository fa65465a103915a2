/**
 * A fake network for the egress simulation: a socket that behaves like Node 20's net.Socket in
 * the ways delivery depends on, a peer that reads (or not), and a clock. Nothing here runs on
 * its own: the simulation's scheduler decides when a peer reads, which pending event fires next
 * and when time moves, from a seeded generator.
 *
 * Node behaviour reproduced, traps included:
 * - write() queues; its callback fires later (never synchronously), once the kernel took every
 *   byte; callbacks of one socket fire in order, but interleave freely with other sockets' events.
 * - The kernel reads a write's bytes when it takes them, not when write() is called: a write of a
 *   ring view sends whatever the ring holds at that moment.
 * - writableNeedDrain turns true once this many bytes are queued (highWaterMark) and 'drain'
 *   fires when the queue is empty again; a destroyed socket reports writableNeedDrain false.
 * - destroy() (ours, or a peer reset) calls the callbacks of every write still queued with NO
 *   error (Node 20, stream_base_commons onWriteComplete: `if (stream.destroyed) callback(null)`),
 *   then 'close'. A reset first emits 'error' (ECONNRESET).
 * - setTimeout(ms) is an inactivity timer: refreshed by a write issued or completed and by data read.
 * - A TLS socket (upEvent 'secureConnect') emits 'connect' when its TCP connection is made and
 *   'secureConnect' once the handshake is done, as separate events; a failed handshake emits
 *   'connect', then 'error' (an ERR_SSL_* code), then 'close'. A TLS 1.3 server that refuses the
 *   client certificate does so after 'secureConnect', with an alert ('error', then 'close'); one
 *   that accepts sends a session ticket (`verdict` sockets: the relay waits for it, see
 *   Opening.awaitAcceptance).
 */
import type { SocketLike, UpEvent } from '../../src/egress/attempt.js';
import type { Clock } from '../../src/egress/clock.js';

/** A timer of the fake clock. */
interface Timer {
  atMs: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/** Time that moves only when told to; timers fire in time order (then creation order). */
export class FakeClock implements Clock {
  private now = 1_000_000;
  private seq = 0;
  private timers: Timer[] = [];

  nowMs(): number {
    return this.now;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const timer: Timer = { atMs: this.now + Math.max(1, ms), seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (handle) (handle as Timer).cancelled = true;
  }

  /** Moves time forward by `ms`, firing every timer that comes due, in order. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      const next = this.timers.reduce<Timer | undefined>(
        (a, t) => (t.atMs <= until && (!a || t.atMs < a.atMs || (t.atMs === a.atMs && t.seq < a.seq)) ? t : a),
        undefined,
      );
      if (!next) break;
      this.now = Math.max(this.now, next.atMs);
      next.cancelled = true;
      next.callback();
    }
    this.now = until;
  }
}

type Listener = (...args: never[]) => void;

interface QueuedWrite {
  chunk: Uint8Array;
  taken: number;
  callback: (error?: Error | null) => void;
}

/** What a peer received on one connection, in order. */
export interface ConnectionRecord {
  id: number;
  bytes: Buffer[];
  /** Total bytes the peer took. */
  acceptedBytes: number;
  /** True once the connection ended, by either side. */
  ended: boolean;
}

/** One fake TCP connection; see the module comment. */
export class FakeSocket implements SocketLike {
  destroyed = false;
  private needDrain = false;
  private readonly queue: QueuedWrite[] = [];
  private queuedBytes = 0;
  private readonly listeners = new Map<string, Listener[]>();
  /** Events waiting to be delivered by the scheduler, in the order Node would deliver them. */
  readonly pending: (() => void)[] = [];
  private timeoutMs = 0;
  private timer: unknown;
  /** True once up (after 'connect' for TCP, 'secureConnect' for TLS): the peer reads only then. */
  connected = false;
  /** Writes issued after the socket was destroyed or ended: the relay should never make any. */
  writesAfterEnd = 0;
  /**
   * Writes issued before the socket was up (before the TLS handshake finished, or before the
   * ticket of a `verdict` server unless its connect deadline had passed): the relay should never
   * make any.
   */
  writesBeforeUp = 0;
  private secured = false;
  private readonly createdMs: number;

  constructor(
    readonly record: ConnectionRecord,
    private readonly clock: FakeClock,
    private readonly highWaterMark: number,
    readonly upEvent: UpEvent = 'connect',
    /**
     * TLS: the server judges the session after 'secureConnect' and says so with a ticket; the
     * relay waits for it until its connect deadline, this long after the attempt began.
     */
    private readonly verdictDeadlineMs: number | undefined = undefined,
  ) {
    this.createdMs = clock.nowMs();
  }

  get verdict(): boolean {
    return this.verdictDeadlineMs !== undefined;
  }

  private acceptedCallbacks: (() => void)[] = [];

  /** Opening.awaitAcceptance for a `verdict` socket: `accepted` runs at the server's ticket. */
  whenAccepted(accepted: () => void): void {
    if (this.connected) accepted();
    else this.acceptedCallbacks.push(accepted);
  }

  get writableNeedDrain(): boolean {
    return this.destroyed ? false : this.needDrain;
  }

  /** Bytes written and not yet taken by the peer. */
  get backlogBytes(): number {
    return this.queuedBytes;
  }

  on(event: string, listener: Listener): void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const l of this.listeners.get(event) ?? []) (l as (...a: unknown[]) => void)(...args);
  }

  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean {
    if (this.destroyed || this.record.ended) {
      this.writesAfterEnd++;
      // Node: a write after destroy/end fails, its callback gets an error on the next tick.
      this.pending.push(() => callback(new Error('write after end')));
      return false;
    }
    const deadlinePassed = this.verdictDeadlineMs !== undefined && this.secured && this.clock.nowMs() - this.createdMs >= this.verdictDeadlineMs;
    if (!this.connected && !deadlinePassed) this.writesBeforeUp++;
    this.queue.push({ chunk, taken: 0, callback });
    this.queuedBytes += chunk.length;
    if (this.queuedBytes >= this.highWaterMark) this.needDrain = true;
    this.refreshTimer();
    return !this.needDrain;
  }

  end(): void {
    if (this.destroyed) return;
    // Graceful: what is queued still goes out as the peer reads; then the connection closes.
    this.endRequested = true;
    this.maybeFinishEnd();
  }

  private endRequested = false;

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.record.ended = true;
    this.clock.clearTimeout(this.timer);
    // The trap: every write still queued "completes" with no error.
    for (const w of this.queue.splice(0)) this.pending.push(() => w.callback(null));
    this.queuedBytes = 0;
    this.pending.push(() => this.emit('close'));
  }

  setTimeout(ms: number): void {
    this.timeoutMs = ms;
    this.refreshTimer();
  }

  // --- what the peer and the scheduler do ---

  /** The connect attempt succeeds: 'connect' is pending (then 'secureConnect' for TLS). */
  acceptConnection(): void {
    this.pending.push(() => {
      if (this.destroyed) return;
      this.connected = this.upEvent === 'connect';
      this.emit('connect');
    });
    if (this.upEvent === 'connect') return;
    this.pending.push(() => {
      if (this.destroyed) return;
      this.connected = !this.verdict;
      this.secured = true;
      this.emit('secureConnect');
    });
    if (!this.verdict) return;
    this.pending.push(() => {
      if (this.destroyed) return;
      this.connected = true;
      for (const accepted of this.acceptedCallbacks.splice(0)) accepted();
    });
  }

  /**
   * TLS: the TCP connection is made, then the server refuses: during the handshake (a
   * verification failure, say), or just after it, with an alert (TLS 1.3, the client certificate).
   */
  rejectHandshake(when: 'during' | 'after'): void {
    if (when === 'after') {
      this.pending.push(() => {
        if (!this.destroyed) this.emit('connect');
      });
      this.pending.push(() => {
        if (this.destroyed) return;
        this.connected = !this.verdict;
        this.secured = true;
        this.emit('secureConnect');
      });
    } else
      this.pending.push(() => {
        if (!this.destroyed) this.emit('connect');
      });
    this.pending.push(() => {
      if (this.destroyed) return;
      const code = when === 'after' ? 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' : 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE';
      this.emit('error', Object.assign(new Error(`SSL routines::${code}`), { code, reason: code.toLowerCase() }));
      this.destroy();
    });
  }

  /** The connect attempt fails: 'error' then 'close' are pending. */
  refuseConnection(): void {
    this.destroyed = true;
    this.record.ended = true;
    this.clock.clearTimeout(this.timer);
    this.pending.push(() => this.emit('error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
    this.pending.push(() => this.emit('close'));
  }

  /** The peer resets: 'error' (ECONNRESET), then the queued callbacks with no error, then 'close'. */
  reset(): void {
    if (this.destroyed) return;
    this.pending.push(() => this.emit('error', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })));
    this.destroy();
  }

  /** The peer takes up to `maxBytes` queued bytes, reading them out of each chunk now. */
  take(maxBytes: number): number {
    if (this.destroyed || !this.connected) return 0;
    let took = 0;
    while (took < maxBytes && this.queue.length > 0) {
      const w = this.queue[0]!;
      const n = Math.min(maxBytes - took, w.chunk.length - w.taken);
      // Copy now: a view of the ring is read by the kernel at this moment, not at write().
      this.record.bytes.push(Buffer.from(w.chunk.subarray(w.taken, w.taken + n)));
      this.record.acceptedBytes += n;
      w.taken += n;
      took += n;
      this.queuedBytes -= n;
      if (w.taken === w.chunk.length) {
        this.queue.shift();
        const callback = w.callback;
        this.pending.push(() => {
          this.refreshTimer();
          callback(null);
        });
      }
    }
    if (took > 0) this.refreshTimer();
    if (this.needDrain && this.queuedBytes === 0) {
      this.needDrain = false;
      this.pending.push(() => {
        if (!this.destroyed) this.emit('drain');
      });
    }
    this.maybeFinishEnd();
    return took;
  }

  /** The peer sends `chunk`: 'data' is pending (lost if the socket is gone by then); `arrived` runs just before it is emitted. */
  receive(chunk: Buffer, arrived?: () => void): void {
    this.pending.push(() => {
      if (this.destroyed) return;
      this.refreshTimer();
      arrived?.();
      this.emit('data', chunk);
    });
  }

  /** Delivers the oldest pending event; false when there is none. */
  fireOne(): boolean {
    const event = this.pending.shift();
    if (!event) return false;
    event();
    return true;
  }

  private maybeFinishEnd(): void {
    if (!this.endRequested || this.queue.length > 0 || this.record.ended) return;
    this.record.ended = true;
    this.clock.clearTimeout(this.timer);
    this.pending.push(() => this.emit('close'));
  }

  private refreshTimer(): void {
    this.clock.clearTimeout(this.timer);
    if (this.timeoutMs <= 0 || this.destroyed) return;
    this.timer = this.clock.setTimeout(() => {
      if (!this.destroyed) this.emit('timeout');
    }, this.timeoutMs);
  }
}
