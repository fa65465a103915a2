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
 * How the connection learns when it is up: the connect function returns an Attempt, the socket
 * and the name of the event after which it carries data: 'connect' for TCP, 'secureConnect' for
 * TLS (the handshake is done and the server's certificate verified). A TLS socket also emits
 * 'connect' when its TCP connection is made; that only marks the handshake as under way, so a
 * failure from then on is reported as a TLS failure. An Attempt may also say that the peer's
 * acceptance comes after that event (`awaitAcceptance`: a TLS 1.3 server judges the client
 * certificate after the client's side of the handshake is done); the connection then goes up
 * when the attempt reports it, and nothing is written before. The connect timeout is a deadline
 * on the clock from the attempt's start to up: it covers the TCP connect and the handshake; if it
 * comes while only the acceptance is awaited, the connection goes up then (a server that sends
 * nothing after its handshake gives no sign either way).
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
import { Backoff } from './backoff.js';
import { describeError, type SocketError } from './socket-error.js';

/** The part of net.Socket a connection uses. */
export interface SocketLike {
  readonly destroyed: boolean;
  readonly writableNeedDrain: boolean;
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
  end(): void;
  destroy(error?: Error): void;
  /** Inactivity timeout: 'timeout' fires after `ms` without a write issued, completed, or a read. */
  setTimeout(ms: number): void;
  on(event: 'connect' | 'secureConnect' | 'drain' | 'close' | 'timeout', listener: () => void): void;
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  on(event: 'error', listener: (error: SocketError) => void): void;
}

/** The event after which an attempt's socket carries data. */
export type UpEvent = 'connect' | 'secureConnect';

/** One connect attempt under way: its socket, and the event that means it is up. */
export interface Attempt {
  socket: SocketLike;
  upEvent: UpEvent;
  /**
   * Called at `upEvent` when present: calls `accepted` (at once, or when the peer has shown it
   * accepted the session); the connection is up only then. See the module comment.
   */
  awaitAcceptance?(accepted: () => void): void;
}

/** Opens a socket to host:port (connecting in the background). ./transport.ts has the real ones. */
export type ConnectFn = (host: string, port: number) => Attempt;

/** Timers and time, injectable for the simulation. */
export interface Clock {
  nowMs(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

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
  private current: SocketLike | undefined;
  private stateValue: ConnectionState = 'down';
  private reconnectTimer: unknown;
  private connectTimer: unknown;
  /** The current TLS attempt's TCP connection is made: a failure now is a TLS failure. */
  private handshaking = false;
  /** A write was confirmed on the current connection: the next backoff starts from the minimum. */
  private provedHealthy = false;
  private backoff: Backoff;

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
    return this.stateValue;
  }

  /**
   * True while up and the socket is not destroyed. A peer reset destroys the socket at once but
   * reports it ('error', 'close') a tick later: no write goes into a socket already gone.
   */
  get live(): boolean {
    return this.stateValue === 'up' && !this.current!.destroyed;
  }

  /** True when a write now would go out on a live connection without waiting for 'drain'. */
  get writable(): boolean {
    return this.live && !this.current!.writableNeedDrain;
  }

  /**
   * New timeouts and backoff limits (a reload): the next attempt and the live connection use
   * them. Host and port never change (another address is another destination).
   */
  reconfigure(options: ConnectionOptions): void {
    this.options = options;
    this.backoff = new Backoff(options.reconnectMinMs, options.reconnectMaxMs, this.random);
    if (this.stateValue === 'up') this.current!.setTimeout(options.stallTimeoutMs);
  }

  /** Starts the first attempt. */
  start(): void {
    if (this.stateValue === 'down') this.connect();
  }

  /**
   * Writes `chunk` on the live connection. `done(true)` once the kernel has taken all of it;
   * `done(false)` if the connection was lost first (the bytes may or may not have left).
   * Call only while live.
   */
  write(chunk: Uint8Array, done: (confirmed: boolean) => void): void {
    const socket = this.current!;
    socket.write(chunk, (error) => done(!error && !socket.destroyed));
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
    const socket = this.current;
    if (!socket || this.stateValue === 'closed') return;
    socket.destroy();
    this.lost(socket, reason, false);
  }

  /** Tries again at once with a fresh backoff (a reload changed how the peer is reached): cuts what is under way (onDown), skips a pending backoff. */
  reconnectNow(reason: string): void {
    this.cut(reason);
    if (this.stateValue !== 'down') return; // closed, before or by onDown
    this.clock.clearTimeout(this.reconnectTimer); // the backoff cut() scheduled, or the one pending
    this.backoff.reset();
    this.connect();
  }

  /** Closes for good: gracefully (`end`, letting queued writes finish) when `graceful`, else at once. */
  close(graceful: boolean): void {
    this.clock.clearTimeout(this.reconnectTimer);
    this.clock.clearTimeout(this.connectTimer);
    const socket = this.current;
    this.current = undefined;
    const wasUp = this.stateValue === 'up';
    this.stateValue = 'closed';
    if (!socket) return;
    if (graceful && wasUp) socket.end();
    else socket.destroy();
  }

  private connect(): void {
    this.stateValue = 'connecting';
    this.handshaking = false;
    this.provedHealthy = false;
    const { socket, upEvent, awaitAcceptance } = this.connectFn(this.options.host, this.options.port);
    let awaitingAcceptance = false;
    this.current = socket;
    // A deadline, not the socket's inactivity timer: Node restarts that timer when the TCP
    // connection is made, and a TLS handshake's records do not restart it, so it would measure
    // neither the whole attempt nor the handshake alone.
    this.connectTimer = this.clock.setTimeout(() => {
      // A socket already destroyed (an alert, a reset) reports its end itself: 'close' is coming.
      if (socket !== this.current || this.stateValue !== 'connecting' || socket.destroyed) return;
      if (awaitingAcceptance) {
        up();
        return;
      }
      socket.destroy();
      const unfinished = this.handshaking ? ' (TLS handshake not finished)' : '';
      this.lost(socket, `connect timed out after ${this.options.connectTimeoutMs} ms${unfinished}`, this.handshaking);
    }, this.options.connectTimeoutMs);
    const up = (): void => {
      if (socket !== this.current || this.stateValue !== 'connecting' || socket.destroyed) return;
      awaitingAcceptance = false;
      this.clock.clearTimeout(this.connectTimer);
      // Once up, the socket's inactivity timer is the stall timeout (Node restarts it on every
      // write issued or completed and every read).
      socket.setTimeout(this.options.stallTimeoutMs);
      this.stateValue = 'up';
      this.events.onUp();
    };
    const reached = (): void => {
      if (socket !== this.current || this.stateValue !== 'connecting') return;
      if (!awaitAcceptance) {
        up();
        return;
      }
      awaitingAcceptance = true;
      awaitAcceptance(up);
    };
    socket.on('connect', () => {
      if (upEvent === 'connect') reached();
      else if (socket === this.current) this.handshaking = true;
    });
    if (upEvent !== 'connect') socket.on(upEvent, reached);
    socket.on('timeout', () => {
      if (socket === this.current && this.stateValue === 'up') this.events.onIdle();
    });
    socket.on('drain', () => {
      if (socket === this.current && this.stateValue === 'up') this.events.onDrain();
    });
    // Read and discard: reading is how a peer's FIN is noticed while there is nothing to send.
    socket.on('data', () => {});
    let lastError: SocketError | undefined;
    socket.on('error', (error) => {
      lastError = error;
    });
    socket.on('close', () => {
      // Meaningful only while `socket` is current (lost() ignores any other).
      const tlsFailed =
        upEvent === 'secureConnect' && ((this.stateValue === 'connecting' && this.handshaking) || lastError?.code?.startsWith('ERR_SSL_') === true);
      const closed = awaitingAcceptance ? 'closed by the peer before it accepted the session (is the client certificate trusted?)' : 'closed by the peer';
      this.lost(socket, lastError ? describeError(lastError) : closed, tlsFailed);
    });
  }

  /** `socket` is gone: if it is the current one, go down and schedule the next attempt. */
  private lost(socket: SocketLike, reason: string, tlsFailed: boolean): void {
    if (socket !== this.current || this.stateValue === 'closed') return;
    const wasUp = this.stateValue === 'up';
    this.clock.clearTimeout(this.connectTimer);
    this.current = undefined;
    this.stateValue = 'down';
    if (this.provedHealthy && !tlsFailed) this.backoff.reset();
    this.reconnectTimer = this.clock.setTimeout(() => {
      if (this.stateValue === 'down') this.connect();
    }, this.backoff.nextDelayMs());
    this.events.onDown(wasUp, reason, tlsFailed);
  }
}
