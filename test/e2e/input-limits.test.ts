/**
 * Limits on input connections through bin/relay (README "Limits on input"): --max-connections
 * closes what comes past it at once and counts it while the open connections and UDP flow on;
 * --idle-timeout closes connections that complete no message, partial frames and trickled bytes
 * included, and a connection that keeps sending whole messages stays, and memory stays bounded;
 * a lower --max-connections by SIGHUP closes nothing open and refuses new ones until fewer are open.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { noUdpSecondPass, startRelay, type RelayProcess, portOf } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { sendBurst } from '../helpers/udp-sender.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { relayToml } from '../helpers/reload-config.js';

/**
 * Opens `count` connections to `port`, 100 at a time; resolves with them once each is connected
 * (or was closed). With `first`, each writes it as soon as it connects, not after all are open: on
 * a busy machine opening a thousand takes longer than a short --idle-timeout.
 */
async function openMany(port: number, count: number, first?: Buffer): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, () => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      if (first) socket.write(first);
      sockets.push(socket);
      return Promise.race([once(socket, 'connect'), once(socket, 'close')]);
    });
    await Promise.all(batch);
  }
  return sockets;
}

test('--max-connections 50: of 1,000 connections 950 are closed at once and counted; the 50 and UDP flow on', async () => {
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  let sockets: net.Socket[] = [];
  try {
    const started = await startRelay(
      [
        'tcp@127.0.0.1:0?framing=lf',
        `${sink.address()}?framing=lf`,
        '--listen',
        'udp@127.0.0.1:0',
        '--max-connections',
        '50',
        '--metrics',
        '127.0.0.1:0',
        '--stats-interval',
        '0',
      ],
      2,
    );
    relay = started.relay;
    const base = await metricsBase(relay);
    sockets = await openMany(portOf(started.listeners[0]!), 1000);
    await eventually(async () => {
      const closed = (await stats(base)).listeners[0]!.closedConnections.max_connections;
      return closed === 950 || `${closed} of 950 closed past --max-connections`;
    }, 20_000);
    await eventually(
      async () => sockets.filter((s) => s.closed).length === 950 || `${sockets.filter((s) => s.closed).length} of 950 closed on the client side`,
    );
    assert.equal(sockets.filter((s) => !s.closed).length, 50);
    for (const [i, s] of sockets.filter((x) => !x.closed).entries()) s.write(`tcp ${i}\n`);
    await sendBurst(
      { host: '127.0.0.1', port: portOf(started.listeners[1]!) },
      Array.from({ length: 100 }, (_, i) => Buffer.from(`udp ${i}`)),
    );
    await sink.waitFor(150);
    const got = sink.messages.map((m) => m.toString());
    assert.equal(got.filter((m) => m.startsWith('tcp ')).length, 50);
    assert.equal(got.filter((m) => m.startsWith('udp ')).length, 100);
    assert.equal((await stats(base)).listeners[0]!.connectionsAccepted, 50);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^relay_input_connections_closed_total\{listener="tcp@127\.0\.0\.1:\d+",reason="max_connections"\} 950$/m);
  } finally {
    for (const s of sockets) s.destroy();
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('--idle-timeout 1s: 300 partial frames and a trickle are closed and counted; a connection sending whole messages stays', async (t) => {
  if (noUdpSecondPass(t)) return;
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  let sockets: net.Socket[] = [];
  let ticker: NodeJS.Timeout | undefined;
  try {
    const started = await startRelay([
      'tcp@127.0.0.1:0?framing=len32le',
      `${sink.address()}?framing=lf`,
      '--idle-timeout',
      '1s',
      '--metrics',
      '127.0.0.1:0',
      '--stats-interval',
      '0',
    ]);
    relay = started.relay;
    const base = await metricsBase(relay);
    const port = portOf(started.listeners[0]!);
    const frame = (text: string): Buffer => {
      const header = Buffer.alloc(4);
      header.writeUInt32LE(Buffer.byteLength(text));
      return Buffer.concat([header, Buffer.from(text)]);
    };
    sockets = await openMany(port, 302);
    const [live, trickle, ...partial] = sockets as [net.Socket, net.Socket, ...net.Socket[]];
    // Each announces 60,000 bytes and sends half.
    const half = Buffer.concat([Buffer.from([0x60, 0xea, 0, 0]), Buffer.alloc(30_000, 0x61)]);
    for (const s of partial) s.write(half);
    trickle.write(Buffer.from([0x10, 0, 0, 0]));
    let n = 0;
    ticker = setInterval(() => {
      live.write(frame(`live ${n++}`));
      trickle.write('x');
    }, 200);
    await eventually(async () => {
      const closed = (await stats(base)).listeners[0]!.closedConnections.idle_timeout;
      return closed === 301 || `${closed} of 301 closed idle`;
    }, 20_000);
    await eventually(async () => (partial.every((s) => s.closed) && trickle.closed) || 'a partial or the trickle is still open on the client side');
    assert.equal(live.closed, false, 'the connection sending whole messages was closed');
    const before = sink.messages.length;
    await sink.waitFor(before + 2);
    const l = (await stats(base)).listeners[0]!;
    assert.equal(l.droppedMessages.framing, 301, 'each torn frame counted');
    assert.equal(l.closedConnections.idle_timeout, 301);
    assert.match(relay.stderr, /no whole message for 1000 ms \(--idle-timeout\)/);
  } finally {
    clearInterval(ticker);
    for (const s of sockets) s.destroy();
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('--idle-timeout bounds memory: five waves of 1,000 connections each holding a 60 KB partial frame, each closed; RSS does not keep what a wave held', async (t) => {
  if (noUdpSecondPass(t)) return;
  const sink = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  const open: net.Socket[] = [];
  try {
    const started = await startRelay([
      'tcp@127.0.0.1:0?framing=len32le',
      `${sink.address()}?framing=lf`,
      '--idle-timeout',
      '1s',
      '--max-connections',
      '2000',
      '--metrics',
      '127.0.0.1:0',
      '--stats-interval',
      '0',
    ]);
    relay = started.relay;
    const base = await metricsBase(relay);
    const port = portOf(started.listeners[0]!);
    const rssMb = async (): Promise<number> => (await stats(base)).process.residentBytes / 2 ** 20;
    // Announces 60,000 bytes and sends all but 4 of them.
    const partial = Buffer.concat([Buffer.from([0x60, 0xea, 0, 0]), Buffer.alloc(59_996, 0x61)]);
    const startMb = await rssMb();
    const afterWave: number[] = [];
    for (let wave = 1; wave <= 5; wave++) {
      const sockets = await openMany(port, 1000, partial);
      open.push(...sockets);
      await eventually(async () => {
        const closed = (await stats(base)).listeners[0]!.closedConnections.idle_timeout;
        return closed === 1000 * wave || `wave ${wave}: ${closed} of ${1000 * wave} closed idle`;
      }, 30_000);
      for (const s of sockets) s.destroy();
      open.length = 0;
      afterWave.push(await rssMb());
    }
    // Freed frames go back to V8 and the allocator, not to the system, so RSS stays near its first
    // high-water mark (measured: 85 MB at start, 171-234 MB after each of 8 waves, no trend); kept
    // frames would add a wave's bytes each time.
    const waveMb = (1000 * partial.length) / 2 ** 20;
    assert.ok(
      afterWave[4]! - afterWave[0]! < 3 * waveMb,
      `RSS ${startMb.toFixed(0)} MB at start, after each wave ${afterWave.map((m) => m.toFixed(0)).join(', ')} MB: the fifth is three waves (${(3 * waveMb).toFixed(0)} MB) or more above the first`,
    );
    // Each torn frame is counted when its connection's close is handled, just after the idle close.
    await eventually(async () => {
      const torn = (await stats(base)).listeners[0]!.droppedMessages.framing;
      return torn === 5000 || `${torn} of 5000 torn frames counted`;
    });
  } finally {
    for (const s of open) s.destroy();
    await stopRelayAndSinks(relay, [sink]);
  }
});

test('--max-connections by SIGHUP: lowered below what is open, it closes none of them and refuses new ones until fewer are open', async (t) => {
  if (noUdpSecondPass(t)) return;
  await withTempDir('relay-max-connections-', async (dir) => {
    const sink = await TestSink.start('lf');
    const file = path.join(dir, 'relay.toml');
    const toml = (max: number): string => relayToml(['tcp@127.0.0.1:0?framing=lf'], [`${sink.address()}?framing=lf`], `max-connections = ${max}\n`);
    await writeFile(file, toml(100));
    const { relay, listeners } = await startRelay(['--config', file]);
    const sockets: net.Socket[] = [];
    try {
      const base = await metricsBase(relay);
      const port = portOf(listeners[0]!);
      sockets.push(...(await openMany(port, 60)));
      await eventually(async () => (await stats(base)).listeners[0]!.connectionsAccepted === 60 || 'not all 60 accepted');
      await writeFile(file, toml(50));
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(/reloaded .*relay\.toml/);
      sockets.push(...(await openMany(port, 5)));
      await eventually(async () => (await stats(base)).listeners[0]!.closedConnections.max_connections === 5 || 'the 5 past the new limit not refused');
      // The 60 open before the reload still deliver.
      for (const [i, s] of sockets.slice(0, 60).entries()) s.write(`kept ${i}\n`);
      await sink.waitFor(60);
      // Down to 40 open: 10 more fit under 50, the 11th does not.
      for (const s of sockets.slice(0, 20)) s.destroy();
      // Until the relay has seen the 20 close, a new connection may still be refused: count the tries.
      let tries = 0;
      await eventually(async () => {
        tries++;
        sockets.push(...(await openMany(port, 1)));
        const accepted = (await stats(base)).listeners[0]!.connectionsAccepted;
        return accepted > 60 || 'no new connection accepted yet';
      });
      const later = await openMany(port, 15);
      sockets.push(...later);
      await eventually(async () => {
        const l = (await stats(base)).listeners[0]!;
        const refused = 5 + (tries - 1) + 6;
        return (
          (l.connectionsAccepted === 70 && l.closedConnections.max_connections === refused) ||
          `accepted ${l.connectionsAccepted} of 70, refused ${l.closedConnections.max_connections} of ${refused}`
        );
      });
      assert.equal(sink.messages.filter((m) => m.toString().startsWith('kept ')).length, 60);
    } finally {
      for (const s of sockets) s.destroy();
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});
