/**
 * Ingest's ring-full line names what holds the ring, through the real relay: a 64 KiB ring, a
 * destination that keeps up and one that accepts and never reads. Rounds of 40 datagrams (40 KB,
 * under the 3/4 overflow mark) each wait until the live one has everything ingest took, so a
 * round can fill the ring only with bytes the silent one's unfinished writes still pin from
 * earlier rounds: it is the one the line must name, whether it ran from the start or a reload
 * added it (ingest learns the names of added destinations with the reload).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { hostPortOf, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { numbered } from '../helpers/numbered.js';
import { relayToml } from '../helpers/reload-config.js';
import { withTempDir } from '../helpers/temp-dir.js';

const ROUND = 40;
const MAX_ROUNDS = 3000;
const DEADLINE_MS = 90_000;

/** A 64 KiB ring (messages up to 2000 bytes), and no stall cut during the test. */
const RING = { buffer: '64KiB', 'max-message': '2000', 'stall-timeout': '60s' };

/** Starts the relay from `live` to `silentAddress`: both on the command line, or the silent one added by a reload. */
async function relayWith(how: 'at start' | 'added by a reload', dir: string, live: TestSink, silentAddress: string) {
  if (how === 'at start') {
    const options = Object.entries(RING).flatMap(([key, value]) => [`--${key}`, value]);
    return startRelay(['udp@127.0.0.1:0', live.address(), silentAddress, ...options, '--metrics', '127.0.0.1:0', '--stats-interval', '0']);
  }
  const file = path.join(dir, 'relay.toml');
  const listen = ['udp@127.0.0.1:0'];
  const extra = Object.entries(RING)
    .map(([key, value]) => `${key} = "${value}"\n`)
    .join('');
  await writeFile(file, relayToml(listen, [live.address()], extra));
  const started = await startRelay(['--config', file]);
  await writeFile(file, relayToml(listen, [live.address(), silentAddress], extra));
  started.relay.child.kill('SIGHUP');
  await started.relay.waitForStderr(/reloaded .*relay\.toml: added/);
  return started;
}

for (const how of ['at start', 'added by a reload'] as const) {
  test(`ring full: the log line names the destination that holds the ring (one that never reads, ${how}), not the background thread`, async () => {
    await withTempDir('relay-ring-full-', async (dir) => {
      const live = await TestSink.start();
      const silent = net.createServer((socket) => socket.pause());
      silent.listen(0, '127.0.0.1');
      await once(silent, 'listening');
      const silentAddress = `tcp@127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
      const socket = dgram.createSocket('udp4');
      let relay: RelayProcess | undefined;
      try {
        const started = await relayWith(how, dir, live, silentAddress);
        relay = started.relay;
        const base = await metricsBase(relay);
        const target = hostPortOf(started.listeners[0]!);
        const deadline = Date.now() + DEADLINE_MS;
        let sent = 0;
        let rounds = 0;
        while (!/ring full/.test(relay.stderr)) {
          assert.ok(rounds < MAX_ROUNDS && Date.now() < deadline, `no ring-full line after ${rounds} rounds (${sent} datagrams)`);
          for (let i = 0; i < ROUND; i++, sent++) {
            await new Promise<void>((resolve, reject) =>
              socket.send(numbered(sent, 1000), target.port, target.host, (error) => (error ? reject(error) : resolve())),
            );
          }
          rounds++;
          // Every datagram taken or counted by ingest, and the live destination has all it took,
          // each write confirmed (its released position is the tail again).
          await eventually(async () => {
            const s = await stats(base);
            const l = s.listeners[0]!;
            const d = s.destinations.find((x) => x.name === live.address())!;
            const accounted = l.receivedMessages + l.droppedMessages.ring_full + l.kernelDroppedMessages;
            const caughtUp = live.messages.length === l.receivedMessages && d.lagMessages === 0 && d.unconfirmedMessages === 0;
            return (
              (accounted === sent && caughtUp) || `${accounted} of ${sent} accounted, ${live.messages.length} delivered, ${d.unconfirmedMessages} unconfirmed`
            );
          });
        }
        const line = /ring full: [^\n]*/.exec(relay.stderr)![0];
        assert.doesNotMatch(line, /background thread/);
        assert.ok(line.includes(`${silentAddress} is the destination furthest behind`), `the line names ${silentAddress}: ${line}`);
        assert.ok(!line.includes(live.address()), line);
        console.log(`after ${rounds} rounds (${sent} datagrams): ${line}`);
      } finally {
        socket.close();
        await relay?.stop('SIGKILL');
        await live.close();
        silent.close();
      }
    });
  });
}
