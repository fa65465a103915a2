/**
 * A NOTIFY_SOCKET for tests: a Unix datagram socket bound through the addon's receiver (Node has
 * none), recording each sd_notify message a relay sends, in arrival order, to wait on.
 */
import type { NativeUdp } from '../../src/native/addon.js';
import { NativeUdpReceiver } from '../../src/ingest/native-receiver.js';

/** One notification: its text, its VAR=VALUE fields, and when it arrived (performance.now()). */
export interface Notification {
  text: string;
  fields: Map<string, string>;
  atMs: number;
  /** Its place among every message received. */
  index: number;
}

/** Fields of an sd_notify message: one `NAME=VALUE` per line. */
export function parseNotification(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return fields;
}

export class NotifySocket {
  readonly messages: Notification[] = [];
  private waiters: (() => void)[] = [];
  private readonly receiver: NativeUdpReceiver;

  /** Binds at `path` (absolute). */
  constructor(
    native: NativeUdp,
    readonly path: string,
  ) {
    this.receiver = NativeUdpReceiver.open(native, {
      path,
      recvBufferBytes: 0,
      maxDatagramBytes: 4096,
      onBatch: (count, r) => {
        for (let i = 0; i < count; i++) {
          const text = Buffer.from(r.datagram(i)).toString('utf8');
          this.messages.push({ text, fields: parseNotification(text), atMs: performance.now(), index: this.messages.length });
        }
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w();
      },
    });
  }

  /** The first message from index `from` on that `matches`; rejects at the deadline naming `what` and listing what came. */
  async waitFor(what: string, matches: (n: Notification) => boolean, from = 0, timeoutMs = 10_000): Promise<Notification> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(matches);
      if (found) return found;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; received:\n${this.messages.map((m) => JSON.stringify(m.text)).join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first message from `from` on that sets `name` (to `value`, when given). */
  waitForField(name: string, value?: string, from = 0, timeoutMs = 10_000): Promise<Notification> {
    const what = value === undefined ? `${name}=` : `${name}=${value}`;
    return this.waitFor(what, (n) => n.fields.has(name) && (value === undefined || n.fields.get(name) === value), from, timeoutMs);
  }

  close(): void {
    this.receiver.close();
  }
}
