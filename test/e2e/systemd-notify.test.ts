/**
 * sd_notify through the real bin/relay (src/service/): the test binds its own NOTIFY_SOCKET
 * (test/helpers/notify-socket.ts) and checks READY=1 once the listener is bound (a datagram sent
 * at READY arrives), STATUS= refreshes, WATCHDOG=1 pings, RELOADING=1 (with MONOTONIC_USEC) then
 * READY=1 around SIGHUP, STOPPING=1 at SIGTERM and nothing after it; that the pings stop while one
 * relay thread is really stopped (ptrace, test/helpers/thread-stop.ts) and resume after; and that
 * without the addon the relay says in one line that Type=notify cannot work, and runs on.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadNativeSystemd } from '../../src/native/addon.js';
import { NotifySocket, type Notification } from '../helpers/notify-socket.js';
import { hostPortOf, spawnRelay, type RelayProcess } from '../helpers/relay-process.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { threadNamed, withThreadStopper } from '../helpers/thread-stop.js';

const native = loadNativeSystemd();

/** What systemd would set, for this relay only: a watchdog of 1 s (pings every 500 ms); nothing inherited from a manager above the test. */
function systemdEnv(notifySocket: string): NodeJS.ProcessEnv {
  return { NOTIFY_SOCKET: notifySocket, WATCHDOG_USEC: '1000000', WATCHDOG_PID: undefined, LISTEN_FDS: undefined, LISTEN_PID: undefined };
}

/** Sends datagrams `from`..`to`-1 (their numbers as text) to the relay's UDP listener, waiting for the sink to have them all. */
async function sendNumbers(listener: string, sink: TestSink, from: number, to: number): Promise<void> {
  await sendWindowed(
    hostPortOf(listener),
    to - from,
    (i) => Buffer.from(String(from + i)),
    (n) => sink.waitFor(from + n),
  );
}

/** The relay's own messages up to now: its last ones are read once a marker sent after them arrives (datagrams keep their order). */
async function drained(socket: NotifySocket): Promise<Notification[]> {
  const marker = `TEST_MARKER=${socket.messages.length}`;
  native!.notifySend(socket.path, marker);
  const at = await socket.waitFor(marker, (n) => n.text === marker);
  return socket.messages.slice(0, at.index);
}

const count = (messages: Notification[], name: string, value = '1'): number => messages.filter((m) => m.fields.get(name) === value).length;

