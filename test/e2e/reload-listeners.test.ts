/**
 * A reload that fails while moving a listener to another address on its port (issue 15, defect 3),
 * through the real relay: `udp@127.0.0.1:P` becomes `udp@0.0.0.0:P`, and the reload fails, either
 * on another added listener (a taken TCP port) or on the moved one itself (the port taken on another
 * address). The old listener must still be bound, receiving and listed, its counters kept: every
 * datagram sent to it after the "reload failed" line reaches the destination, in order.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { hostPortOf, startRelay } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { metricsBase, stats } from '../helpers/relay-stats.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { numbered, sequence } from '../helpers/numbered.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { relayToml } from '../helpers/reload-config.js';

/** Something else holding a port, so that a listener of the reload cannot bind. */
interface Holder {
  close(): Promise<void>;
}

const cases: {
  name: string;
  /** Takes what makes the reload fail, given the relay's UDP port; returns the listeners to reload to and the failure to expect. */
  hold(udpPort: number): Promise<{ holder: Holder; listen: string[]; failure: RegExp }>;
}[] = [
  {
    name: 'another added listener cannot bind (the issue: tcp@127.0.0.1:Q is taken)',
    hold: async (udpPort) => {
      const server = net.createServer().listen(0, '127.0.0.1');
      await once(server, 'listening');
      const tcpPort = (server.address() as net.AddressInfo).port;
      return {
        holder: { close: () => new Promise<void>((resolve) => server.close(() => resolve())) },
        listen: [`udp@0.0.0.0:${udpPort}`, `tcp@127.0.0.1:${tcpPort}`],
        failure: new RegExp(`cannot listen on tcp@127\\.0\\.0\\.1:${tcpPort}: .*EADDRINUSE`),
      };
    },
  },
  {
    name: 'the moved listener itself cannot bind (udp 127.0.0.2:P is taken, so 0.0.0.0:P is not free)',
    hold: async (udpPort) => {
      const socket = dgram.createSocket('udp4');
      socket.bind(udpPort, '127.0.0.2');
      await once(socket, 'listening');
      return {
        holder: { close: () => new Promise<void>((resolve) => socket.close(() => resolve())) },
        listen: [`udp@0.0.0.0:${udpPort}`],
        failure: new RegExp(`cannot listen on udp@0\\.0\\.0\\.0:${udpPort}: .*EADDRINUSE`),
      };
    },
  },
];

for (const { name, hold } of cases) {
  test(`reload: moving udp@127.0.0.1:P to udp@0.0.0.0:P fails when ${name}; P stays bound, receiving and listed`, async () => {
    await withTempDir('relay-reload-listeners-', async (dir) => {
      const sink = await TestSink.start();
      const file = path.join(dir, 'relay.toml');
      await writeFile(file, relayToml(['udp@127.0.0.1:0'], [sink.address()]));
      const { relay, listeners } = await startRelay(['--config', file]);
      let holder: Holder | undefined;
      try {
        const listener = listeners[0]!;
        const target = hostPortOf(listener);
        const sent = 100;
        await sendWindowed(
          target,
          sent,
          (i) => numbered(i, 100),
          (n) => sink.waitFor(n, 5_000),
        );

        const held = await hold(target.port);
        holder = held.holder;
        await writeFile(file, relayToml(held.listen, [sink.address()]));
        relay.child.kill('SIGHUP');
        const failed = await relay.waitForStderr(/reload failed, still running the previous configuration: (.*)/);
        assert.match(failed[1]!, held.failure);
        assert.doesNotMatch(failed[1]!, /could not be reopened/);

        // The deadline is short: on a closed port the sender would only wait for what never comes.
        await sendWindowed(
          target,
          sent,
          (i) => numbered(sent + i, 100),
          (n) => sink.waitFor(sent + n, 5_000),
        );
        await sink.waitFor(2 * sent, 5_000);
        assert.deepEqual(
          sequence(sink),
          Array.from({ length: 2 * sent }, (_, i) => i),
        );

        const snapshot = await stats(await metricsBase(relay));
        assert.deepEqual(
          snapshot.listeners.map((l) => [l.name, l.receivedMessages]),
          [[listener, 2 * sent]],
          'the old listener is listed, its count kept across the failed reload',
        );
        assert.deepEqual(snapshot.reloads, { ok: 0, failed: 1 });
      } finally {
        await relay.stop('SIGKILL');
        await holder?.close();
        await sink.close();
      }
    });
  });
}
