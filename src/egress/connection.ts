/**
 * One destination's connection as a state machine: connect (TCP, or TCP then a TLS handshake),
 * connect timeout, up, stall (inactivity) timeout, down, reconnect after a backoff, closed for
 * good. It owns the socket and its timers and nothing else: what to write, and what a write's
 * callback means for delivery, belong to the caller (./destination.ts); which transport to open
 * belongs to ./transport.ts.
 *
 *   down ──connect()──> connecting ──upEvent──> up
 *     ^                     │                     │
 *     └──── backoff ────────┴── error/close/cut ──┘        any ──close()──> closed
 *   reconnectNow(): a cut if connecting or up, then connect() at once, with a fresh backoff
 *
 * Each connect attempt is an object (./attempt.ts): its socket, its listeners, its connect
 * deadline. The connection holds the current one and acts on an attempt's events only while it is
 * current: one check, so a late event of an earlier socket changes nothing. How an attempt knows
 * it is up (TCP connect, TLS handshake, a TLS 1.3 server's acceptance) is explained there; if the
 * connect deadline comes while only the acceptance is awaited, the connection goes up then (a
 * server that sends nothing after its handshake gives no sign either way).
 *
 * The socket and the clock are injected, so a seeded simulation can run this very code against
 * a fake socket that behaves like Node's (test/sim/).
 *
 * The one rule that makes delivery accounting honest (docs/ARCHITECTURE.md, "write callbacks"):
 * a write callback confirms the write only if it carries no error AND the socket is not
 * destroyed. Node 20 calls the callbacks of writes still queued when the socket is destroyed
 * (ours or the peer's reset) with no error, so "no error" alone does not mean the kernel took the
 * bytes. A TLSSocket is a net.Socket whose handle is a TLSWrap: its writes complete through the
 * same onWriteComplete (internal/stream_base_commons: `if (stream.destroyed) callback(null)`),
 * and only once the TCP write of their ciphertext completed (TLSWrap::OnStreamAfterWrite); its
 * writes still buffered in the stream get the same no-error callback at destroy(), and
 * destroy() sets `destroyed` synchronously. So the same rule holds for TLS, unchanged. A socket is
 * destroyed synchronously by destroy(), so a cut also stops every later write at once: the state
 * leaves `up` in the same call.
 */
import { Attempt, type AttemptEvent, type ConnectFn, type WriteOutcome } from './attempt.js';
import { Backoff } from './backoff.js';
import { systemClock, type Clock } from './clock.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  connectTimeoutMs: number;
  /** Once up: inactivity after which onIdle() is asked whether the peer stalled. */
  stallTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

/** What the connection tells its owner. Each is called from a socket event or timer, never re-entrantly from a call into the connection (except onDown from cut() and reconnectNow()). */
export interface ConnectionEvents {
  onUp(): void;
  /**
   * The connection is gone (or an attempt failed); `wasUp` if it had been up. A reconnect is
   * scheduled (from reconnectNow(): started right after onDown returns). `tlsFailed`: a TLS
   * attempt reached the server but the secure session did not come up (verification, protocol, a
   * hang-up or the deadline during the handshake), or the server refused it with a TLS alert just
   * after (TLS 1.3 servers judge the client certificate then).
   */
  onDown(wasUp: boolean, reason: string, tlsFailed: boolean): void;
  /** The socket's buffer drained: more can be written. */
  onDrain(): void;
  /** No activity for stallTimeoutMs while up. */
  onIdle(): void;
}

export type ConnectionState = 'down' | 'connecting' | 'up' | 'closed';

/** One destination's connection; see the module comment. */
export class Connection {
  /** The attempt under way or up; none while down or closed. */
  private current: Attempt | undefined;
  private closed = false;
  private reconnectTimer: unknown;
  /** A write was confirmed on the current connection: the next backoff starts from the minimum. */
  private provedHealthy = false;
  private backoff: Backoff;
  /** Started, but the first attempt waits for what start() was given. */
  private waiting = false;

  constructor(
    private options: ConnectionOptions,
    private readonly events: ConnectionEvents,
    private connectFn: ConnectFn,
    private readonly clock: Clock = systemClock,
    private readonly random: () => number = Math.random,
  ) {
    this.backoff = new Backoff(options.reconnectMinMs, options.reconnectMaxMs, random);
  }

  get state(): ConnectionState {
    if (this.closed) return 'closed';
    if (!this.current) return 'down';
    return this.current.isUp ? 'up' : 'connecting';
  }

  /**
   * True while up and the socket is not destroyed. A peer reset destroys the socket at once but
   * reports it ('error', 'close') a tick later: no write goes into a socket already gone.
   */
  get live(): boolean {
    return this.current?.isUp === true && !this.current.socket.destroyed;
  }

  /** True when a write now would go out on a live connection without waiting for 'drain'. */
  get writable(): boolean {
    return this.live && !this.current!.socket.writableNeedDrain;
  }

  /**
   * New timeouts and backoff limits (a reload): the next attempt and the live connection use
   * them. Host and port never change (another address is another destination).
   */
  reconfigure(options: ConnectionOptions): void {
    this.options = options;
    this.backoff = new Backoff(options.reconnectMinMs, options.reconnectMaxMs, this.random);
    if (this.current?.isUp) this.current.socket.setTimeout(options.stallTimeoutMs);
  }

