/**
 * --reuse-port through the real bin/relay (README "Scale out"): three relays on one UDP port and
 * one TCP port share the senders, each sender (a 4-tuple the kernel hashes) on one relay, every
 * line once and in order; /stats, the listening line and relay top say the port is shared; a
 * relay without --reuse-port on the port fails in one line; a rolling restart (a second relay
 * starts on the port, the first stops) loses nothing while senders keep sending. npm test runs
 * the end-to-end files twice: with RELAY_NATIVE_UDP=0 (or without the addon) --reuse-port must be
 * refused at start, by --check-config and by a reload, in one line.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { reusePortNative } from '../../src/ingest/reuse-port.js';
import { hostPortOf, spawnRelay, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { metricsBase, stats } from '../helpers/relay-stats.js';
import { relayToml } from '../helpers/reload-config.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { sendLines } from '../helpers/tcp-lines.js';
import { checkEveryLineOnce, UdpSenders, waitDelivered } from '../helpers/spread-traffic.js';
import { withTempDir } from '../helpers/temp-dir.js';

const SENDERS = 12;
const ROUNDS = 200;
const NEEDS_ADDON = /^relay: --reuse-port needs the native addon \(Node 20's node:dgram and net cannot set SO_REUSEPORT\), which is not available: .+/;

/** Runs bin/relay to its exit: its exit code and the one stderr line matching `pattern` (a refusal is exactly one line). */
async function refused(args: string[], pattern: RegExp, env?: NodeJS.ProcessEnv): Promise<{ code: number | null; line: string }> {
  const exit = await spawnRelay(args, { env }).exit();
  const lines = exit.stderr.split('\n').filter((line) => pattern.test(line));
  assert.equal(lines.length, 1, `one line matching ${pattern} expected, stderr:\n${exit.stderr}`);
  return { code: exit.code, line: lines[0]! };
}

/** On a run without the addon (RELAY_NATIVE_UDP=0): asserts --reuse-port is refused at start, in one line, exit 2; then the test has nothing more to run. */
async function cannotRun(): Promise<boolean> {
  if (reusePortNative() !== undefined) return false;
  const { code } = await refused(['udp@127.0.0.1:0', 'tcp@127.0.0.1:9', '--reuse-port'], NEEDS_ADDON);
  assert.equal(code, 2);
  return true;
}

/** Every relay of `relays` stopped with SIGTERM: each exits 0 (a graceful stop). */
async function stopAll(relays: RelayProcess[]): Promise<void> {
  for (const exit of await Promise.all(relays.map((r) => r.stop('SIGTERM')))) assert.equal(exit.code, 0, exit.stderr);
}

