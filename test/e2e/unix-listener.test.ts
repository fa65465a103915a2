/**
 * unix@PATH listeners (a local syslog socket) through the real bin/relay, fed by logger(1), the
 * real client (test/helpers/logger.ts): every datagram reaches a TCP sink in order, ?split=lf makes
 * lines messages, the socket file gets --unix-mode and --unix-owner and is removed at stop and when
 * a reload removes the listener; a stale socket file is replaced, a live one and a path that is not
 * a socket are refused with one line (the file kept). npm test runs the end-to-end files twice:
 * with RELAY_NATIVE_UDP=0 (or without the addon) a unix@ listener must be refused at start, and by
 * a reload, with one line naming what is missing.
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadNativeUdp } from '../../src/native/addon.js';
import { spawnRelay, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { loggedAs, logTo, missingLogger } from '../helpers/logger.js';
import { relayToml } from '../helpers/reload-config.js';

const native = loadNativeUdp();
const LINES = 10_000;

/** The lines of `stderr` that name `text`: a refusal must be exactly one. */
function linesNaming(stderr: string, text: string): string[] {
  return stderr.split('\n').filter((line) => line.includes(text));
}

/** Runs bin/relay to its exit (a refusal): its exit code and the one stderr line naming `text`. */
async function refused(args: string[], text: string, env?: NodeJS.ProcessEnv): Promise<{ code: number | null; line: string }> {
  const exit = await spawnRelay(args, { env }).exit();
  const lines = linesNaming(exit.stderr, text);
  assert.equal(lines.length, 1, `one line naming ${text} expected, stderr:\n${exit.stderr}`);
  return { code: exit.code, line: lines[0]! };
}

/** A socket's file mode bits, or undefined when nothing (or not a socket) is at `file`. */
function socketMode(file: string): number | undefined {
  const stat = lstatSync(file, { throwIfNoEntry: false });
  return stat?.isSocket() ? stat.mode & 0o777 : undefined;
}

/** The line a relay without the addon refuses unix@`file` with, `why` being nativeUdpUnavailableReason()'s. */
function needsAddon(file: string, why: string): RegExp {
  return new RegExp(`^relay: unix@${file} needs the native addon \\(node:dgram has no Unix datagram sockets\\), which is not available: ${why}`);
}

/**
 * Whether the rest of a test cannot run: on a run without the addon (RELAY_NATIVE_UDP=0), after
 * asserting that its unix@ listener is refused at start, in one line, exit 2; without logger,
 * skipped (under CI=true, failed).
 */
async function cannotRun(t: TestContext): Promise<boolean> {
  if (native === undefined) {
    const file = path.join(os.tmpdir(), `relay-unix-never-made-${process.pid}`);
    const { code, line } = await refused([`unix@${file}`, 'tcp@127.0.0.1:9'], `unix@${file}`);
    assert.equal(code, 2);
    assert.match(line, needsAddon(file, '.+'));
    assert.equal(existsSync(file), false);
    return true;
  }
  return missingLogger(t);
}

