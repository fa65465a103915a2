/**
 * tls@ destinations when connections are lost, through the real relay and real Node TLS servers:
 * a server that drops its connection mid-stream, one that stops reading (the relay cuts it and
 * resends what was unconfirmed), and one that is down while data is spilled, then drained by a
 * graceful stop. Payloads are sequence numbers, so order, gaps and duplicates are checked exactly.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { once } from 'node:events';
import { hostPortOf, startRelay } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendLeavingWindowInFlight, sendWindowed } from '../helpers/udp-sender.js';
import { freePort, numbered, numberOf, sequence } from '../helpers/numbered.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { testPkiPerFile } from '../helpers/certs.js';
import { metricsBase, stats } from '../helpers/relay-stats.js';
import { createFramedServer, type FramedServerTls } from '../../src/framing/framed-server.js';
import { total } from '../../src/metrics/rates.js';

const pki = testPkiPerFile();

const serverTls = (): FramedServerTls => ({ cert: pki().server.cert, key: pki().server.key });

/** Every sequence number 0..count-1, in order. */
const upTo = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

interface SinkConnection {
  socket: net.Socket;
  ids: number[];
  index: number;
  ended: boolean;
}

/**
 * A TLS sink that keeps each connection's sequence numbers apart. `accepted` may act on a new
 * connection (pause it), `received` on one that just got messages (drop it).
 */
