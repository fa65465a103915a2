/**
 * Ingest.reconfigure when a failed reload cannot put back a listener it closed (issue 15, defect 3):
 * the port was taken between the close and the re-open. The error names the listener that is now
 * closed and carries its slot (the main thread stops listing it), and nothing of the reload is left
 * bound. The race is made deterministic by the resolver: the added listener's host name resolves
 * only once the test has taken the port. The other outcomes (nothing changed, the old listener
 * re-opened with its counts) are checked end to end in test/e2e/reload-listeners.test.ts.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import dns from 'node:dns/promises';
import { once } from 'node:events';
import { DEFAULTS } from '../../src/config/config.js';
import { Ingest, ListenersClosedError } from '../../src/ingest/ingest.js';
import { loadNativeUdp, nativeUdpUnavailableReason } from '../../src/native/addon.js';
import { MIN_CAPACITY, allocateRing, viewRing } from '../../src/ring/layout.js';
import { RingWriter } from '../../src/ring/ring.js';
import { allocateCounters } from '../../src/metrics/counters.js';
import { RateLimitedLog } from '../../src/logging.js';
import type { ListenerOptions, UdpIngestPath } from '../../src/thread-protocol.js';

function udpListener(index: number, host: string, port: number): ListenerOptions {
  return { index, scheme: 'udp', host, port, text: `udp@${host}:${port}`, framing: 'len32le', split: undefined, proxy: undefined };
}

/** A UDP socket of the test's own on 127.0.0.1:port. */
async function takePort(port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  socket.bind(port, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

for (const udpIngest of ['native', 'dgram'] satisfies UdpIngestPath[]) {
  test(`ingest (${udpIngest}): a listener a failed reload closed and could not re-open is named, with its slot; nothing of the reload stays bound`, async (t: TestContext) => {
    if (udpIngest === 'native' && loadNativeUdp() === undefined) {
      t.skip(`native UDP addon not loadable: ${nativeUdpUnavailableReason()}`);
      return;
    }
    const ingest = new Ingest(
      new RingWriter(viewRing(allocateRing(MIN_CAPACITY, 1, 0))),
      new Float64Array(allocateCounters(2, 1)),
      {
        maxMessageBytes: 1024,
        allow: [],
        deny: [],
        recvBufferBytes: 4096,
        udpIngest,
        tls: undefined,
        limits: DEFAULTS.inputLimits,
        unixSocket: DEFAULTS.unixSocket,
        reusePort: false,
        maxDelayMs: 0,
      },
      new RateLimitedLog(() => {}, 1000),
    );
    let taken: dgram.Socket | undefined;
    try {
      const port = Number(/:(\d+)$/.exec((await ingest.listen(udpListener(0, '127.0.0.1', 0))).text)![1]);
      // Moving the listener to a name on its port: the name resolves once the test took the port.
      t.mock.method(dns, 'lookup', async (host: string) => {
        assert.equal(host, 'moved.test');
        taken = await takePort(port);
        return { address: '127.0.0.1', family: 4 };
      });

      const error = await ingest
        .reconfigure({ add: [udpListener(1, 'moved.test', port)], remove: [0], allow: [], deny: [], tls: undefined, limits: DEFAULTS.inputLimits })
        .then(
          () => assert.fail('the reload succeeded'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof ListenersClosedError, `not a ListenersClosedError: ${error}`);
      assert.equal(
        error.message,
        `cannot listen on udp@moved.test:${port}: bind EADDRINUSE 127.0.0.1:${port} (relays share a port only when each binds it with --reuse-port, as one user); udp@127.0.0.1:${port} could not be reopened and is closed: bind EADDRINUSE 127.0.0.1:${port}`,
      );
      assert.deepEqual(error.closedSlots, [0]);
      assert.equal(error.code, 'ERR_BIND');

      // Neither the old listener nor the added one holds the port: the test can take it again.
      await new Promise<void>((resolve) => taken!.close(() => resolve()));
      taken = await takePort(port);
    } finally {
      await ingest.close();
      taken?.close();
    }
  });
}
