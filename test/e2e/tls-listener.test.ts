/**
 * tls@ listeners through bin/relay (README "TLS input"): RFC 5425 octet-counted syslog over
 * mutual TLS arrives byte-exact; a client without a certificate, with another CA's, or speaking
 * plain TCP is refused and counted (`tls_handshake`); SIGHUP reads the certificate again; a tls@
 * listener without a certificate is one line and exit 2. Throwaway certificates (./helpers/certs.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { issueCert } from '../../src/bench/throwaway-certs.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { testPkiPerFile } from '../helpers/certs.js';
import { noUdpSecondPass, startRelay, type RelayProcess, portOf } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { relayToml } from '../helpers/reload-config.js';
import { freePort } from '../helpers/numbered.js';

const pki = testPkiPerFile();

/** Connects over TLS with `options`; resolves with the socket once its handshake is done, or the error. */
async function connectTls(port: number, options: tls.ConnectionOptions): Promise<tls.TLSSocket | Error> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: pki().ca.cert, servername: 'localhost', ...options });
  try {
    await once(socket, 'secureConnect');
    // What goes wrong later (a refusal's alert, a reset at the end) shows as the close: ./refused().
    socket.on('error', () => {});
    return socket;
  } catch (error) {
    socket.destroy();
    return error as Error;
  }
}

/**
 * True when the server refuses a client with `options`: the connection fails, or (TLS 1.3, where
 * the server checks the client's certificate after the client's handshake is done) closes with
 * an alert before it could be used. A client the server keeps stays open: false at the deadline
 * (`keptAfterMs`; the alert comes within milliseconds on loopback, the default leaves room for a busy machine).
 */
async function refused(port: number, options: tls.ConnectionOptions, keptAfterMs = 5000): Promise<boolean> {
  const socket = await connectTls(port, options);
  if (socket instanceof Error) return true;
  const deadline = new Promise<false>((resolve) => setTimeout(() => resolve(false), keptAfterMs));
  const closed = new Promise<true>((resolve) => socket.once('close', () => resolve(true)));
  const verdict = await Promise.race([closed, deadline]);
  socket.destroy();
  return verdict;
}

