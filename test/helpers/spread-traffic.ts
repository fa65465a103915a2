/**
 * Traffic from many senders at once, for the scale-out tests (several relays on one port, or
 * behind one spreader), and the check of where it landed. Each UDP sender is a socket of its own
 * (its own source port: the 4-tuple a kernel or a spreader hashes), sending numbered lines
 * `PREFIX SENDER:I` round by round, paced by a window over what every sink together has
 * delivered. The check: every line arrived exactly once over all sinks, and each sender's lines
 * arrived in order on every sink that got any.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';

/** Line `i` of `sender`, as `prefix` traffic. */
export function spreadLine(prefix: string, sender: number, i: number): Buffer {
  return Buffer.from(`${prefix} ${sender}:${i}`);
}

/** Messages of all `sinks` together. */
export function delivered(sinks: readonly { messages: Buffer[] }[]): number {
  return sinks.reduce((n, s) => n + s.messages.length, 0);
}

/** Resolves once `sinks` together hold `count` messages (looked at every 2 ms); rejects at the deadline saying how many they hold. */
export async function waitDelivered(sinks: readonly { messages: Buffer[] }[], count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (delivered(sinks) < count) {
    if (Date.now() > deadline) throw new Error(`sinks hold ${delivered(sinks)} of ${count} messages after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** `count` UDP sockets bound to `from`, each on its own ephemeral port. */
export class UdpSenders {
  private constructor(private readonly sockets: dgram.Socket[]) {}

  static async open(count: number, from = '127.0.0.1'): Promise<UdpSenders> {
    const sockets: dgram.Socket[] = [];
    for (let i = 0; i < count; i++) {
      const socket = dgram.createSocket('udp4');
      sockets.push(socket);
      socket.bind(0, from);
      await once(socket, 'listening');
    }
    return new UdpSenders(sockets);
  }

  get count(): number {
    return this.sockets.length;
  }

  /** Each sender's source port. */
  get ports(): number[] {
    return this.sockets.map((s) => s.address().port);
  }

  /**
   * Sends rounds while `more(round)` holds (asked before each round): in round r, line r of every
   * sender. Before a round, waits until at most `window` lines are undelivered (`waitFor(n)`:
   * resolves once n have been delivered, bounded). Resolves with the rounds sent.
   */
  async sendRounds(
    target: { host: string; port: number },
    prefix: string,
    more: (round: number) => boolean,
    waitFor: (count: number) => Promise<void>,
    window = 96,
  ): Promise<number> {
    let round = 0;
    for (; more(round); round++) {
      const sent = round * this.sockets.length;
      if (sent > window) await waitFor(sent - window);
      await Promise.all(
        this.sockets.map(
          (socket, sender) =>
            new Promise<void>((resolve, reject) =>
              socket.send(spreadLine(prefix, sender, round), target.port, target.host, (error) => (error ? reject(error) : resolve())),
            ),
        ),
      );
    }
    return round;
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }
}

/**
 * Checks what `sinks` got of `prefix` traffic from `senders` senders × `rounds` lines: every line
 * exactly once over all sinks, and on each sink each sender's lines in the order sent. Returns,
 * per sender, the numbers of its lines each sink got (`[sender][sink]`), for the placement checks.
 */
export function checkEveryLineOnce(sinks: readonly { messages: Buffer[] }[], prefix: string, senders: number, rounds: number): number[][][] {
  const got = Array.from({ length: senders }, () => sinks.map((): number[] => []));
  for (const [k, sink] of sinks.entries()) {
    for (const message of sink.messages) {
      const text = message.toString();
      if (!text.startsWith(`${prefix} `)) continue;
      const match = /^(\d+):(\d+)$/.exec(text.slice(prefix.length + 1));
      assert.ok(match, `sink ${k}: not a ${prefix} line: ${JSON.stringify(text)}`);
      const sender = Number(match[1]);
      assert.ok(sender < senders, `sink ${k}: sender ${sender} of ${senders}`);
      got[sender]![k]!.push(Number(match[2]));
    }
  }
  for (const [sender, perSink] of got.entries()) {
    for (const [k, numbers] of perSink.entries()) {
      const outOfOrder = numbers.findIndex((n, i) => i > 0 && n <= numbers[i - 1]!);
      assert.equal(outOfOrder, -1, `sender ${sender} on sink ${k}: line ${numbers[outOfOrder]} after ${numbers[outOfOrder - 1]}`);
    }
    const all = perSink.flat().sort((a, b) => a - b);
    const missing = rounds - new Set(all).size;
    assert.equal(
      all.length,
      rounds,
      `sender ${sender}: ${all.length} lines arrived of ${rounds} sent (${missing} missing, ${all.length - rounds + missing} duplicated)`,
    );
    assert.ok(
      all.every((n, i) => n === i),
      `sender ${sender}: lines 0..${rounds - 1} expected once each`,
    );
  }
  return got;
}