test('--reuse-port: refused in one line without the native addon (at start, by --check-config, by a reload), and for udp@ on --ingest dgram; --check-config says which listeners share their port', async () => {
  await withTempDir('relay-reuse-port-', async (dir) => {
    const sink = await TestSink.start();
    const env = { RELAY_NATIVE_UDP: '0' };
    const disabled = /which is not available: disabled by RELAY_NATIVE_UDP=0; unset RELAY_NATIVE_UDP$/;
    for (const args of [
      ['udp@127.0.0.1:0', sink.address(), '--reuse-port'],
      ['tcp@127.0.0.1:0', sink.address(), '--reuse-port'],
      ['udp@127.0.0.1:0', sink.address(), '--reuse-port', '--check-config'],
    ]) {
      const { code, line } = await refused(args, NEEDS_ADDON, env);
      assert.equal(code, 2, args.join(' '));
      assert.match(line, disabled);
    }
    if (reusePortNative() !== undefined) {
      const dgram =
        /^relay: --reuse-port: udp@127\.0\.0\.1:0 would receive with node:dgram \(--ingest dgram\), which cannot set SO_REUSEPORT on Node 20; use --ingest native or auto$/;
      assert.equal((await refused(['udp@127.0.0.1:0', sink.address(), '--reuse-port', '--ingest', 'dgram'], dgram)).code, 2);
      // With the addon --check-config says which listeners share their port (not unix@: a path is no port).
      const checked = await spawnRelay([
        'udp@127.0.0.1:0',
        '--listen',
        'tcp@127.0.0.1:0',
        '--listen',
        'unix@/run/never',
        sink.address(),
        '--reuse-port',
        '--check-config',
      ]).exit();
      assert.equal(checked.code, 0, checked.stderr);
      assert.match(checked.stdout, /\nlisten {6}udp@127\.0\.0\.1:0 \(UDP via native recvmmsg, port shared with SO_REUSEPORT\)\n/);
      assert.match(checked.stdout, /\nlisten {6}tcp@127\.0\.0\.1:0 \(framed TCP, len32le, port shared with SO_REUSEPORT\)\n/);
      assert.match(checked.stdout, /\nlisten {6}unix@\/run\/never \(Unix datagrams via native recvmmsg, socket file mode 0666\)\n/);
    }
    // Set by a reload: refused, the relay runs on with what it had.
    const toml = path.join(dir, 'relay.toml');
    await writeFile(toml, relayToml(['udp@127.0.0.1:0'], [sink.address()]));
    const relay = spawnRelay(['--config', toml], { env });
    try {
      await relay.waitForStderr(/listening on udp@/);
      await writeFile(toml, relayToml(['udp@127.0.0.1:0'], [sink.address()], 'reuse-port = true'));
      relay.child.kill('SIGHUP');
      const [line] = await relay.waitForStderr(/reload failed[^\n]*\n/);
      assert.match(line, /still running the previous configuration: --reuse-port needs the native addon/);
      await stopAll([relay]);
    } finally {
      await stopRelayAndSinks(relay, [sink]);
    }
  });
});

test('--reuse-port: three relays on one UDP and one TCP port share 12 senders, each on one relay, every line once and in order; stats, top and the log say so; a relay without it fails', async () => {
  if (await cannotRun()) return;
  const sinks = [await TestSink.start(), await TestSink.start(), await TestSink.start()];
  const relays: RelayProcess[] = [];
  const senders = await UdpSenders.open(SENDERS);
  try {
    const args = (udp: string, tcp: string, sink: TestSink) => [
      udp,
      '--listen',
      `${tcp}?framing=lf`,
      '--reuse-port',
      '--metrics',
      '127.0.0.1:0',
      sink.address(),
    ];
    const first = await startRelay(args('udp@127.0.0.1:0', 'tcp@127.0.0.1:0', sinks[0]!), 2);
    relays.push(first.relay);
    const [udp, tcp] = first.listeners as [string, string];
    for (const sink of sinks.slice(1)) relays.push((await startRelay(args(udp, tcp, sink), 2)).relay);
    for (const relay of relays) {
      assert.match(relay.stderr, new RegExp(`listening on ${udp} \\(native recvmmsg, port shared\\)\\n`));
      assert.match(relay.stderr, new RegExp(`listening on ${tcp} \\(port shared\\)\\n`));
    }

    // A relay that does not share: one line, the port's address and how ports are shared (node's TCP error says `listen`).
    const { port: udpPort } = hostPortOf(udp);
    const { port: tcpPort } = hostPortOf(tcp);
    for (const [listener, port] of [
      [udp, udpPort],
      [tcp, tcpPort],
    ] as const) {
      const inUse = new RegExp(
        `^relay: cannot listen on ${listener}: (?:bind|listen) EADDRINUSE[^(]* 127\\.0\\.0\\.1:${port} \\(relays share a port only when each binds it with --reuse-port, as one user\\)$`,
      );
      assert.equal((await refused([listener, sinks[0]!.address()], inUse)).code, 1);
    }

    const rounds = await senders.sendRounds(
      { host: '127.0.0.1', port: udpPort },
      'u',
      (r) => r < ROUNDS,
      (n) => waitDelivered(sinks, n),
    );
    await waitDelivered(sinks, SENDERS * rounds);
    const connections = Array.from({ length: SENDERS }, (_, c) =>
      sendLines(
        tcp,
        Array.from({ length: ROUNDS }, (_, i) => `t ${c}:${i}`),
      ),
    );
    await Promise.all(connections);
    await waitDelivered(sinks, 2 * SENDERS * ROUNDS);

    for (const prefix of ['u', 't']) {
      const placed = checkEveryLineOnce(sinks, prefix, SENDERS, ROUNDS);
      // The kernel hashes a sender's addresses and ports: each sender (each connection) lands on one relay.
      for (const [sender, perSink] of placed.entries()) {
        assert.equal(perSink.filter((lines) => lines.length > 0).length, 1, `${prefix} sender ${sender} on one relay: ${perSink.map((l) => l.length)}`);
      }
      const used = sinks.filter((_, k) => placed.some((perSink) => perSink[k]!.length > 0)).length;
      assert.ok(used > 1, `${prefix}: the ${SENDERS} senders spread over more than one relay (${used})`);
    }

    const snapshots = await Promise.all(relays.map(async (r) => stats(await metricsBase(r))));
    for (const s of snapshots)
      assert.deepEqual(
        s.listeners.map((l) => [l.name, l.reusePort]),
        [
          [udp, true],
          [tcp, true],
        ],
      );
    const received = (name: string) => snapshots.reduce((n, s) => n + s.listeners.find((l) => l.name === name)!.receivedMessages, 0);
    assert.deepEqual([received(udp), received(tcp)], [SENDERS * ROUNDS, SENDERS * ROUNDS]);
    const top = await spawnRelay(['top', '--metrics', new URL(await metricsBase(relays[0]!)).host, '--once', '--interval', '100ms']).exit();
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, new RegExp(`\\n${udp} \\(port shared\\) `));
    await stopAll(relays);
  } finally {
    senders.close();
    for (const r of relays) await r.stop('SIGKILL');
    for (const s of sinks) await s.close();
  }
});