test('tls@ listener: mutual TLS delivers octet-counted messages byte-exact; no certificate, another CA’s and plain TCP are refused and counted', async (t) => {
  if (noUdpSecondPass(t)) return;
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  const rogue = await issueCert(pki().dir, pki().untrustedCa, 'rogue-client', 'client');
  try {
    const started = await startRelay([
      'tls@127.0.0.1:0?framing=octet',
      `${sink.address()}?framing=lf`,
      '--listen-tls-cert',
      pki().server.certFile,
      '--listen-tls-key',
      pki().server.keyFile,
      '--listen-tls-ca',
      pki().ca.certFile,
      '--metrics',
      '127.0.0.1:0',
      '--stats-interval',
      '0',
    ]);
    relay = started.relay;
    assert.match(started.listeners[0]!, /^tls@127\.0\.0\.1:\d+$/);
    const port = portOf(started.listeners[0]!);
    const base = await metricsBase(relay);

    const good = await connectTls(port, { cert: pki().client.cert, key: pki().client.key });
    assert.ok(!(good instanceof Error), `the client with a certificate of the CA was refused: ${String(good)}`);
    const messages = Array.from({ length: 500 }, (_, i) => `<13>1 2026-12-07T10:00:00Z host app - - - message ${i} with bytes \u00e9\u00ff`);
    good.end(Buffer.concat(messages.map((m) => Buffer.from(`${Buffer.byteLength(m)} ${m}`))));
    await sink.waitFor(messages.length);
    assert.deepEqual(
      sink.messages.map((m) => m.toString()),
      messages,
    );

    assert.ok(await refused(port, {}), 'a client without a certificate was served');
    assert.ok(await refused(port, { cert: rogue.cert, key: rogue.key }), 'a client with another CA’s certificate was served');
    const plain = net.connect(port, '127.0.0.1');
    plain.on('error', () => {});
    plain.end('12 not tls at all\n');
    await once(plain, 'close');

    await eventually(async () => {
      const l = (await stats(base)).listeners[0]!;
      return l.closedConnections.tls_handshake === 3 || `tls_handshake refusals ${l.closedConnections.tls_handshake} of 3`;
    });
    const l = (await stats(base)).listeners[0]!;
    assert.equal(l.connectionsAccepted, 1);
    assert.equal(l.receivedMessages, messages.length);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^relay_input_connections_closed_total\{listener="tls@127\.0\.0\.1:\d+",reason="tls_handshake"\} 3$/m);
    assert.match(relay.stderr, /refused a TLS connection from 127\.0\.0\.1/);
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('tls@ listener: SIGHUP reads the certificate again; new connections get the new one', async (t) => {
  if (noUdpSecondPass(t)) return;
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  const certFile = path.join(pki().dir, 'listener-now.pem');
  const keyFile = path.join(pki().dir, 'listener-now.key');
  await copyFile(pki().server.certFile, certFile);
  await copyFile(pki().server.keyFile, keyFile);
  try {
    const started = await startRelay([
      'tls@127.0.0.1:0?framing=lf',
      `${sink.address()}?framing=lf`,
      '--listen-tls-cert',
      certFile,
      '--listen-tls-key',
      keyFile,
      '--metrics',
      '127.0.0.1:0',
      '--stats-interval',
      '0',
    ]);
    relay = started.relay;
    const port = portOf(started.listeners[0]!);
    const base = await metricsBase(relay);
    const fingerprint = async (): Promise<string> => {
      const socket = await connectTls(port, {});
      assert.ok(!(socket instanceof Error), String(socket));
      const seen = socket.getPeerCertificate().fingerprint256;
      socket.end('one line\n');
      return seen;
    };
    const before = await fingerprint();
    assert.equal(before, new (await import('node:crypto')).X509Certificate(pki().server.cert).fingerprint256);
    await copyFile(pki().localhostOnly.certFile, certFile);
    await copyFile(pki().localhostOnly.keyFile, keyFile);
    relay.child.kill('SIGHUP');
    await eventually(async () => (await stats(base)).reloads.ok === 1 || 'no reload yet');
    assert.equal(await fingerprint(), new (await import('node:crypto')).X509Certificate(pki().localhostOnly.cert).fingerprint256);
    await sink.waitFor(2);
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('tls@ listener: without --listen-tls-cert it is one line and exit 2', async (t) => {
  if (noUdpSecondPass(t)) return;
  await assert.rejects(
    startRelay(['tls@127.0.0.1:0', 'tcp@127.0.0.1:9']),
    /^relay: listener tls@127\.0\.0\.1:0: give --listen-tls-cert and --listen-tls-key \(the certificate it presents\)$/m,
  );
});

test('tls@ listener: 60 seeded connections of random bytes and a stalled handshake are each closed and counted; a good sender streams on, in order, through 3 certificate reloads', async (t) => {
  if (noUdpSecondPass(t)) return;
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  try {
    const started = await startRelay([
      'tls@127.0.0.1:0?framing=octet',
      `${sink.address()}?framing=lf`,
      '--listen-tls-cert',
      pki().server.certFile,
      '--listen-tls-key',
      pki().server.keyFile,
      '--metrics',
      '127.0.0.1:0',
      '--stats-interval',
      '0',
    ]);
    relay = started.relay;
    const port = portOf(started.listeners[0]!);
    const base = await metricsBase(relay);
    const good = await connectTls(port, {});
    assert.ok(!(good instanceof Error), String(good));
    const N = 20_000;
    const frame = (i: number): Buffer => {
      const m = `message ${i}`;
      return Buffer.from(`${m.length} ${m}`);
    };
    let sent = 0;
    const pump = async (upTo: number): Promise<void> => {
      const chunk: Buffer[] = [];
      for (; sent < upTo; sent++) chunk.push(frame(sent));
      if (!good.write(Buffer.concat(chunk))) await once(good, 'drain');
    };
    // A handshake begun and never finished (a record announcing 4 KiB, 3 bytes of it sent): closed
    // after the handshake timeout (10 s), not held.
    const stalled = net.connect(port, '127.0.0.1');
    stalled.on('error', () => {});
    stalled.resume();
    stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x10, 0x00, 1, 2, 3]));
    const stalledClosed = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
    const random = mulberry32(26);
    for (let round = 0; round < 3; round++) {
      await pump(((round + 1) * N) / 4);
      // Garbage: 20 connections of random bytes (sometimes a TLS record header first), each closed by the server.
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const bytes = Uint8Array.from({ length: randomInt(random, 1, 600) }, () => randomInt(random, 0, 255));
          if (random() < 0.5) bytes.set([0x16, 0x03, 0x01].slice(0, bytes.length));
          const s = net.connect(port, '127.0.0.1');
          s.on('error', () => {});
          s.resume(); // else its 'end' (and 'close') never comes
          s.end(bytes);
          await new Promise<void>((resolve) => s.once('close', () => resolve()));
        }),
      );
      relay.child.kill('SIGHUP');
      await eventually(async () => (await stats(base)).reloads.ok === round + 1 || `reload ${round + 1} not done`);
    }
    await pump(N);
    good.end();
    await sink.waitFor(N, 30_000);
    assert.deepEqual(
      sink.messages.map((m) => m.toString()),
      Array.from({ length: N }, (_, i) => `message ${i}`),
    );
    const stalledVerdict = await Promise.race([stalledClosed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('open'), 20_000))]);
    assert.equal(stalledVerdict, 'closed', 'the stalled handshake was still open 20 s later');
    await eventually(async () => {
      const closed = (await stats(base)).listeners[0]!.closedConnections.tls_handshake;
      return closed === 61 || `${closed} of 61 garbage and stalled connections counted`;
    });
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('tls@ listener: --listen-tls-ca removed by SIGHUP re-opens the listener without client certificates; added back, it asks again', async (t) => {
  if (noUdpSecondPass(t)) return;
  await withTempDir('relay-tls-ca-reload-', async (dir) => {
    const sink = await TestSink.start('lf');
    const file = path.join(dir, 'relay.toml');
    const port = await freePort();
    const toml = (withCa: boolean): string =>
      relayToml(
        [`tls@127.0.0.1:${port}?framing=lf`],
        [`${sink.address()}?framing=lf`],
        [
          `listen-tls-cert = ${JSON.stringify(pki().server.certFile)}`,
          `listen-tls-key = ${JSON.stringify(pki().server.keyFile)}`,
          ...(withCa ? [`listen-tls-ca = ${JSON.stringify(pki().ca.certFile)}`] : []),
          '',
        ].join('\n'),
      );
    await writeFile(file, toml(true));
    const { relay } = await startRelay(['--config', file]);
    try {
      const withClientCert = { cert: pki().client.cert, key: pki().client.key };
      assert.equal(await refused(port, {}), true, 'no client certificate, mutual TLS on');
      assert.equal(await refused(port, withClientCert, 1500), false, 'a good client certificate, mutual TLS on');
      const base = await metricsBase(relay);
      for (const [reload, withCa] of [false, true].entries()) {
        await writeFile(file, toml(withCa));
        relay.child.kill('SIGHUP');
        // Done when counted: the re-opened listener is bound by then (before, the port may be closed a moment).
        await eventually(async () => (await stats(base)).reloads.ok === reload + 1 || `reload ${reload + 1} not done`);
        assert.match(relay.stderr, new RegExp(`listening on tls@127\\.0\\.0\\.1:${port}; closed tls@127\\.0\\.0\\.1:${port}`));
        assert.equal(await refused(port, {}, 1500), withCa, `no client certificate, mutual TLS ${withCa ? 'on' : 'off'}`);
        assert.equal(await refused(port, withClientCert, 1500), false, `a good client certificate, mutual TLS ${withCa ? 'on' : 'off'}`);
      }
    } finally {
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});
