/**
 * --max-delay through bin/relay (the wake budget, src/egress/egress.ts park()): under a steady
 * stream of small batches every message still arrives, in order, and --check-config shows it;
 * a message sent after rest is not held for the budget's multiples (it arrives within a second).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { RELAY_BIN, hostPortOf, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { sendBurst, sendWindowed } from '../helpers/udp-sender.js';
import { numbered, sequence } from '../helpers/numbered.js';
import { assertRun } from '../helpers/reload-config.js';

test('--max-delay 5ms: 20,000 messages in small batches all arrive, in order; after rest one more arrives at once', async () => {
  const sink = await TestSink.start();
  let relay: RelayProcess | undefined;
  try {
    const started = await startRelay(['udp@127.0.0.1:0', sink.address(), '--max-delay', '5ms', '--stats-interval', '0']);
    relay = started.relay;
    const target = hostPortOf(started.listeners[0]!);
    const count = 20_000;
    await sendWindowed(
      target,
      count,
      (i) => numbered(i, 100),
      (n) => sink.waitFor(n, 10_000),
      50,
    );
    await sink.waitFor(count, 10_000);
    assertRun('with --max-delay', sequence(sink), 0, count);
    await new Promise((resolve) => setTimeout(resolve, 200)); // rest: egress parks on the ring
    await sendBurst(target, [numbered(count, 100)]);
    await sink.waitFor(count + 1, 1000);
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
  const check = execFileSync(process.execPath, [RELAY_BIN, 'udp@127.0.0.1:1', 'tcp@127.0.0.1:2', '--max-delay', '2ms', '--check-config'], { encoding: 'utf8' });
  assert.match(check, /waits up to 2ms to gather a batch/);
});

test('--max-delay 100ms: datagrams a hold left in the kernel queue are read and delivered when SIGTERM stops the relay', async () => {
  const sink = await TestSink.start();
  let relay: RelayProcess | undefined;
  try {
    const started = await startRelay(['udp@127.0.0.1:0', sink.address(), '--max-delay', '100ms', '--stats-interval', '0']);
    relay = started.relay;
    const target = hostPortOf(started.listeners[0]!);
    // One datagram after rest arrives at once; its small batch starts a hold (native path: ingest stops reading for 100 ms).
    await sendBurst(target, [numbered(0, 100)]);
    await sink.waitFor(1, 1000);
    const rest = Array.from({ length: 50 }, (_, i) => numbered(i + 1, 100));
    await sendBurst(target, rest);
    const exit = await relay.stop('SIGTERM');
    assert.equal(exit.code, 0, exit.stderr);
    await sink.waitFor(51, 5000);
    assertRun('after SIGTERM during a hold', sequence(sink), 0, 51);
  } finally {
    await stopRelayAndSinks(relay, [sink]);
  }
});
