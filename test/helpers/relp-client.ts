/**
 * A bare RELP client for tests, on the relay's own codec (src/relp/frame.ts): the test writes each
 * frame itself (encodeFrame) and waits for each answer with a deadline, so it can also break the
 * protocol on purpose (a TXNR gap, garbage).
 */
import { once } from 'node:events';
import net from 'node:net';
import { encodeFrame, FrameParser, type RelpFrame } from '../../src/relp/frame.js';

/** The offers of a client `open` that asks for the syslog command. */
export const CLIENT_OPEN_OFFERS = 'relp_version=0\nrelp_software=relay-test\ncommands=syslog';

export class RelpTestClient {
  private readonly parser = new FrameParser(1024 * 1024);
  private readonly frames: RelpFrame[] = [];
  private waiters: (() => void)[] = [];
  private ended = false;
  private failure: Error | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.parser.push(chunk);
      try {
        for (let f = this.parser.next(); f !== undefined; f = this.parser.next()) this.frames.push(f);
      } catch (error) {
        this.failure = error as Error;
      }
      this.notify();
    });
    socket.on('error', (error) => {
      this.failure ??= error;
    });
    socket.on('close', () => {
      this.ended = true;
      this.notify();
    });
  }

  /** Connects to 127.0.0.1:port (or `host`). */
  static async connect(port: number, host = '127.0.0.1'): Promise<RelpTestClient> {
    const socket = net.connect(port, host);
    await once(socket, 'connect');
    return new RelpTestClient(socket);
  }

  /** Writes one frame. */
  send(txnr: number, command: string, data?: Uint8Array | string): void {
    this.socket.write(encodeFrame(txnr, command, typeof data === 'string' ? Buffer.from(data, 'latin1') : data));
  }

  /** Writes raw bytes (to break the protocol). */
  sendRaw(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** The next frame from the server; rejects if the connection closes first, or at the deadline. */
  async next(timeoutMs = 10_000): Promise<RelpFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames.shift();
      if (frame) return frame;
      if (this.failure) throw this.failure;
      if (this.ended) throw new Error('the server closed the connection before the next frame');
      if (Date.now() > deadline) throw new Error(`no RELP frame within ${timeoutMs} ms`);
      await this.wake(deadline);
    }
  }

  /** Resolves once the server closed the connection and every frame it sent was taken; rejects at the deadline or if frames are left. */
  async closed(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error(`the server did not close the connection within ${timeoutMs} ms`);
      await this.wake(deadline);
    }
    if (this.frames.length > 0) throw new Error(`frames left unread at close: ${this.frames.map((f) => `${f.txnr} ${f.command}`).join(', ')}`);
  }

  /** Closes the socket (idempotent). */
  destroy(): void {
    this.socket.destroy();
  }

  private wake(deadline: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
