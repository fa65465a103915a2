/**
 * --deny through bin/relay: datagrams and TCP connections from a denied source are dropped and
 * counted (`denied`), also inside an --allow block, while other sources flow on (on the native
 * and the node:dgram receive path: npm test runs the end-to-end tests on both). Every line of a
 * refused ?split=lf datagram is counted; a --deny added by SIGHUP closes open connections.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { startRelay, type RelayProcess, portOf } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { sendFrom } from '../helpers/udp-sender.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { relayToml } from '../helpers/reload-config.js';

test('--deny 127.0.0.2 inside --allow 127.0.0.0/8: its datagrams and connections are dropped and counted, 127.0.0.1 flows on', async () => {
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  try {
    const started = await startRelay(
      [
        'udp@127.0.0.1:0',
        `${sink.address()}?framing=lf`,
        '--listen',
        'tcp@127.0.0.1:0?framing=lf',
        '--allow',
        '127.0.0.0/8',
        '--deny',
        '127.0.0.2',
        '--metrics',
        '127.0.0.1:0',
        '--stats-interval',
        '0',
      ],
      2,
    );
    relay = started.relay;
    const base = await metricsBase(relay);
    const [udpPort, tcpPort] = started.listeners.map(portOf) as [number, number];
    await sendFrom('127.0.0.2', udpPort, ['denied 1', 'denied 2', 'denied 3']);
    await sendFrom('127.0.0.1', udpPort, ['ok 1', 'ok 2']);
    const denied = net.connect({ port: tcpPort, host: '127.0.0.1', localAddress: '127.0.0.2' });
    denied.on('error', () => {});
    denied.write('denied tcp\n');
    await new Promise<void>((resolve) => denied.once('close', () => resolve()));
    const allowed = net.connect({ port: tcpPort, host: '127.0.0.1', localAddress: '127.0.0.1' });
    allowed.end('ok tcp\n');
    await sink.waitFor(3);
    await eventually(async () => {
      const l = (await stats(base)).listeners;
      const udp = l[0]!.droppedMessages.denied;
      const tcp = l[1]!.droppedMessages.denied;
      return (udp === 3 && tcp === 1) || `denied: udp ${udp} of 3, tcp ${tcp} of 1`;
    });
    assert.deepEqual(sink.messages.map((m) => m.toString()).sort(), ['ok 1', 'ok 2', 'ok tcp']);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^relay_ingest_dropped_messages_total\{listener="udp@127\.0\.0\.1:\d+",reason="denied"\} 3$/m);
    assert.match(relay.stderr, /ignored 127\.0\.0\.2: in --deny/);
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('--deny on a ?split=lf listener counts every line of a refused datagram; a --deny added by SIGHUP closes an open connection from that source', async () => {
  await withTempDir('relay-deny-reload-', async (dir) => {
    const sink = await TestSink.start('lf');
    const file = path.join(dir, 'relay.toml');
    const listen = ['udp@127.0.0.1:0?split=lf', 'tcp@127.0.0.1:0?framing=lf'];
    await writeFile(file, relayToml(listen, [`${sink.address()}?framing=lf`], 'deny = ["127.0.0.3"]\n'));
    const { relay, listeners } = await startRelay(['--config', file], 2);
    const open = net.connect({ port: portOf(listeners[1]!), host: '127.0.0.1', localAddress: '127.0.0.2' });
    open.on('error', () => {});
    open.resume();
    try {
      const base = await metricsBase(relay);
      // Two datagrams of 3 lines (one empty line between) from a denied source: 6 messages refused.
      await sendFrom('127.0.0.3', portOf(listeners[0]!), ['a\n\nb\nc', 'd\ne\nf\n']);
      await eventually(async () => {
        const denied = (await stats(base)).listeners[0]!.droppedMessages.denied;
        return denied === 6 || `${denied} of 6 lines counted denied`;
      });
      open.write('before 0\nbefore 1\n');
      await sink.waitFor(2);
      await writeFile(file, relayToml(listen, [`${sink.address()}?framing=lf`], 'deny = ["127.0.0.3", "127.0.0.2"]\n'));
      const closed = once(open, 'close');
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(/reloaded .*relay\.toml/);
      await closed;
      const tcp = (await stats(base)).listeners[1]!;
      assert.equal(tcp.droppedMessages.denied, 1, 'the open connection counted denied');
      assert.deepEqual(
        sink.messages.map((m) => m.toString()),
        ['before 0', 'before 1'],
      );
    } finally {
      open.destroy();
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});
