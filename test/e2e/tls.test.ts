/**
 * tls@ destinations through the real relay and real Node TLS servers on 127.0.0.1, with a
 * throwaway PKI made by openssl: delivery in order over TLS, a server the relay must not trust,
 * and mutual TLS (lost connections, spill and drain: ./tls-faults.test.ts). Payloads are sequence
 * numbers, so order, gaps and duplicates are checked exactly. (servername is checked in
 * test/unit/transport.test.ts: the command line has no per-destination name.)
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { hostPortOf, startRelay } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { numbered, sequence } from '../helpers/numbered.js';
import { testPkiPerFile } from '../helpers/certs.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import type { FramedServerTls } from '../../src/framing/framed-server.js';

const pki = testPkiPerFile();

const serverTls = (): FramedServerTls => ({ cert: pki().server.cert, key: pki().server.key });

/** Every sequence number 0..count-1, in order. */
const upTo = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

for (const framing of ['len32le', 'octet'] as const) {
  test(`tls: a server signed by --tls-ca gets every message in order, whole (${framing})`, async () => {
    const sink = await TestSink.start(framing, '127.0.0.1', 0, serverTls());
    const { relay, listeners } = await startRelay(['udp@127.0.0.1:0', '--tls-ca', pki().ca.certFile, sink.address(true)]);
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
    pki().untrustedCa.certFile,
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
    }, 15_000);
    // The sink can read the last message before the relay's write callback counts it sent.
    await eventually(async () => {
      const sent = (await stats(base)).destinations[1]!.sentMessages;
      return sent === count || `tcp@ destination: sent ${sent} of ${count}`;
    }, 15_000);
    const s = await stats(base);
    const [tls, tcp] = s.destinations;
    assert.deepEqual([tls!.up, tls!.sentMessages, tls!.lagMessages, tcp!.up, tcp!.sentMessages, tcp!.tlsFailures], [false, 0, count, true, count, 0]);
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(((await health.json()) as { status: string; down: string[] }).down, [refused.address()]);
    assert.equal(refused.messages.length, 0);
    assert.equal(refused.connections, 0, 'no handshake completed');
    // The server learns of a failed handshake after the relay does.
    await refused.waitUntil(() => refused.handshakeFailures.length > 0, 'failed handshake (the relay giving up on its certificate)', 15_000);
  } finally {
    await relay.stop('SIGKILL');
    await refused.close();
    await plain.close();
  }
});

test('tls: mutual TLS: a server that requires client certificates refuses a relay without one (counted, nothing sent) and takes one with one', async () => {
  const sink = await TestSink.start('len32le', '127.0.0.1', 0, { ...serverTls(), ca: pki().ca.cert, requestCert: true });
  const fast = ['--reconnect-min', '10ms', '--reconnect-max', '50ms'];
  const without = await startRelay(['udp@127.0.0.1:0', '--tls-ca', pki().ca.certFile, '--metrics', '127.0.0.1:0', ...fast, sink.address()]);
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
    }, 15_000);
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
    pki().ca.certFile,
    '--tls-cert',
    pki().client.certFile,
    '--tls-key',
    pki().client.keyFile,
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
