/**
 * The open connections of one TCP/TLS listener and what bounds them (README "Limits on input"):
 * when each last completed a message, closing those idle past --idle-timeout (a connection that
 * trickles bytes into a frame that never ends is idle: only whole messages count), and
 * --max-connections through the server's own maxConnections (a connection past it is closed by
 * Node before anything reads it, TLS handshakes included; the server's 'drop' event counts it).
 */
import type net from 'node:net';
import type { InputLimits } from '../thread-protocol.js';
import type { Intake } from './listener.js';

/** How often idle connections are looked for: a quarter of the timeout, within these bounds. */
const SWEEP_MIN_MS = 50;
const SWEEP_MAX_MS = 1000;

/** See the module comment. */
export class InputConnections {
  /** Each open connection and when it last completed a message (or opened). */
  private readonly lastMessageMs = new Map<net.Socket, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: net.Server,
    private readonly text: string,
    private readonly index: number,
    private readonly intake: Intake,
  ) {
    this.apply(intake.limits());
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

  opened(socket: net.Socket): void {
    this.lastMessageMs.set(socket, performance.now());
  }

  /** `socket` completed a message. */
  completed(socket: net.Socket): void {
    this.lastMessageMs.set(socket, performance.now());
  }

  closed(socket: net.Socket): void {
    this.lastMessageMs.delete(socket);
  }

  /** Destroys every connection and stops looking for idle ones. */
  closeAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const socket of this.lastMessageMs.keys()) socket.destroy();
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