async function perConnectionSink(hooks: { accepted?(c: SinkConnection): void; received?(c: SinkConnection): void }): Promise<{
  port: number;
  connections: SinkConnection[];
  errors: string[];
  delivered(): Set<number>;
  close(): Promise<void>;
}> {
  const connections: SinkConnection[] = [];
  const errors: string[] = [];
  const server = createFramedServer({
    framing: 'len32le',
    maxMessageBytes: 1 << 20,
    tls: serverTls(),
    accept: (socket) => {
      const connection: SinkConnection = { socket, ids: [], index: connections.length, ended: false };
      connections.push(connection);
      hooks.accepted?.(connection);
      return {
        messages: (payloads) => {
          connection.ids.push(...payloads.map(numberOf));
          hooks.received?.(connection);
        },
        garbage: (error) => void errors.push(`connection ${connection.index}: ${error.message}`),
        closed: () => {
          connection.ended = true;
        },
      };
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    errors,
    delivered: () => new Set(connections.flatMap((c) => c.ids)),
    close: async () => {
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Fails unless every connection carried strictly increasing ids (arrival order, no duplicate within one). */
function assertOrderPerConnection(connections: SinkConnection[]): void {
  for (const c of connections)
    for (let i = 1; i < c.ids.length; i++) if (c.ids[i]! <= c.ids[i - 1]!) assert.fail(`connection ${c.index}: ${c.ids[i - 1]} then ${c.ids[i]}`);
}

/** Polls `done` every 10 ms until it holds; fails at `deadline` saying `what`. */
async function until(done: () => boolean, deadline: number, what: () => string): Promise<void> {
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The server destroys its first connection mid-stream. What its kernel had taken and it had not
 * read is lost, as over plain TCP (the relay counted it sent: the kernel took it): at most the
 * messages in flight then, which the sender's window bounds. Everything else arrives, whole, in
 * order on each connection; what the relay had not confirmed is resent on the next connection.
 */
test('tls: the server destroys its connection mid-stream: the stream resumes on the next connection, only what was in flight can be lost', async () => {
  const window = 200;
  const sink = await perConnectionSink({
    received: (c) => {
      if (c.index === 0 && c.ids.length >= 1500 && !c.socket.destroyed) c.socket.destroy();
    },
  });
  const { relay, listeners } = await startRelay([
    'udp@127.0.0.1:0',
    '--reconnect-min',
    '10ms',
    '--reconnect-max',
    '50ms',
    '--tls-ca',
    pki().ca.certFile,
    `tls@127.0.0.1:${sink.port}`,
  ]);
  try {
    await relay.waitForStderr(/connected/);
    const count = 5000;
    const deadline = Date.now() + 30_000;
    const delivered = (n: number): Promise<void> =>
      until(
        () => sink.delivered().size >= n,
        deadline,
        () => `${sink.delivered().size} of ${n} delivered`,
      );
    // Up to a window is lost with the first connection: not all `count` can be waited for.
    await sendLeavingWindowInFlight(hostPortOf(listeners[0]!), count, (i) => numbered(i, 200), delivered, window);
    // The last message was sent after the reconnect: it must arrive.
    await until(
      () => sink.delivered().has(count - 1),
      deadline,
      () => `message ${count - 1} not delivered`,
    );
    assert.ok(sink.connections.length >= 2, 'the relay reconnected');
    assert.deepEqual(sink.errors, []);
    assertOrderPerConnection(sink.connections);
    const lastRead = sink.connections[0]!.ids.at(-1)!;
    const got = sink.delivered();
    const missing = upTo(count).filter((id) => !got.has(id));
    console.log(`tls destroy mid-stream: ${missing.length} of ${count} lost, all in flight after ${lastRead}; ${sink.connections.length} connections`);
    for (const id of missing)
      assert.ok(id > lastRead && id <= lastRead + window, `message ${id} lost, not in flight when the server dropped the connection after ${lastRead}`);
  } finally {
    await relay.stop('SIGKILL');
    await sink.close();
  }
});

/**
 * Resend over TLS: the server stops reading its first connection; the relay cuts it after
 * --stall-timeout with writes still unconfirmed, reconnects and sends them again first; then the
 * server reads the old connection to its end. Every message the relay received arrives at least
 * once (none was dropped), in order on each connection.
 */
test('tls: a server that stops reading is cut after --stall-timeout and its unconfirmed writes are resent: every message arrives at least once', async () => {
  const sink = await perConnectionSink({ accepted: (c) => void (c.index === 0 && c.socket.pause()) });
  const { relay, listeners } = await startRelay([
    'udp@127.0.0.1:0',
    '--stall-timeout',
    '1s',
    '--reconnect-min',
    '20ms',
    '--reconnect-max',
    '100ms',
    '--metrics',
    '127.0.0.1:0',
    '--tls-ca',
    pki().ca.certFile,
    `tls@127.0.0.1:${sink.port}`,
  ]);
  try {
    const base = await metricsBase(relay);
    await relay.waitForStderr(/connected/);
    // ~24 MB: more than the loopback socket buffers hold, so writes wait unconfirmed behind them.
    const count = 24_000;
    const started = Date.now();
    await sendWindowed(
      hostPortOf(listeners[0]!),
      count,
      (i) => numbered(i),
      async (n) => {
        const due = started + n / 8; // 8000 a second: paced, so the relay's own socket does not overflow
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      },
      64,
    );
    const deadline = Date.now() + 30_000;
    await until(
      () => sink.connections.length >= 2,
      deadline,
      () => 'the relay to cut the stalled connection and reconnect',
    );
    sink.connections[0]!.socket.resume();
    await until(
      () => sink.connections[0]!.ended,
      deadline,
      () => 'the first connection to end',
    );
    let s = await stats(base);
    while (s.destinations[0]!.lagMessages > 0 || sink.delivered().size < s.listeners[0]!.receivedMessages) {
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
      s = await stats(base);
    }
    const d = s.destinations[0]!;
    const received = s.listeners[0]!.receivedMessages;
    console.log(
      `tls stall: ${sink.connections.length} connections, received ${received}, delivered ${sink.delivered().size}, stalls ${d.stalls}, resent ${d.resentMessages}`,
    );
    assert.ok(d.stalls >= 1, 'the relay cut the stalled connection');
    assert.ok(d.resentMessages > 0, 'unconfirmed writes were resent');
    assert.equal(total(d.droppedMessages), 0);
    assert.equal(sink.delivered().size, received, 'every message the relay received arrived');
    assert.deepEqual(sink.errors, []);
    assertOrderPerConnection(sink.connections);
  } finally {
    await relay.stop('SIGKILL');
    await sink.close();
  }
});

/**
 * Spill and drain over TLS: the server is down while ~6 rings of data arrive (spilled to disk),
 * then comes up; SIGTERM makes the relay deliver the rest, disk first, then the ring, before it
 * exits 0. Everything the relay received arrives exactly once, in order.
 */
test('tls: spilled while the server is down, replayed over TLS when it is up, the rest delivered by a graceful stop', async () => {
  await withTempDir('relay-tls-spill-', async (dir) => {
    const port = await freePort();
    const { relay, listeners } = await startRelay([
      'udp@127.0.0.1:0',
      '--buffer',
      '4MiB',
      '--max-message',
      '2048',
      '--reconnect-min',
      '20ms',
      '--reconnect-max',
      '200ms',
      '--drain-timeout',
      '30s',
      '--spill-dir',
      dir,
      '--metrics',
      '127.0.0.1:0',
      '--tls-ca',
      pki().ca.certFile,
      `tls@127.0.0.1:${port}`,
    ]);
    let sink: TestSink | undefined;
    try {
      const count = 24_000;
      const started = Date.now();
      // Nobody to window on while the server is down: paced at 10 000 a second instead.
      await sendWindowed(
        hostPortOf(listeners[0]!),
        count,
        (i) => numbered(i, 1000),
        async (n) => {
          const due = started + n / 10;
          if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        },
        64,
      );
      sink = await TestSink.start('len32le', '127.0.0.1', port, serverTls());
      await sink.waitFor(1, 30_000);
      assert.ok((await stats(await metricsBase(relay))).destinations[0]!.spilledMessages > 0, 'the relay spilled');
      const exit = await relay.stop('SIGTERM', 60_000);
      assert.equal(exit.code, 0, exit.stderr);
      const received = Number(/stopped: received (\d+) message/.exec(exit.stderr)?.[1]);
      await sink.waitUntilClosed();
      const got = sequence(sink);
      assert.equal(got.length, received, 'delivered = received');
      for (let i = 1; i < got.length; i++) if (got[i]! <= got[i - 1]!) assert.fail(`out of order or twice at ${i}: ${got[i - 1]} then ${got[i]}`);
      assert.ok(received >= count * 0.9, `received ${received} of ${count}`);
      assert.equal(sink.tornBytes, 0);
    } finally {
      await relay.stop('SIGKILL');
      await sink?.close();
    }
  });
});
