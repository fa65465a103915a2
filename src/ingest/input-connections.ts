/**
 * The open connections of one TCP/TLS listener and what bounds them (README "Limits on input"):
 * when each last completed a message, closing those idle past --idle-timeout (a connection that
 * trickles bytes into a frame that never ends is idle: only whole messages count), and
 * --max-connections through the server's own maxConnections (a connection past it is closed by
 * Node before anything reads it, TLS handshakes included; the server's 'drop' event counts it).
 * It also knows every connection the server took, a PROXY header or TLS handshake still under
 * way included, so that closing the listener closes them all at once; and each accepted one's
 * source, so that a reload's --allow and --deny reach connections already open.
 */
import type net from 'node:net';
import type { InputLimits } from '../thread-protocol.js';
import { admits, type Intake } from './listener.js';

/** How often idle connections are looked for: a quarter of the timeout, within these bounds. */
const SWEEP_MIN_MS = 50;
const SWEEP_MAX_MS = 1000;

/** See the module comment. */
export class InputConnections {
  /** Each open connection and when it last completed a message (or opened). */
  private readonly lastMessageMs = new Map<net.Socket, number>();
  /** Each accepted connection's source (its PROXY header's client, else the peer). */
  private readonly sources = new Map<net.Socket, string | undefined>();
  /** Every connection from the server's 'connection' event until it closes (raw sockets: a TLS one's too). */
  private readonly taken = new Set<net.Socket>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: net.Server,
    private readonly text: string,
    private readonly index: number,
    private readonly intake: Intake,
  ) {
    this.apply(intake.limits());
    server.on('connection', (socket: net.Socket) => {
      this.taken.add(socket);
      socket.once('close', () => this.taken.delete(socket));
    });
    server.on('drop', (data?: { remoteAddress?: string }) => {
      intake.counters.refused('max_connections');
      intake.log.log(
        'warn',
        `max-connections:${index}`,
        `${text}: closed a connection from ${data?.remoteAddress ?? 'an unknown source'}: --max-connections ${server.maxConnections} are open`,
      );
    });
    this.schedule();
  }

  /** New limits (a reload): the connection cap applies to new connections, the timeout to every one. */
  apply(limits: InputLimits): void {
    this.server.maxConnections = limits.maxConnections;
  }

  opened(socket: net.Socket, source: string | undefined): void {
    this.lastMessageMs.set(socket, performance.now());
    this.sources.set(socket, source);
  }

  /** `socket` completed a message. */
  completed(socket: net.Socket): void {
    this.lastMessageMs.set(socket, performance.now());
  }

  closed(socket: net.Socket): void {
    this.lastMessageMs.delete(socket);
    this.sources.delete(socket);
  }

  /** Closes the open connections whose source the allow-list in force refuses, each counted as its refusal. */
  closeRefused(): void {
    for (const [socket, source] of this.sources) {
      if (admits(this.intake, source)) continue;
      this.sources.delete(socket);
      this.lastMessageMs.delete(socket);
      socket.destroy();
    }
  }

  /** Destroys every connection and stops looking for idle ones. */
  closeAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const socket of this.lastMessageMs.keys()) socket.destroy();
    for (const socket of this.taken) socket.destroy();
  }

  private schedule(): void {
    const idleMs = this.intake.limits().idleTimeoutMs;
    const every = idleMs === 0 ? SWEEP_MAX_MS : Math.min(SWEEP_MAX_MS, Math.max(SWEEP_MIN_MS, idleMs / 4));
    this.timer = setTimeout(() => {
      this.sweep();
      this.schedule();
    }, every);
    this.timer.unref();
  }

  private sweep(): void {
    const idleMs = this.intake.limits().idleTimeoutMs;
    if (idleMs === 0) return;
    const now = performance.now();
    for (const [socket, last] of this.lastMessageMs) {
      if (now - last < idleMs) continue;
      this.lastMessageMs.delete(socket);
      this.intake.counters.refused('idle_timeout');
      this.intake.log.log(
        'info',
        `idle-timeout:${this.index}`,
        `${this.text}: closed the input from ${socket.remoteAddress}: no whole message for ${idleMs} ms (--idle-timeout)`,
      );
      socket.destroy();
    }
  }
}