test('unix@: refused at start and by a reload without the native addon, one line naming it, no socket file made', async () => {
  await withTempDir('relay-unix-', async (dir) => {
    const sink = await TestSink.start();
    const file = path.join(dir, 'log');
    const env = { RELAY_NATIVE_UDP: '0' };
    const missing = needsAddon(file, 'disabled by RELAY_NATIVE_UDP=0; unset RELAY_NATIVE_UDP$');
    // As the listener argument, as --listen, and checked by --check-config.
    for (const args of [
      [`unix@${file}`, sink.address()],
      ['udp@127.0.0.1:0', '--listen', `unix@${file}`, sink.address()],
      [`unix@${file}`, sink.address(), '--check-config'],
    ]) {
      const { code, line } = await refused(args, `unix@${file}`, env);
      assert.equal(code, 2, args.join(' '));
      assert.match(line, missing);
    }
    assert.equal(existsSync(file), false);
    // Added by a reload: refused, the relay runs on with what it had.
    const toml = path.join(dir, 'relay.toml');
    await writeFile(toml, relayToml(['udp@127.0.0.1:0'], [sink.address()]));
    const relay = spawnRelay(['--config', toml], { env });
    try {
      await relay.waitForStderr(/listening on udp@/);
      await writeFile(toml, relayToml(['udp@127.0.0.1:0', `unix@${file}`], [sink.address()]));
      relay.child.kill('SIGHUP');
      const [line] = await relay.waitForStderr(/reload failed[^\n]*\n/);
      assert.match(line, new RegExp(`still running the previous configuration: unix@${file} needs the native addon`));
      assert.equal(existsSync(file), false);
      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
    } finally {
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});

test('unix@: every datagram logger sends arrives in order; ?split=lf makes lines messages; mode and owner applied; /stats names it; removed at stop', async (t) => {
  if (await cannotRun(t)) return;
  await withTempDir('relay-unix-', async (dir) => {
    const sink = await TestSink.start();
    const file = path.join(dir, 'log');
    const split = path.join(dir, 'split');
    const root = process.getuid?.() === 0;
    // As root the files go to nobody:nogroup (looked up by name); otherwise to the relay's own user, by id.
    const owner = root ? { text: 'nobody:nogroup', uid: native!.unixUserId('nobody')!, gid: native!.unixGroupId('nogroup')! } : undefined;
    const ownerArgs = owner ? ['--unix-owner', owner.text] : [];
    let relay: RelayProcess | undefined;
    try {
      ({ relay } = await startRelay(
        [`unix@${file}`, '--listen', `unix@${split}?split=lf`, '--unix-mode', '0620', ...ownerArgs, '--metrics', '127.0.0.1:0', sink.address()],
        2,
      ));
      assert.match(relay.stderr, new RegExp(`listening on unix@${file} \\(native recvmmsg\\)\\n`));
      assert.match(relay.stderr, new RegExp(`listening on unix@${split} \\(native recvmmsg, split into lines\\)\\n`));
      for (const f of [file, split]) {
        assert.equal(socketMode(f), 0o620, `${f}: mode`);
        if (owner) assert.deepEqual([lstatSync(f).uid, lstatSync(f).gid], [owner.uid, owner.gid], `${f}: owner`);
      }

      const lines = Array.from({ length: LINES }, (_, i) => `message ${i} of ${LINES}`);
      await logTo(file, 'relaytest', { lines });
      await sink.waitFor(LINES);
      assert.equal(sink.messages.length, LINES);
      for (const [i, m] of sink.messages.entries()) assert.match(m.toString(), loggedAs('relaytest', lines[i]!), `message ${i}`);

      await logTo(split, 'splittest', { oneMessage: 'first\nsecond\n\nthird' });
      await sink.waitFor(LINES + 3);
      const [first, second, third] = sink.messages.slice(LINES).map((m) => m.toString());
      assert.match(first!, loggedAs('splittest', 'first'));
      assert.deepEqual([second, third, sink.messages.length], ['second', 'third', LINES + 3]);

      const base = await metricsBase(relay);
      await eventually(async () => {
        const listeners = (await stats(base)).listeners.map((l) => ({ name: l.name, received: l.receivedMessages, kernel: l.kernelDroppedMessages }));
        const want = [
          { name: `unix@${file}`, received: LINES, kernel: 0 },
          { name: `unix@${split}`, received: 3, kernel: 0 },
        ];
        return JSON.stringify(listeners) === JSON.stringify(want) || `listeners ${JSON.stringify(listeners)}, expected ${JSON.stringify(want)}`;
      });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, new RegExp(`^relay_received_messages_total\\{listener="unix@${file}"\\} ${LINES}$`, 'm'));

      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
      assert.equal(existsSync(file), false, 'socket file removed at stop');
      assert.equal(existsSync(split), false, 'socket file removed at stop');
    } finally {
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});

test('unix@: a stale socket file is replaced; a live one and a path that is not a socket are refused with one line and kept', async (t) => {
  if (await cannotRun(t)) return;
  await withTempDir('relay-unix-', async (dir) => {
    const sink = await TestSink.start();
    const file = path.join(dir, 'log');
    let relay: RelayProcess | undefined;
    try {
      // A relay killed outright leaves its socket file: stale, nobody bound to it.
      const killed = await startRelay([`unix@${file}`, sink.address()]);
      await killed.relay.stop('SIGKILL');
      assert.notEqual(socketMode(file), undefined, 'the killed relay left its socket file');
      ({ relay } = await startRelay([`unix@${file}`, sink.address()]));

      // Live: a second relay on the path is refused and leaves the first one's file in place.
      const live = await refused([`unix@${file}`, sink.address()], `unix@${file}`);
      assert.equal(live.code, 1);
      assert.equal(live.line, `relay: cannot listen on unix@${file}: address in use: another socket is bound to ${file}`);
      await logTo(file, 'stale', { lines: ['after the refused relay'] });
      await sink.waitFor(1);
      assert.match(sink.messages[0]!.toString(), loggedAs('stale', 'after the refused relay'));

      // Not a socket: refused, never deleted.
      const plain = path.join(dir, 'plain');
      await writeFile(plain, 'not a socket\n');
      const notSocket = await refused([`unix@${plain}`, sink.address()], `unix@${plain}`);
      assert.equal(notSocket.code, 1);
      assert.equal(notSocket.line, `relay: cannot listen on unix@${plain}: ${plain} exists and is not a socket; it is left as it is`);
      assert.equal(readFileSync(plain, 'utf8'), 'not a socket\n');

      // Unknown owner: refused when the configuration is read.
      const unknown = await refused([`unix@${path.join(dir, 'other')}`, '--unix-owner', 'no-such-user-of-relay', sink.address()], '--unix-owner');
      assert.equal(unknown.code, 2);
      assert.equal(unknown.line, 'relay: --unix-owner "no-such-user-of-relay": no user "no-such-user-of-relay" on this system');

      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
      assert.equal(existsSync(file), false);
    } finally {
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});

test('unix@: SIGHUP adds a unix@ listener, moves it to ?split=lf on the same path, and removes it (its file with it)', async (t) => {
  if (await cannotRun(t)) return;
  await withTempDir('relay-unix-', async (dir) => {
    const sink = await TestSink.start();
    const file = path.join(dir, 'log');
    const toml = path.join(dir, 'relay.toml');
    let reloads = 0;
    /** Reloads to `listen`; its outcome line ("reloaded …" or "reload failed …") must match `done`. */
    const reload = async (listen: string[], done: RegExp): Promise<void> => {
      await writeFile(toml, relayToml(listen, [sink.address()]));
      relay!.child.kill('SIGHUP');
      reloads++;
      await relay!.waitForStderr(new RegExp(`(?:(?:reloaded|reload failed)[^\\n]*\\n[\\s\\S]*?){${reloads}}`));
      const outcomes = [...relay!.stderr.matchAll(/(?:reloaded|reload failed)[^\n]*/g)].map((m) => m[0]);
      assert.match(outcomes[reloads - 1]!, done);
    };
    await writeFile(toml, relayToml(['udp@127.0.0.1:0'], [sink.address()]));
    let relay: RelayProcess | undefined;
    try {
      ({ relay } = await startRelay(['--config', toml]));
      await reload(['udp@127.0.0.1:0', `unix@${file}`], new RegExp(`reloaded .*: listening on unix@${file}$`));
      assert.equal(socketMode(file), 0o666, 'the default mode');
      await logTo(file, 'added', { lines: ['one'] });
      await sink.waitFor(1);

      await reload(['udp@127.0.0.1:0', `unix@${file}?split=lf`], new RegExp(`reloaded .*: listening on unix@${file}; closed unix@${file}$`));
      await logTo(file, 'moved', { oneMessage: 'two\nthree' });
      await sink.waitFor(3);
      assert.deepEqual(
        sink.messages.map((m) => m.toString().replace(/^<\d+>.* (\w+: )/, '$1')),
        ['added: one', 'moved: two', 'three'],
      );

      await reload(['udp@127.0.0.1:0'], new RegExp(`reloaded .*: closed unix@${file}$`));
      assert.equal(existsSync(file), false, 'the removed listener took its socket file');
      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
    } finally {
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});
