/**
 * tls@ destinations through the real relay and real Node TLS servers on 127.0.0.1, with a
 * throwaway PKI made by openssl: delivery in order over TLS, a server the relay must not trust,
 * mutual TLS, and a connection lost mid-stream. Payloads are sequence numbers, so order, gaps
 * and duplicates are checked exactly. (servername is checked in test/unit/transport.test.ts: the
 * command line has no per-destination name.)
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import { once } from 'node:events';
import { hostPortOf, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { numbered, numberOf, sequence } from '../helpers/numbered.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { createFramedServer, type FramedServerTls } from '../../src/framing/framed-server.js';
import { total } from '../../src/metrics/rates.js';
import type { Snapshot } from '../../src/metrics/snapshot-types.js';

let pki: TestPki;
before(async () => {
  pki = await createTestPki();
});
after(async () => {
  await pki.remove();
});

const serverTls = (): FramedServerTls => ({ cert: pki.server.cert, key: pki.server.key });

/** The relay's metrics base URL (started with --metrics 127.0.0.1:0). */
async function metricsBase(relay: RelayProcess): Promise<string> {
  return (await relay.waitForStderr(/metrics on (http:\/\/\S+)\/metrics/))[1]!;
}

async function stats(base: string): Promise<Snapshot> {
  return (await fetch(`${base}/stats`)).json() as Promise<Snapshot>;
}

/** Polls `check` (bounded) until it returns true; fails with its last complaint. */
async function eventually(check: () => Promise<true | string>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: true | string = 'never checked';
  while (Date.now() < deadline) {
    last = await check();
    if (last === true) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(last);
}

/** Every sequence number 0..count-1, in order. */
const upTo = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

for (const framing of ['len32le', 'octet'] as const) {
  test(`tls: a server signed by --tls-ca gets every message in order, whole (${framing})`, async () => {
    const sink = await TestSink.start(framing, '127.0.0.1', 0, serverTls());
    const { relay, listeners } = await startRelay(['udp@127.0.0.1:0', '--tls-ca', pki.ca.certFile, sink.address(true)]);
    try {
      await relay.waitForStderr(/tls@127\.0\.0\.1:\d+\S*: connected/);
      const count = 3000;
      await sendWindowed(
        hostPortOf(listeners[0]!),
        count,
        (i) => numbered(i, 300),
        (n) => sink.waitFor(n),
        200,
      );
      await sink.waitFor(count);
      assert.deepEqual(sequence(sink), upTo(count));
      for (const m of sink.messages) assert.equal(m.length, 300);
      assert.deepEqual(sink.errors, []);
      assert.equal(sink.connections, 1);
    } finally {
      await relay.stop('SIGKILL');
      await sink.close();
    }
  });
}

test('tls: a server the relay cannot verify gets nothing and is counted down, while a tcp@ destination beside it gets everything', async () => {
  const refused = await TestSink.start('len32le', '127.0.0.1', 0, serverTls());
  const plain = await TestSink.start();
  const { relay, listeners } = await startRelay([
    'udp@127.0.0.1:0',
    '--tls-ca',
    pki.untrustedCa.certFile,
    '--metrics',
    '127.0.0.1:0',
    refused.address(),
    plain.address(),
  ]);
  try {
    const base = await metricsBase(relay);
    const count = 2000;
    await sendWindowed(
      hostPortOf(listeners[0]!),
      count,
      (i) => numbered(i, 100),
      (n) => plain.waitFor(n),
      200,
    );
    await plain.waitFor(count);
    assert.deepEqual(sequence(plain), upTo(count));
    await relay.waitForStderr(/TLS handshake failed: unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\); retrying/);
    const failures = new RegExp(`^relay_tls_handshake_failures_total\\{destination="${refused.address().replace(/\./g, '\\.')}"\\} (\\d+)$`, 'm');
    await eventually(async () => {
      const n = Number(failures.exec(await (await fetch(`${base}/metrics`)).text())?.[1]);
      return n > 0 || `relay_tls_handshake_failures_total ${n}`;
    });
    const s = await stats(base);
    const [tls, tcp] = s.destinations;
    assert.deepEqual([tls!.up, tls!.sentMessages, tls!.lagMessages, tcp!.up, tcp!.sentMessages, tcp!.tlsFailures], [false, 0, count, true, count, 0]);
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(((await health.json()) as { status: string; down: string[] }).down, [refused.address()]);
    assert.equal(refused.messages.length, 0);
    assert.equal(refused.connections, 0, 'no handshake completed');
    assert.ok(refused.handshakeFailures.length > 0, 'the server saw the relay give up on its certificate');
  } finally {
    await relay.stop('SIGKILL');
    await refused.close();
    await plain.close();
  }
});

test('tls: mutual TLS: a server that requires client certificates refuses a relay without one (counted, nothing sent) and takes one with one', async () => {
  const sink = await TestSink.start('len32le', '127.0.0.1', 0, { ...serverTls(), ca: pki.ca.cert, requestCert: true });
  const fast = ['--reconnect-min', '10ms', '--reconnect-max', '50ms'];
  const without = await startRelay(['udp@127.0.0.1:0', '--tls-ca', pki.ca.certFile, '--metrics', '127.0.0.1:0', ...fast, sink.address()]);
  try {
    const base = await metricsBase(without.relay);
    await without.relay.waitForStderr(/TLS handshake failed: tlsv13 alert certificate required \(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\); retrying/);
    const count = 100;
    await sendWindowed(
      hostPortOf(without.listeners[0]!),
      count,
      (i) => numbered(i, 100),
      async () => {},
      count,
    );
    // Wait until the relay has held them through two more refused attempts: TLS 1.3 refuses the
    // client after the relay's side of the handshake; nothing may be written (and counted) then.
    let failuresAtArrival = -1;
    await eventually(async () => {
      const d = (await stats(base)).destinations[0]!;
      if (d.lagMessages === count && failuresAtArrival < 0) failuresAtArrival = d.tlsFailures;
      return (failuresAtArrival >= 0 && d.tlsFailures >= failuresAtArrival + 2) || `lag ${d.lagMessages}, TLS failures ${d.tlsFailures}`;
    });
    const d = (await stats(base)).destinations[0]!;
    assert.deepEqual([d.up, d.sentMessages, d.lagMessages], [false, 0, count]);
    assert.equal(sink.messages.length, 0);
    assert.equal(sink.connections, 0);
  } finally {
    await without.relay.stop('SIGKILL');
  }
  const withCert = await startRelay([
    'udp@127.0.0.1:0',
    '--tls-ca',
    pki.ca.certFile,
    '--tls-cert',
    pki.client.certFile,
    '--tls-key',
    pki.client.keyFile,
    sink.address(),
  ]);
  try {
    await withCert.relay.waitForStderr(/tls@127\.0\.0\.1:\d+: connected/);
    const count = 1000;
    await sendWindowed(
      hostPortOf(withCert.listeners[0]!),
      count,
      (i) => numbered(i, 100),
      (n) => sink.waitFor(n),
      200,
    );
    await sink.waitFor(count);
    assert.deepEqual(sequence(sink), upTo(count));
  } finally {
    await withCert.relay.stop('SIGKILL');
    await sink.close();
  }
});

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
    pki.ca.certFile,
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
    await sendWindowed(hostPortOf(listeners[0]!), count, (i) => numbered(i, 200), delivered, window);
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
    pki.ca.certFile,
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
