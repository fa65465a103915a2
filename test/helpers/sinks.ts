/** TCP and TLS sinks for end-to-end tests: real listeners that decode a framing and keep every message. */
import type net from 'node:net';
import { once } from 'node:events';
import type { FramingName } from '../../src/framing/index.js';
import type { RelayProcess } from './relay-process.js';
import { createFramedServer, type FramedConnection, type FramedServerTls } from '../../src/framing/framed-server.js';

/** One TCP (or TLS) destination that records the messages of every connection, in arrival order. */
export class TestSink {
  readonly messages: Buffer[] = [];
  /** Bytes of an incomplete frame left when a connection closed (a torn frame). */
  tornBytes = 0;
  /** Connections accepted (for TLS: whose handshake succeeded). */
  connections = 0;
  readonly errors: string[] = [];
  /** TLS: the error code of each handshake that failed (ECONNRESET when the client gave up on the server's certificate). */
  readonly handshakeFailures: string[] = [];
  private readonly sockets = new Set<net.Socket>();
  private waiters: (() => void)[] = [];

  private constructor(
    readonly server: net.Server,
    readonly framing: FramingName,
    readonly tls: FramedServerTls | undefined,
  ) {}

  /** Listens on `port` of `host` (0: an ephemeral one); with `tls`, a TLS server. */
  static async start(framing: FramingName = 'len32le', host = '127.0.0.1', port = 0, tls?: FramedServerTls): Promise<TestSink> {
    let sink: TestSink | undefined;
    const server = createFramedServer({ framing, maxMessageBytes: 16 * 1024 * 1024, accept: (socket) => sink!.serve(socket), tls });
    sink = new TestSink(server, framing, tls);
    server.on('tlsClientError', (error: NodeJS.ErrnoException) => {
      sink!.handshakeFailures.push(error.code ?? error.message);
      sink!.wake();
    });
    server.listen(port, host);
    await once(server, 'listening');
    return sink;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `tcp@HOST:PORT` (`tls@…` for a TLS sink) of this sink, with `?framing=` when asked. */
  address(withFraming = false): string {
    const { address, port } = this.server.address() as net.AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    return `${this.tls ? 'tls' : 'tcp'}@${host}:${port}${withFraming ? `?framing=${this.framing}` : ''}`;
  }

  /** Resolves once `count` messages have arrived; rejects at the deadline saying how many did. */
  waitFor(count: number, timeoutMs = 20_000): Promise<void> {
    return this.waitUntil(() => this.messages.length >= count, `${count} messages`, timeoutMs);
  }

  /**
   * Resolves once every connection it accepted has closed: all the peer sent is in `messages`,
   * a torn last frame in `tornBytes`. After a relay exits, its last bytes may still be unread.
   */
  waitUntilClosed(timeoutMs = 20_000): Promise<void> {
    return this.waitUntil(() => this.sockets.size === 0, 'close of every connection', timeoutMs);
  }

  /**
   * Resolves once `done()` holds, looking again at every message, connection or failed handshake;
   * rejects at the deadline naming `what` it waited for and what the sink has.
   */
  async waitUntil(done: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) {
        throw new Error(
          `sink ${this.address()}: no ${what} within ${timeoutMs} ms (${this.messages.length} messages, ${this.connections} connections, handshake failures: ${this.handshakeFailures.join(' ') || 'none'})`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Resets every open connection (RST, not FIN); the listener stays up for the reconnect. A TLS
   * socket cannot be reset from JavaScript: it is destroyed (RST only if unread bytes are left).
   */
  resetConnections(): void {
    for (const s of this.sockets) {
      if (this.tls) s.destroy();
      else s.resetAndDestroy();
    }
  }

  /** Stops reading every connection it has (the kernel's buffers fill, then the sender's writes wait). */
  pauseReading(): void {
    for (const s of this.sockets) s.pause();
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Wakes everything waiting in waitFor() (or waitUntil()) to look again. */
  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private serve(socket: net.Socket): FramedConnection {
    this.connections++;
    this.sockets.add(socket);
    const wake = (): void => this.wake();
    wake();
    return {
      messages: (payloads) => {
        this.messages.push(...payloads);
        wake();
      },
      garbage: (error) => {
        this.errors.push(error.message);
        wake();
      },
      closed: (tornBytes) => {
        this.tornBytes += tornBytes;
        this.sockets.delete(socket);
        wake();
      },
    };
  }
}

/** Kills `relay` (if started) and closes every sink: the end of a test with both. */
export async function stopRelayAndSinks(relay: RelayProcess | undefined, sinks: TestSink[]): Promise<void> {
  await relay?.stop('SIGKILL');
  for (const s of sinks) await s.close();
}
