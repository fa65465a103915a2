/**
 * Socket activation through the real bin/relay, started by systemd-socket-activate
 * (test/helpers/socket-activate.ts): the relay uses the UDP socket it was passed as it is — the
 * datagram that started it arrives, and a reload that removes the listener and adds it back takes
 * the same socket again, with what came meanwhile; a passed TCP stream socket is served (with
 * READY=1 sent to NOTIFY_SOCKET); ?fdname= picks a socket by FileDescriptorName and a socket no
 * listener takes is named in a warning. Without the addon (npm test's RELAY_NATIVE_UDP=0 pass) the
 * relay refuses passed sockets in one line and exits 2.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { loadNativeSystemd } from '../../src/native/addon.js';
import type { RelayProcess } from '../helpers/relay-process.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { freeUdpPort } from '../helpers/numbered.js';
import { missingSocketActivate, socketActivate } from '../helpers/socket-activate.js';
import { NotifySocket } from '../helpers/notify-socket.js';
import { relayToml } from '../helpers/reload-config.js';

const native = loadNativeSystemd();

/** Sends each payload as one datagram to 127.0.0.1:port. */
async function send(port: number, payloads: string[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    for (const p of payloads) await new Promise<void>((resolve, reject) => socket.send(p, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  } finally {
    socket.close();
  }
}

const numbers = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => String(from + i));

/** Without the addon: the relay, started by the first datagram or connection, exits 2 with one line (and nothing bound by itself). */
async function assertRefused(relay: RelayProcess, passed: number): Promise<void> {
  const exit = await relay.exit();
  assert.equal(exit.code, 2, exit.stderr);
  const lines = exit.stderr.split('\n').filter((line) => line.startsWith('relay: '));
  assert.equal(lines.length, 1, exit.stderr);
  const why = process.env.RELAY_NATIVE_UDP === '0' ? 'disabled by RELAY_NATIVE_UDP=0; unset RELAY_NATIVE_UDP' : '.+';
  assert.match(
    lines[0]!,
    new RegExp(
      `^relay: systemd passed ${passed} socket\\(s\\) \\(LISTEN_FDS\\), and using them needs the native addon, which is not available: ${why}, or start the relay without its \\.socket unit$`,
    ),
  );
}

test('socket activation, UDP: the passed socket is used as it is; a reload that removes its listener and adds it back takes it again', async (t) => {
  if (missingSocketActivate(t)) return;
  await withTempDir('relay-activate-udp-', async (dir) => {
    const sink = await TestSink.start('len32le');
    const file = path.join(dir, 'relay.toml');
    const other = await freeUdpPort();
    let relay: RelayProcess | undefined;
    try {
      const started = await socketActivate({ datagram: true, sockets: 1, args: () => ['--config', file] });
      relay = started.process;
      const [port] = started.ports as [number];
      await writeFile(file, relayToml([`udp@127.0.0.1:${port}`], [sink.address()]));
      // The first datagram starts the relay; it waits in the passed socket meanwhile.
      await send(port, ['0']);
      if (native === undefined) return await assertRefused(relay, 1);
      await relay.waitForStderr(new RegExp(`listening on udp@127\\.0\\.0\\.1:${port} \\(native recvmmsg\\) on the socket systemd passed \\(fd 3\\)`));
      await send(port, numbers(1, 100));
      await sink.waitFor(100);
      await writeFile(file, relayToml([`udp@127.0.0.1:${other}`], [sink.address()]));
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(new RegExp(`reloaded \\S+: listening on udp@127\\.0\\.0\\.1:${other}; closed udp@127\\.0\\.0\\.1:${port}`));
      // Nobody reads the passed socket now, but it stays open in the relay: these wait in it.
      await send(port, numbers(100, 110));
      await writeFile(file, relayToml([`udp@127.0.0.1:${port}`], [sink.address()]));
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(
        new RegExp(`reloaded \\S+: listening on udp@127\\.0\\.0\\.1:${port} on the socket systemd passed \\(fd 3\\); closed udp@127\\.0\\.0\\.1:${other}`),
      );
      await send(port, numbers(110, 120));
      await sink.waitFor(120);
      assert.deepEqual(
        sink.messages.map((m) => m.toString()),
        numbers(0, 120),
      );
      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
      assert.doesNotMatch(exit.stderr, /EADDRINUSE|no listener is bound there/);
      relay = undefined;
    } finally {
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});

test('socket activation, TCP: the passed stream socket serves the connection that started the relay; READY=1 goes to NOTIFY_SOCKET', async (t) => {
  if (missingSocketActivate(t)) return;
  await withTempDir('relay-activate-tcp-', async (dir) => {
    const notify = native && new NotifySocket(native, path.join(dir, 'notify'));
    const sink = await TestSink.start('lf');
    let relay: RelayProcess | undefined;
    try {
      const started = await socketActivate({
        datagram: false,
        sockets: 1,
        env: notify ? { NOTIFY_SOCKET: notify.path } : {},
        args: ([port]) => [`tcp@127.0.0.1:${port}?framing=lf`, sink.address(true), '--stats-interval', '0'],
      });
      relay = started.process;
      const client = net.connect(started.ports[0]!, '127.0.0.1');
      client.on('error', () => {}); // refused below without the addon: the relay exits, the connection resets
      client.write('one\ntwo\n');
      if (native === undefined) {
        await assertRefused(relay, 1);
        client.destroy();
        return;
      }
      await relay.waitForStderr(new RegExp(`listening on tcp@127\\.0\\.0\\.1:${started.ports[0]} on the socket systemd passed \\(fd 3\\)`));
      const ready = await notify!.waitForField('READY', '1');
      assert.match(ready.fields.get('STATUS') ?? '', /^1 listener, 1 destination/);
      client.end('three\n');
      await sink.waitFor(3);
      assert.deepEqual(
        sink.messages.map((m) => m.toString()),
        ['one', 'two', 'three'],
      );
      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
      relay = undefined;
    } finally {
      notify?.close();
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});

test('socket activation, ?fdname=: the listener takes the socket of that FileDescriptorName; one no listener takes is named in a warning', async (t) => {
  if (missingSocketActivate(t)) return;
  const sink = await TestSink.start('len32le');
  let relay: RelayProcess | undefined;
  try {
    // Port 0 would be an ephemeral port without systemd; here the socket named "syslog" is used.
    const started = await socketActivate({
      datagram: true,
      sockets: 2,
      fdnames: ['spare', 'syslog'],
      args: () => ['udp@127.0.0.1:0?fdname=syslog', sink.address()],
    });
    relay = started.process;
    const [spare, syslog] = started.ports as [number, number];
    await send(syslog, ['first']);
    if (native === undefined) return await assertRefused(relay, 2);
    await relay.waitForStderr(new RegExp(`listening on udp@127\\.0\\.0\\.1:${syslog} \\(native recvmmsg\\) on the socket systemd passed \\(fd 4, "syslog"\\)`));
    const warning = await relay.waitForStderr(/relay: systemd passed (.*), and no listener is bound there: it stays unused/);
    assert.equal(warning[1], `udp 127.0.0.1:${spare} (fd 3, "spare")`);
    await send(syslog, ['second']);
    await sink.waitFor(2);
    assert.deepEqual(
      sink.messages.map((m) => m.toString()),
      ['first', 'second'],
    );
    const exit = await relay.stop('SIGTERM');
    assert.equal(exit.code, 0, exit.stderr);
    relay = undefined;
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
});