test('--reuse-port: a rolling restart loses nothing: a second relay starts on the port, the first stops while 12 senders keep sending; each sender moves once, old relay first', async () => {
  if (await cannotRun()) return;
  const sinks = [await TestSink.start(), await TestSink.start()];
  const relays: RelayProcess[] = [];
  const senders = await UdpSenders.open(SENDERS);
  try {
    const old = await startRelay(['udp@127.0.0.1:0', '--reuse-port', sinks[0]!.address()]);
    relays.push(old.relay);
    const target = hostPortOf(old.listeners[0]!);
    let round = 0;
    let endAt = Number.POSITIVE_INFINITY;
    const traffic = senders.sendRounds(
      target,
      'r',
      (r) => {
        round = r;
        return r < endAt;
      },
      (n) => waitDelivered(sinks, n),
    );
    const reached = async (r: number): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (round < r) {
        assert.ok(Date.now() < deadline, `traffic stuck at round ${round}, waiting for ${r}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await reached(50);
    relays.push((await startRelay([old.listeners[0]!, '--reuse-port', sinks[1]!.address()])).relay);
    await reached(round + 50);
    const exit = await old.relay.stop('SIGTERM');
    assert.equal(exit.code, 0, exit.stderr);
    endAt = round + 50;
    const rounds = await traffic;
    await waitDelivered(sinks, SENDERS * rounds);

    const placed = checkEveryLineOnce(sinks, 'r', SENDERS, rounds);
    // Senders only leave the old relay: what it got of each is a prefix of the sender's lines, the new one the rest.
    for (const [sender, [before, after]] of placed.entries()) {
      assert.deepEqual(
        before,
        Array.from({ length: before!.length }, (_, i) => i),
        `sender ${sender}: the old relay got a prefix`,
      );
      assert.ok(after!.length >= 50, `sender ${sender}: the new relay got its lines once the old one stopped (${after!.length})`);
    }
    assert.ok(
      placed.every(([before]) => before!.length >= 50),
      'the old relay had every sender before the new one started',
    );
    await stopAll(relays.slice(1));
  } finally {
    senders.close();
    for (const r of relays) await r.stop('SIGKILL');
    for (const s of sinks) await s.close();
  }
});
