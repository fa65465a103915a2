/**
 * Groups that move shares, end to end through bin/relay with real sockets: failover, any-of and
 * least-loaded survive a member killed (or stalled) mid-stream: every message arrives, at the
 * member that takes over what the dead one had not confirmed, and nothing is counted twice;
 * /health and /metrics show the group. Consistent hashes: ./groups-hash.test.ts. Input is a
 * framed TCP listener (`?framing=lf`: each line a message).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { bigLine, killMidStream } from '../helpers/group-kill.js';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { sendLines, metricValue } from '../helpers/tcp-lines.js';

test('groups: failover: the first member dies mid-stream; the second starts with what it had not confirmed, in order, and nothing is counted twice', async (t) => {
  const N = 20_000;
  const sinks = [await TestSink.start('lf'), await TestSink.start('lf')];
  try {
    const { sent, handed } = await killMidStream('failover', sinks, N, () => 'metric.a');
    const second = sinks[1]!.messages.map(metricValue);
    // The first confirmed 0 .. sent[0]-1: the second has exactly the rest, in order.
    assert.equal(second[0], sent[0], 'the second starts right after the last message the first had confirmed');
    assert.deepEqual(second.filter((n, i) => n !== sent[0]! + i).slice(0, 3), [], 'then every later message once, in order');
    assert.equal(second.length, N - sent[0]!);
    t.diagnostic(`first confirmed ${sent[0]} (received ${sinks[0]!.messages.length}), handed over ${handed}, second ${sent[1]}`);
  } finally {
    for (const s of sinks) await s.close();
  }
});

test('groups: any-of: a member dies mid-stream; its keys move to the others, the other keys stay, nothing is counted twice', async (t) => {
  // The dead member owns a third: 15 MB of 1 KB lines, more than its kernel buffers hold, so some are unconfirmed when it dies.
  const N = 45_000;
  const KEYS = 60;
  const sinks = [await TestSink.start('lf'), await TestSink.start('lf'), await TestSink.start('lf')];
  try {
    const keyOf = (m: Buffer): string => m.toString('latin1').split(' ', 1)[0]!;
    const { sent, handed } = await killMidStream('any-of', sinks, N, (i) => `metric.k${i % KEYS}`);
    const deadKeys = new Set(sinks[0]!.messages.map(keyOf));
    assert.ok(deadKeys.size > 0 && deadKeys.size < KEYS, `the dead member had some of the keys (${deadKeys.size})`);
    // A key of a member that stayed up never moved: each such key is on one member only.
    const firstHolder = new Map<string, number>();
    for (const [i, s] of sinks.entries()) {
      if (i === 0) continue;
      for (const k of s.messages.map(keyOf)) {
        if (deadKeys.has(k)) continue;
        assert.equal(firstHolder.get(k) ?? i, i, `key ${k} of a member that stayed up moved`);
        firstHolder.set(k, i);
      }
    }
    t.diagnostic(`sent ${sent.join('/')}, handed over ${handed}; ${deadKeys.size} keys moved`);
  } finally {
    for (const s of sinks) await s.close();
  }
});

test('groups: a bad group is one line and exit 2', async () => {
  const started = startRelay(['tcp@127.0.0.1:0?framing=lf', '--group', 'name=x mode=roundrobin members=tcp@127.0.0.1:1']);
  await assert.rejects(started, /relay: --group 1: mode: expected one of failover, any-of, least-loaded, carbon_ch, fnv1a_ch, jump_fnv1a_ch/);
});

test('groups: least-loaded: a member that stops reading gets no more; the others take the load, and what it held goes to them if it is cut as stalled', async (t) => {
  const N = 20_000;
  const sinks = [await TestSink.start('lf'), await TestSink.start('lf')];
  let relay: RelayProcess | undefined;
  try {
    const members = sinks.map((s) => `${s.address()}?framing=lf`).join(',');
    const started = await startRelay([
      'tcp@127.0.0.1:0?framing=lf',
      '--group',
      `name=pool mode=least-loaded members=${members}`,
      '--stall-timeout',
      '1s',
      '--metrics',
      '127.0.0.1:0',
      '--stats-interval',
      '0',
    ]);
    relay = started.relay;
    const base = await metricsBase(relay);
    const sending = sendLines(
      started.listeners[0]!,
      Array.from({ length: N }, (_, i) => bigLine('metric.a', i)),
    );
    await sinks[0]!.waitFor(500);
    sinks[0]!.pauseReading();
    await sending;
    // The paused connection is cut as stalled; the member reconnects (a new connection reads again).
    const seen = (): Set<number> => new Set(sinks.flatMap((s) => s.messages).map(metricValue));
    let snapshot = await stats(base);
    await eventually(async () => {
      snapshot = await stats(base);
      const lostInKernel = snapshot.destinations[0]!.sentMessages - sinks[0]!.messages.length;
      const counted = snapshot.destinations.reduce((n, d) => n + d.sentMessages, 0);
      return (
        (seen().size + lostInKernel === N && counted === N) ||
        `${seen().size} distinct arrived, ${lostInKernel} lost in the stalled member's kernel, ${counted} counted sent, of ${N}`
      );
    }, 30_000);
    const sent = snapshot.destinations.map((d) => d.sentMessages);
    assert.equal(
      sent.reduce((a, b) => a + b, 0),
      N,
      'each message counted sent once',
    );
    assert.ok(sinks[1]!.messages.length > N / 4, `the other member took the load (${sinks[1]!.messages.length})`);
    // Cut as stalled when it had writes the kernel had not taken; else all it got is in its kernel (lostInKernel).
    const { stalls, handedOverMessages } = snapshot.destinations[0]!;
    t.diagnostic(`sent ${sent.join('/')}, stalls ${stalls}, handed over ${handedOverMessages}`);
  } finally {
    await stopRelayAndSinks(relay, sinks);
  }
});