  /**
   * Starts the first attempt; with `after`, once it settles (a destination added again while its
   * removed predecessor still drains connects once that one finished: the peer gets the older
   * messages first; meanwhile it is down).
   */
  start(after?: Promise<unknown>): void {
    if (!after) {
      if (this.state === 'down') this.connect();
      return;
    }
    this.waiting = true;
    void after.then(() => {
      this.waiting = false;
      if (this.state === 'down') this.connect();
    });
  }

  /**
   * Reaches the peer with `connectFn` from now on (a reload changed its TLS settings): at once,
   * resending what was unconfirmed, unless the first attempt is still waiting to start.
   */
  replaceTransport(connectFn: ConnectFn, reason: string): void {
    this.connectFn = connectFn;
    if (!this.waiting) this.reconnectNow(reason);
  }

  /**
   * Writes `chunk` on the live connection. `done(true)` once the kernel has taken all of it;
   * `done(false)` if the connection was lost first (the bytes may or may not have left).
   * Call only while live.
   */
  write(chunk: Uint8Array, done: (confirmed: boolean, outcome?: WriteOutcome) => void): void {
    const socket = this.current!.socket;
    socket.write(chunk, (error, outcome) => done(!error && !socket.destroyed, outcome));
  }

  /**
   * The connection proved healthy (a write was confirmed): once it ends, the next backoff starts
   * from the minimum — unless it ends in a TLS failure (a TLS 1.3 server refusing the client
   * certificate lets a first write through before it says so: that is no proof of health).
   */
  healthy(): void {
    this.provedHealthy = true;
  }

  /** Cuts a live connection (stalled peer, pinned ring): down at once, reconnect after a backoff. */
  cut(reason: string): void {
    if (!this.current) return;
    this.current.socket.destroy();
    this.lost(reason, false);
  }

  /** Tries again at once with a fresh backoff (a reload changed how the peer is reached): cuts what is under way (onDown), skips a pending backoff. */
  reconnectNow(reason: string): void {
    this.cut(reason);
    if (this.state !== 'down') return; // closed, before or by onDown
    this.clock.clearTimeout(this.reconnectTimer); // the backoff cut() scheduled, or the one pending
    this.backoff.reset();
    this.connect();
  }

  /**
   * Closes for good: gracefully (`end`, letting queued writes finish) when `graceful`, else at once.
   * Returns, for a session that ends with an exchange (RELP's `close`), a promise settled once it
   * has had it (bounded by the session); else undefined.
   */
  close(graceful: boolean): Promise<void> | undefined {
    this.clock.clearTimeout(this.reconnectTimer);
    const attempt = this.current;
    this.current = undefined;
    this.closed = true;
    if (!attempt) return undefined;
    attempt.clearDeadline();
    if (!graceful || !attempt.isUp) {
      attempt.socket.destroy();
      return undefined;
    }
    attempt.socket.end();
    return attempt.socket.ended;
  }

  private connect(): void {
    this.provedHealthy = false;
    const attempt: Attempt = new Attempt(this.connectFn(this.options.host, this.options.port), this.options.connectTimeoutMs, this.clock, (event) => {
      // The one check: an earlier attempt's socket is destroyed or ended, its late events change nothing.
      if (attempt === this.current) this.handle(attempt, event);
    });
    this.current = attempt;
  }

  /** An event of the current attempt. */
  private handle(attempt: Attempt, event: AttemptEvent): void {
    switch (event) {
      case 'reached':
        if (!attempt.isUp) attempt.awaitAcceptance();
        return;
      case 'accepted':
        this.up(attempt);
        return;
      case 'deadline':
        this.deadline(attempt);
        return;
      case 'idle':
        if (attempt.isUp) this.events.onIdle();
        return;
      case 'drained':
        if (attempt.isUp) this.events.onDrain();
        return;
      case 'closed':
        this.lost(attempt.closeReason, attempt.closedByTls);
        return;
    }
  }

  private up(attempt: Attempt): void {
    if (attempt.isUp || attempt.socket.destroyed) return;
    attempt.wentUp(this.options.stallTimeoutMs);
    this.events.onUp();
  }

  /** The connect deadline came: a failed attempt, or up if only the peer's acceptance is awaited. */
  private deadline(attempt: Attempt): void {
    // A socket already destroyed (an alert, a reset) reports its end itself: 'close' is coming.
    if (attempt.isUp || attempt.socket.destroyed) return;
    if (attempt.isAwaitingAcceptance && !attempt.acceptanceRequired) {
      this.up(attempt);
      return;
    }
    attempt.socket.destroy();
    const unfinished = attempt.isHandshaking ? ' (TLS handshake not finished)' : attempt.isAwaitingAcceptance ? ' (the session was not accepted)' : '';
    this.lost(`connect timed out after ${this.options.connectTimeoutMs} ms${unfinished}`, attempt.isHandshaking);
  }

  /** The current attempt is gone: go down and schedule the next one. */
  private lost(reason: string, tlsFailed: boolean): void {
    const attempt = this.current!;
    attempt.clearDeadline();
    this.current = undefined;
    if (this.provedHealthy && !tlsFailed) this.backoff.reset();
    this.reconnectTimer = this.clock.setTimeout(() => {
      if (this.state === 'down') this.connect();
    }, this.backoff.nextDelayMs());
    this.events.onDown(attempt.isUp, reason, tlsFailed);
  }
}
