/**
 * SIGHUP that fixes how a destination is reached tries it at once (issue 15, defect 5): a tls@
 * destination refused under the wrong CA, with a reconnect backoff far longer than the test's
 * deadline, connects within seconds of the reload that fixes the CA file, and gets everything the
 * ring held while it was refused, in order; a tcp@ destination beside it keeps its one connection.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { copyFile, writeFile } from 'node:fs/promises';
import { hostPortOf, startRelay } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { metricsBase } from '../helpers/relay-stats.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { numbered, sequence } from '../helpers/numbered.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { assertRun } from '../helpers/reload-config.js';
import { testPkiPerFile } from '../helpers/certs.js';

const pki = testPkiPerFile();

test('reload: fixing a refused TLS destination connects it at once, not after the pending backoff', async () => {
  await withTempDir('relay-reload-tls-now-', async (dir) => {
    const secure = await TestSink.start('len32le', '127.0.0.1', 0, { cert: pki().server.cert, key: pki().server.key });
    const plain = await TestSink.start();
    const ca = path.join(dir, 'ca.pem');
    await copyFile(pki().untrustedCa.certFile, ca);
    const file = path.join(dir, 'relay.toml');
    // Backoff delays are uniform in [base/2, base]: a 60 s minimum puts the attempt after the
    // first failure at least 30 s away, three times the deadline below.
    await writeFile(
      file,
      [
        'listen = ["udp@127.0.0.1:0"]',
        'stats-interval = "0"',
        'metrics = "127.0.0.1:0"',
        'reconnect-min = "60s"',
        'reconnect-max = "120s"',
        `[[destination]]\naddress = "${plain.address()}"`,
        `[[destination]]\naddress = "${secure.address()}"\ntls-ca = "ca.pem"`,
        '',
      ].join('\n'),
    );
    const { relay, listeners } = await startRelay(['--config', file]);
    try {
      const target = hostPortOf(listeners[0]!);
      await relay.waitForStderr(/tls@127\.0\.0\.1:\d+: TLS handshake failed/);
      // Held in the ring for the refused destination while the plain one gets them.
      await sendWindowed(
        target,
        100,
        (i) => numbered(i, 100),
        (n) => plain.waitFor(n),
      );

      await copyFile(pki().ca.certFile, ca);
      const deadlineMs = Date.now() + 10_000;
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(/reloaded .*: reconnecting tls@127\.0\.0\.1:\d+ \(TLS settings changed\)/, deadlineMs - Date.now());
      await relay.waitForStderr(/tls@127\.0\.0\.1:\d+: connected/, Math.max(1, deadlineMs - Date.now()));
      await secure.waitFor(100, Math.max(1, deadlineMs - Date.now()));

      await sendWindowed(
        target,
        100,
        (i) => numbered(100 + i, 100),
        (n) => Promise.all([plain.waitFor(100 + n), secure.waitFor(100 + n)]).then(() => {}),
      );
      await Promise.all([plain.waitFor(200), secure.waitFor(200)]);
      assertRun('tls destination', sequence(secure), 0, 200);
      assertRun('plain destination', sequence(plain), 0, 200);
      assert.equal(plain.connections, 1, 'the plain destination kept its connection');
      assert.equal(secure.connections, 1, 'the tls destination connected once, after the reload');
      const body = await (await fetch(`${await metricsBase(relay)}/metrics`)).text();
      const failures = body.match(/^relay_tls_handshake_failures_total\{destination="tls@[^"]+"\} (\d+)$/m);
      assert.ok(failures, 'no relay_tls_handshake_failures_total for the tls destination in /metrics');
      // One failure, under the wrong CA: the next attempt was the one the reload started.
      assert.equal(Number(failures[1]), 1);
    } finally {
      await relay.stop('SIGKILL');
      await Promise.all([secure.close(), plain.close()]);
    }
  });
});
