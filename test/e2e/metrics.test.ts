/**
 * Observability through the real relay and real HTTP: exact counts on /metrics, /health with a
 * dead destination, /stats agreeing with /metrics, and kernel drops provoked on purpose and
 * accounted for.
 */
import test from 'node:test';
import { eventually, metricsBase } from '../helpers/relay-stats.js';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { hostPortOf, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import type { Snapshot } from '../../src/metrics/snapshot-types.js';
import { loadNativeUdp } from '../../src/native/addon.js';

/** The value of one sample in Prometheus text, by name and exact label set; undefined if absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have =
      (match[2] ?? '')
        .match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g)
        ?.sort()
        .join(',') ?? '';
    if (have === wanted) return Number(match[3]);
  }
  return undefined;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

test('metrics: exact counts per destination, a dead destination is up 0, /health degraded, /stats agrees', async () => {
  const sink = await TestSink.start();
  const dead = 'tcp@127.0.0.1:9';
  const { relay, listeners } = await startRelay(['udp@127.0.0.1:0', '--metrics', '127.0.0.1:0', sink.address(), dead]);
  try {
    const base = await metricsBase(relay);
    await relay.waitForStderr(/connected/);
    const count = 2000;
    // Scrape while the load runs: lags must stay sane under concurrent updates.
    const lagsSeen: number[] = [];
    let sending = true;
    const scraping = (async () => {
      while (sending) lagsSeen.push(sample((await get(`${base}/metrics`)).body, 'relay_destination_lag_messages', { destination: sink.address() }) ?? -1);
    })();
    await sendWindowed(
      hostPortOf(listeners[0]!),
      count,
      (i) => Buffer.from(`message ${i}`),
      (n) => sink.waitFor(n),
      64,
    );
    sending = false;
    await scraping;
    assert.ok(lagsSeen.length > 0 && lagsSeen.every((lag) => lag >= 0 && lag <= count), `lags seen under load: ${lagsSeen.join(' ')}`);
    await sink.waitFor(count);
    const bytes = Array.from({ length: count }, (_, i) => `message ${i}`.length).reduce((a, b) => a + b, 0);
    const listener = { listener: listeners[0]! };
    const live = { destination: sink.address() };
    await eventually(async () => {
      const text = (await get(`${base}/metrics`)).body;
      const sent = sample(text, 'relay_sent_messages_total', live);
      return sent === count || `sent ${sent} of ${count}`;
    });
    const { status, body: text } = await get(`${base}/metrics`);
    assert.equal(status, 200);
    assert.equal(sample(text, 'relay_received_messages_total', listener), count);
    assert.equal(sample(text, 'relay_received_bytes_total', listener), bytes);
    assert.equal(sample(text, 'relay_kernel_dropped_messages_total', listener), 0);
    assert.equal(sample(text, 'relay_sent_messages_total', live), count);
    assert.equal(sample(text, 'relay_sent_bytes_total', live), bytes + 4 * count, 'len32le adds 4 bytes a message');
    assert.equal(sample(text, 'relay_destination_up', live), 1);
    assert.equal(sample(text, 'relay_destination_lag_messages', live), 0);
    assert.equal(sample(text, 'relay_destination_up', { destination: dead }), 0);
    assert.equal(sample(text, 'relay_sent_messages_total', { destination: dead }), 0);
    assert.equal(sample(text, 'relay_destination_lag_messages', { destination: dead }), count, 'everything is waiting for it');
    assert.ok(sample(text, 'relay_reconnects_total', { destination: dead })! >= 1);
    for (const reason of ['overflow', 'spill_full', 'unframeable', 'shutdown']) {
      assert.equal(sample(text, 'relay_dropped_messages_total', { destination: sink.address(), reason }), 0, reason);
    }
    for (const reason of ['oversize', 'ring_full', 'framing', 'not_allowed']) {
      assert.equal(sample(text, 'relay_ingest_dropped_messages_total', { ...listener, reason }), 0, reason);
    }
    assert.equal(sample(text, 'relay_ring_capacity_bytes'), 64 * 1024 * 1024);
    for (const thread of ['main', 'ingest', 'egress', 'background']) {
      assert.ok(sample(text, 'relay_thread_cpu_seconds_total', { thread }) !== undefined, `thread ${thread}`);
    }
    assert.ok(sample(text, 'process_resident_memory_bytes')! > 1e6);

    const healthReply = await get(`${base}/health`);
    assert.equal(healthReply.status, 200);
    const healthBody = JSON.parse(healthReply.body) as { status: string; down: string[] };
    assert.equal(healthBody.status, 'degraded');
    assert.deepEqual(healthBody.down, [dead]);

    const stats = JSON.parse((await get(`${base}/stats`)).body) as Snapshot;
    assert.equal(stats.listeners[0]!.receivedMessages, count);
    assert.equal(stats.destinations[0]!.sentMessages, count);
    assert.equal(stats.destinations[1]!.up, false);
    assert.equal((await get(`${base}/nowhere`)).status, 404);
  } finally {
    await relay.stop('SIGKILL');
    await sink.close();
  }
});

test('metrics: /health is ok with every destination up and 503 down with none', async () => {
  const sink = await TestSink.start();
  const up = await startRelay(['udp@127.0.0.1:0', '--metrics', '127.0.0.1:0', sink.address()]);
  const down = await startRelay(['udp@127.0.0.1:0', '--metrics', '127.0.0.1:0', 'tcp@127.0.0.1:9']);
  try {
    const upBase = await metricsBase(up.relay);
    await up.relay.waitForStderr(/connected/);
    const ok = await get(`${upBase}/health`);
    assert.equal(ok.status, 200);
    assert.equal((JSON.parse(ok.body) as { status: string }).status, 'ok');
    const downReply = await get(`${await metricsBase(down.relay)}/health`);
    assert.equal(downReply.status, 503);
    assert.equal((JSON.parse(downReply.body) as { status: string }).status, 'down');
  } finally {
    await Promise.all([up.relay.stop('SIGKILL'), down.relay.stop('SIGKILL')]);
    await sink.close();
  }
});

test('metrics: kernel drops provoked with a tiny --recv-buffer are counted; received + kernel-dropped = sent', async () => {
  const sink = await TestSink.start();
  const { relay, listeners } = await startRelay(['udp@127.0.0.1:0', '--recv-buffer', '4096', '--metrics', '127.0.0.1:0', sink.address()]);
  try {
    const base = await metricsBase(relay);
    const target = hostPortOf(listeners[0]!);
    const socket = dgram.createSocket('udp4');
    const count = 20_000;
    const payload = Buffer.alloc(1000, 0x61);
    // An unpaced burst into a ~4 KiB receive buffer: the kernel must drop some.
    await new Promise<void>((resolve, reject) => {
      let pending = count;
      for (let i = 0; i < count; i++) socket.send(payload, target.port, target.host, (error) => (error ? reject(error) : --pending === 0 && resolve()));
    });
    socket.close();
    const listener = { listener: listeners[0]! };
    let received = 0;
    let dropped = 0;
    await eventually(async () => {
      const text = (await get(`${base}/metrics`)).body;
      received = sample(text, 'relay_received_messages_total', listener) ?? 0;
      dropped = sample(text, 'relay_kernel_dropped_messages_total', listener) ?? 0;
      // A ring-full drop (only under heavy CPU pressure) is the relay's own, counted apart.
      const ringFull = sample(text, 'relay_ingest_dropped_messages_total', { ...listener, reason: 'ring_full' }) ?? 0;
      return received + dropped + ringFull === count || `received ${received} + kernel-dropped ${dropped} + ring-full ${ringFull} != sent ${count}`;
    });
    assert.ok(dropped > 0, 'the kernel dropped some');
    console.log(`kernel drops provoked: sent ${count}, received ${received}, kernel-dropped ${dropped}`);
  } finally {
    await relay.stop('SIGKILL');
    await sink.close();
  }
});

// npm test runs the e2e files twice: with the native addon (when it built) and with RELAY_NATIVE_UDP=0.
test('metrics: the log line and /metrics say which UDP receive path runs', async () => {
  const expected = loadNativeUdp() ? 'native' : 'dgram';
  const sink = await TestSink.start();
  let relay: RelayProcess | undefined;
  try {
    ({ relay } = await startRelay(['udp@127.0.0.1:0', '--metrics', '127.0.0.1:0', sink.address()]));
    await relay.waitForStderr(new RegExp(`listening on udp@\\S+ \\(${expected === 'native' ? 'native recvmmsg' : 'node:dgram'}\\)`));
    if (expected === 'dgram') await relay.waitForStderr(/native UDP receive not available \(.+\); using node:dgram/);
    const body = await (await fetch(`${await metricsBase(relay)}/metrics`)).text();
    assert.match(body, new RegExp(`^relay_ingest_native ${expected === 'native' ? 1 : 0}$`, 'm'));
  } finally {
    await relay?.stop('SIGKILL');
    await sink.close();
  }
});
