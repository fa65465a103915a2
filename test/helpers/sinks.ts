/** TCP sinks for end-to-end tests: real listeners that decode a framing and keep every message. */
import type net from 'node:net';
import { once } from 'node:events';
import type { FramingName } from '../../src/framing/index.js';
import { createFramedServer, type FramedConnection } from '../../src/framing/framed-server.js';

/** One TCP destination that records the messages of every connection, in arrival order. */
export class TestSink {
  readonly messages: Buffer[] = [];
  /** Bytes of an incomplete frame left when a connection closed (a torn frame). */
  tornBytes = 0;
  connections = 0;
  readonly errors: string[] = [];
  private readonly sockets = new Set<net.Socket>();
  private waiters: (() => void)[] = [];

  private constructor(
    readonly server: net.Server,
    readonly framing: FramingName,
  ) {}

  /** Listens on `port` of `host` (0: an ephemeral one). */
  static async start(framing: FramingName = 'len32le', host = '127.0.0.1', port = 0): Promise<TestSink> {
    let sink: TestSink | undefined;
    const server = createFramedServer({ framing, maxMessageBytes: 16 * 1024 * 1024, accept: (socket) => sink!.serve(socket) });
    sink = new TestSink(server, framing);
    server.listen(port, host);
    await once(server, 'listening');
    return sink;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `tcp@HOST:PORT` of this sink, with `?framing=` when asked. */
  address(withFraming = false): string {
    const { address, port } = this.server.address() as net.AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    return `tcp@${host}:${port}${withFraming ? `?framing=${this.framing}` : ''}`;
  }

  /** Resolves once `count` messages have arrived; rejects at the deadline saying how many did. */
  async waitFor(count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline) throw new Error(`sink ${this.address()} got ${this.messages.length} of ${count} messages within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resets every open connection (RST, not FIN); the listener stays up for the reconnect. */
  resetConnections(): void {
    for (const s of this.sockets) s.resetAndDestroy();
  }

  /** Closes the listener and every connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): FramedConnection {
    this.connections++;
    this.sockets.add(socket);
    const wake = (): void => {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    };
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
      },
    };
  }
}
