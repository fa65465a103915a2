/**
 * One destination's TCP connection as a state machine: connect, connect timeout, up, stall
 * (inactivity) timeout, down, reconnect after a backoff, closed for good. It owns the socket and
 * its timers and nothing else: what to write, and what a write's callback means for delivery,
 * belong to the caller (./destination.ts).
 *
 *   down ──connect()──> connecting ──'connect'──> up
 *     ^                     │                      │
 *     └──── backoff ────────┴── error/close/cut ───┘        any ──close()──> closed
 *
 * The socket and the clock are injected, so a seeded simulation can run this very code against
 * a fake socket that behaves like Node's (test/sim/).
 *
 * The one rule that makes delivery accounting honest (docs/ARCHITECTURE.md, "write callbacks"):
 * a write callback confirms the write only if it carries no error AND the socket is not
 * destroyed. Node 20 calls the callbacks of writes still queued in libuv with no error when the
 * socket is destroyed (ours or the peer's reset), so "no error" alone does not mean the kernel
 * took the bytes. A socket is destroyed synchronously by destroy(), so a cut also stops every
 * later write at once: the state leaves `up` in the same call.
 */
import net from 'node:net';
import { Backoff } from './backoff.js';

/** The part of net.Socket a connection uses. */
export interface SocketLike {
  readonly destroyed: boolean;
  readonly writableNeedDrain: boolean;
  write(chunk: Uint8Array, callback: (error?: Error | null) => void): boolean;
  end(): void;
  destroy(error?: Error): void;
  /** Inactivity timeout: 'timeout' fires after `ms` without a write issued, completed, or a read. */
  setTimeout(ms: number): void;
  on(event: 'connect' | 'drain' | 'close' | 'timeout', listener: () => void): void;
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): void;
}

/** Opens a socket to host:port (connecting in the background). */
export type ConnectFn = (host: string, port: number) => SocketLike;

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

/** A real TCP connection with Nagle off and keepalive on. */
export const tcpConnect: ConnectFn = (host, port) => {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 10_000);
  return socket;
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

/** What the connection tells its owner. Each is called from a socket event or timer, never re-entrantly from a call into the connection (except onDown from cut()). */
export interface ConnectionEvents {
  onUp(): void;
  /** The connection is gone (or an attempt failed); `wasUp` if it had been up. A reconnect is scheduled. */
  onDown(wasUp: boolean, reason: string): void;
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
  private backoff: Backoff;

  constructor(
    private options: ConnectionOptions,
    private readonly events: ConnectionEvents,
    private readonly connectFn: ConnectFn = tcpConnect,
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

  /** The connection proved healthy (a write was confirmed): the next backoff starts from the minimum. */
  healthy(): void {
    this.backoff.reset();
  }

  /** Cuts a live connection (stalled peer, pinned ring): down at once, reconnect after a backoff. */
  cut(reason: string): void {
    const socket = this.current;
    if (!socket || this.stateValue === 'closed') return;
    socket.destroy();
    this.lost(socket, reason);
  }

  /** Closes for good: gracefully (`end`, letting queued writes finish) when `graceful`, else at once. */
  close(graceful: boolean): void {
    this.clock.clearTimeout(this.reconnectTimer);
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
    const socket = this.connectFn(this.options.host, this.options.port);
    this.current = socket;
    // One inactivity timer serves both limits: while connecting it is the connect timeout, once
    // up it is the stall timeout (Node restarts it on every write issued or completed and every read).
    socket.setTimeout(this.options.connectTimeoutMs);
    socket.on('timeout', () => {
      if (socket !== this.current) return;
      if (this.stateValue === 'connecting') {
        socket.destroy();
        this.lost(socket, `connect timed out after ${this.options.connectTimeoutMs} ms`);
      } else if (this.stateValue === 'up') this.events.onIdle();
    });
    socket.on('connect', () => {
      if (socket !== this.current || this.stateValue !== 'connecting') return;
      socket.setTimeout(this.options.stallTimeoutMs);
      this.stateValue = 'up';
      this.events.onUp();
    });
    socket.on('drain', () => {
      if (socket === this.current && this.stateValue === 'up') this.events.onDrain();
    });
    // Read and discard: reading is how a peer's FIN is noticed while there is nothing to send.
    socket.on('data', () => {});
    let lastError = '';
    socket.on('error', (error) => {
      lastError = error.message;
    });
    socket.on('close', () => this.lost(socket, lastError || 'closed by the peer'));
  }

  /** `socket` is gone: if it is the current one, go down and schedule the next attempt. */
  private lost(socket: SocketLike, reason: string): void {
    if (socket !== this.current || this.stateValue === 'closed') return;
    const wasUp = this.stateValue === 'up';
    this.current = undefined;
    this.stateValue = 'down';
    this.reconnectTimer = this.clock.setTimeout(() => {
      if (this.stateValue === 'down') this.connect();
    }, this.backoff.nextDelayMs());
    this.events.onDown(wasUp, reason);
  }
}
