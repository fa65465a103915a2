/**
 * `relay --config relay.toml` and SIGHUP, through the real relay: a reload under steady load
 * adds and removes destinations and a listener while the destinations that stay get every
 * sequence number exactly once, in order; a broken file or a listener that cannot bind changes
 * nothing and is counted as a failed reload.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { copyFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { hostPortOf, startRelay } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { freePort, numbered, sequence } from '../helpers/numbered.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { relayToml, metric, assertRun } from '../helpers/reload-config.js';
import { encodeBatch, framingFor } from '../../src/framing/index.js';
import { createTestPki } from '../helpers/certs.js';

test('reload: under steady load, SIGHUP adds and removes destinations and a listener; the ones that stay miss nothing', async () => {
  await withTempDir('relay-reload-', async (dir) => {
    const stays = await TestSink.start();
    const staysLf = await TestSink.start('lf');
    const removed = await TestSink.start();
    const added = await TestSink.start('octet');
    const tcpPort = await freePort();
    const file = path.join(dir, 'relay.toml');
    await writeFile(file, relayToml(['udp@127.0.0.1:0'], [stays.address(), staysLf.address(true), removed.address()]));
    const { relay, listeners } = await startRelay(['--config', file]);
    try {
      const count = 40_000;
      const reloadAt = 15_000;
      let reloaded: Promise<unknown> | undefined;
      await sendWindowed(
        hostPortOf(listeners[0]!),
        count,
        (i) => {
          if (i === reloadAt) {
            reloaded = (async () => {
              await writeFile(file, relayToml(['udp@127.0.0.1:0', `tcp@127.0.0.1:${tcpPort}`], [stays.address(), staysLf.address(true), added.address(true)]));
              relay.child.kill('SIGHUP');
              await relay.waitForStderr(/reloaded .*relay\.toml: (.*)/);
            })();
          }
          return numbered(i, 200);
        },
        (n) => stays.waitFor(n, 30_000),
        200,
      );
      await reloaded;
      await stays.waitFor(count, 30_000);
      await staysLf.waitFor(count, 30_000);
      assertRun('stayed (len32le)', sequence(stays), 0, count);
      assertRun('stayed (lf)', sequence(staysLf), 0, count);
      assert.equal(stays.connections, 1, 'a destination that stayed kept its connection');
      assert.equal(staysLf.connections, 1);

      // The removed one got a gap-free prefix, the added one a gap-free suffix, ending at the last message.
      await relay.waitForStderr(/removed, nothing left undelivered/);
      await removed.waitUntilClosed(10_000);
      const before = sequence(removed);
      assert.ok(before.length >= reloadAt, `removed: only ${before.length} messages`);
      assertRun('removed', before, 0, before.length);
      await added.waitFor(1, 10_000);
      const after = sequence(added);
      await added.waitFor(count - after[0]!, 10_000);
      assertRun('added', sequence(added), after[0]!, count);
      assert.ok(after[0]! <= count - 1 && after[0]! >= reloadAt, `added: starts at ${after[0]}`);

      const log = relay.stderr;
      assert.match(log, new RegExp(`listening on tcp@127\\.0\\.0\\.1:${tcpPort}`));
      assert.match(log, /added tcp@127\.0\.0\.1:\d+\?framing=octet/);
      assert.match(log, new RegExp(`removing ${removed.address().replace(/\./g, '\\.')}`));
      assert.equal(await metric(relay, /^relay_config_reloads_total\{result="ok"\} (\d+)$/m), 1);
      assert.equal(await metric(relay, /^relay_config_reloads_total\{result="failed"\} (\d+)$/m), 0);

      // The added TCP listener takes framed input, and it reaches the destinations.
      const input = net.connect(tcpPort, '127.0.0.1');
      await once(input, 'connect');
      input.end(encodeBatch(framingFor('len32le'), [numbered(count, 200)]).chunk);
      await stays.waitFor(count + 1, 10_000);
      assertRun('stayed, after TCP input', sequence(stays), 0, count + 1);
    } finally {
      await relay.stop('SIGKILL');
      await Promise.all([stays.close(), staysLf.close(), removed.close(), added.close()]);
    }
  });
});

test('reload: a broken file, or a listener that cannot bind, changes nothing and counts as failed', async () => {
  await withTempDir('relay-reload-', async (dir) => {
    const sink = await TestSink.start();
    const file = path.join(dir, 'relay.toml');
    await writeFile(file, relayToml(['udp@127.0.0.1:0'], [sink.address()]));
    const { relay, listeners } = await startRelay(['--config', file]);
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const target = hostPortOf(listeners[0]!);
      await sendWindowed(
        target,
        100,
        (i) => numbered(i, 100),
        (n) => sink.waitFor(n),
      );

      await writeFile(file, `bufer = "1MiB"\n${relayToml(['udp@127.0.0.1:0'], [sink.address()])}`);
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(/reload failed, still running the previous configuration: .*relay\.toml: unknown key "bufer" \(did you mean "buffer"\?\)/);

      const port = (taken.address() as net.AddressInfo).port;
      await writeFile(file, relayToml(['udp@127.0.0.1:0', `tcp@127.0.0.1:${port}`], [sink.address(), 'tcp@127.0.0.1:1']));
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(/reload failed, still running the previous configuration: cannot listen on tcp@127\.0\.0\.1:\d+: .*EADDRINUSE/);
      assert.doesNotMatch(relay.stderr, /added tcp@127\.0\.0\.1:1/);

      await sendWindowed(
        target,
        100,
        (i) => numbered(100 + i, 100),
        (n) => sink.waitFor(100 + n),
      );
      await sink.waitFor(200);
      assertRun('sink', sequence(sink), 0, 200);
      assert.equal(sink.connections, 1);
      assert.equal(await metric(relay, /^relay_config_reloads_total\{result="failed"\} (\d+)$/m), 2);
      assert.equal(await metric(relay, /^relay_config_reloads_total\{result="ok"\} (\d+)$/m), 0);
    } finally {
      await relay.stop('SIGKILL');
      taken.close();
      await sink.close();
    }
  });
});

test('reload: a setting fixed at start is logged as ignored until restart; the rest applies', async () => {
  await withTempDir('relay-reload-', async (dir) => {
    const sink = await TestSink.start();
    const file = path.join(dir, 'relay.toml');
    await writeFile(file, relayToml(['udp@127.0.0.1:0'], [sink.address()], 'buffer = "1MiB"'));
    const { relay } = await startRelay(['--config', file]);
    try {
      await writeFile(file, relayToml(['udp@127.0.0.1:0'], [sink.address()], 'buffer = "2MiB"\nstall-timeout = "10s"'));
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(/reloaded .*: no listener or destination changed/);
      await relay.waitForStderr(/ignored until restart: buffer 1 MiB -> 2 MiB/);
      assert.equal(await metric(relay, /^relay_ring_capacity_bytes (\d+)$/m), 1024 * 1024);
    } finally {
      await relay.stop('SIGKILL');
      await sink.close();
    }
  });
});

test('reload: TLS files are read again: a destination refused under the wrong CA connects once the CA file is fixed, the others keep their connections', async () => {
  const pki = await createTestPki();
  try {
    await withTempDir('relay-reload-', async (dir) => {
      const secure = await TestSink.start('len32le', '127.0.0.1', 0, { cert: pki.server.cert, key: pki.server.key });
      const plain = await TestSink.start();
      const ca = path.join(dir, 'ca.pem');
      await copyFile(pki.untrustedCa.certFile, ca);
      const file = path.join(dir, 'relay.toml');
      await writeFile(
        file,
        `${relayToml(['udp@127.0.0.1:0'], [plain.address()], 'reconnect-min = "20ms"\nreconnect-max = "200ms"')}\n[[destination]]\naddress = "${secure.address()}"\ntls-ca = "ca.pem"\n`,
      );
      const { relay, listeners } = await startRelay(['--config', file]);
      try {
        const target = hostPortOf(listeners[0]!);
        await relay.waitForStderr(/TLS handshake failed/);
        await sendWindowed(
          target,
          100,
          (i) => numbered(i, 100),
          (n) => plain.waitFor(n),
        );

        // The certificate is renewed in place: the same file name, the right CA in it.
        await copyFile(pki.ca.certFile, ca);
        relay.child.kill('SIGHUP');
        await relay.waitForStderr(/reloaded .*: reconnecting tls@127\.0\.0\.1:\d+ \(TLS settings changed\)/);
        await relay.waitForStderr(/tls@127\.0\.0\.1:\d+: connected/);
        // The ring still holds what arrived while it was refused: it gets that, then the rest.
        await sendWindowed(
          target,
          100,
          (i) => numbered(100 + i, 100),
          (n) => plain.waitFor(100 + n),
        );
        await Promise.all([secure.waitFor(200, 10_000), plain.waitFor(200)]);
        assertRun('tls destination', sequence(secure), 0, 200);
        assertRun('plain destination', sequence(plain), 0, 200);
        assert.equal(plain.connections, 1, 'the plain destination kept its connection');
        assert.ok((await metric(relay, /^relay_tls_handshake_failures_total\{destination="tls@[^"]+"\} (\d+)$/m)) >= 1);
      } finally {
        await relay.stop('SIGKILL');
        await Promise.all([secure.close(), plain.close()]);
      }
    });
  } finally {
    await pki.remove();
  }
});