test('notify: READY=1 once listening, STATUS=, WATCHDOG=1, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 at SIGTERM and nothing after', async (t) => {
  if (native === undefined) return t.skip('no addon: the one-line test below is what this pass checks');
  await withTempDir('relay-notify-', async (dir) => {
    const socket = new NotifySocket(native, path.join(dir, 'notify'));
    const sink = await TestSink.start('len32le');
    let relay: RelayProcess | undefined;
    try {
      relay = spawnRelay(['udp@127.0.0.1:0', sink.address(), '--stats-interval', '0', '--drain-timeout', '2s'], { env: systemdEnv(socket.path) });
      const ready = await socket.waitForField('READY', '1');
      assert.match(ready.fields.get('STATUS') ?? '', /^1 listener, 1 destination \([01] up\); received 0, sent 0, dropped 0$/);
      // Written before READY=1 was sent (stderr is synchronous on a pipe): the listener is bound.
      const listener = (await relay.waitForStderr(/listening on (udp@\S+)/))[1]!;
      await sendNumbers(listener, sink, 0, 1);
      await socket.waitFor('three WATCHDOG=1 after READY=1', () => count(socket.messages.slice(ready.index), 'WATCHDOG') >= 3);
      await sendNumbers(listener, sink, 1, 11);
      await socket.waitFor('a STATUS= with the traffic', (n) => n.fields.get('STATUS')?.endsWith('received 11, sent 11, dropped 0') === true, ready.index);

      const beforeUs = process.hrtime.bigint() / 1000n;
      const sighupAt = socket.messages.length;
      relay.child.kill('SIGHUP');
      const reloading = await socket.waitForField('RELOADING', '1', sighupAt);
      const monotonic = BigInt(reloading.fields.get('MONOTONIC_USEC') ?? '-1');
      assert.ok(monotonic >= beforeUs && monotonic <= process.hrtime.bigint() / 1000n, `MONOTONIC_USEC ${monotonic} is CLOCK_MONOTONIC at the reload`);
      const readyAgain = await socket.waitForField('READY', '1', reloading.index);
      assert.match(readyAgain.fields.get('STATUS') ?? '', /^1 listener, 1 destination \(1 up\); received 11, sent 11, dropped 0$/);
      await relay.waitForStderr(/reloaded the command line: no listener or destination changed/);
      await sendNumbers(listener, sink, 11, 12);

      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
      const all = await drained(socket);
      const stopping = all.findIndex((m) => m.fields.get('STOPPING') === '1');
      assert.ok(stopping > readyAgain.index, `STOPPING=1 after the reload; received:\n${all.map((m) => m.text).join('\n')}`);
      assert.equal(all[stopping]!.fields.get('EXTEND_TIMEOUT_USEC'), '12000000', 'the drain (2 s) and 10 s for the rest');
      assert.equal(all[stopping]!.fields.get('STATUS'), 'stopping: draining for up to 2000 ms');
      assert.deepEqual(all.slice(stopping + 1), [], 'nothing after STOPPING=1');
      assert.equal(count(all, 'READY'), 2);
      assert.equal(count(all, 'RELOADING'), 1);
      assert.deepEqual(
        sink.messages.map((m) => Number(m.toString())),
        Array.from({ length: 12 }, (_, i) => i),
      );
      relay = undefined;
    } finally {
      socket.close();
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});

test('watchdog: no WATCHDOG=1 while the background thread is stopped (ptrace) and the main thread runs on; pings again once it runs', async (t) => {
  if (native === undefined) return t.skip('no addon: no notifications to watch');
  await withThreadStopper(t, async (stopThread) => {
    await withTempDir('relay-watchdog-', async (dir) => {
      const socket = new NotifySocket(native, path.join(dir, 'notify'));
      const sink = await TestSink.start('len32le');
      let relay: RelayProcess | undefined;
      try {
        relay = spawnRelay(['udp@127.0.0.1:0', sink.address(), '--stats-interval', '0'], { env: systemdEnv(socket.path) });
        const ready = await socket.waitForField('READY', '1');
        await socket.waitFor('two WATCHDOG=1', () => count(socket.messages.slice(ready.index), 'WATCHDOG') >= 2);
        // The native background thread (native/relay_reclaimer.c names it); its allowance is 3 s (3 rounds of 1 s).
        const stopped = await stopThread(await threadNamed(relay.child.pid!, 'relay-reclaim'));
        if (stopped === undefined) return;
        try {
          await relay.waitForStderr(/watchdog: no progress from the background \(silent for \d+ ms\) thread\(s\): not sending WATCHDOG=1/, 10_000);
          // Every ping sent before that line is read now; then two STATUS= refreshes (5 s apart) show the main thread running on.
          const from = (await drained(socket)).length;
          const first = await socket.waitForField('STATUS', undefined, from);
          const second = await socket.waitForField('STATUS', undefined, first.index + 1);
          assert.equal(count(socket.messages.slice(from, second.index + 1), 'WATCHDOG'), 0, 'no WATCHDOG=1 while a thread is stopped');
        } finally {
          await stopped.resume();
        }
        await relay.waitForStderr(/watchdog: every thread makes progress again/);
        const resumedAt = (await drained(socket)).length;
        await socket.waitForField('WATCHDOG', '1', resumedAt);
        const exit = await relay.stop('SIGTERM');
        assert.equal(exit.code, 0, exit.stderr);
        relay = undefined;
      } finally {
        socket.close();
        await stopRelayAndSinks(relay, [sink]);
      }
    });
  });
});

test('notify without the addon: one line says Type=notify cannot work and what to do; the relay runs and stops as usual', async () => {
  await withTempDir('relay-notify-none-', async (dir) => {
    const sink = await TestSink.start('len32le');
    let relay: RelayProcess | undefined;
    try {
      // Nothing binds the socket: with no addon nothing is sent to it.
      relay = spawnRelay(['udp@127.0.0.1:0', sink.address(), '--stats-interval', '0'], {
        env: { ...systemdEnv(path.join(dir, 'notify')), RELAY_NATIVE_UDP: '0' },
      });
      const listener = (await relay.waitForStderr(/listening on (udp@\S+)/))[1]!;
      await sendNumbers(listener, sink, 0, 3);
      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
      const lines = exit.stderr.split('\n').filter((line) => /notify|watchdog/i.test(line));
      assert.deepEqual(lines, [
        'relay: notifying systemd needs the native addon, which is not available: disabled by RELAY_NATIVE_UDP=0; Type=notify cannot work (systemd waits for a READY=1 that never comes): use Type=simple, or unset RELAY_NATIVE_UDP',
      ]);
      relay = undefined;
    } finally {
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});
