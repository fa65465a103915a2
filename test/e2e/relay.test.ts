/**
 * End to end through the real `bin/relay` process: real UDP senders, real TCP sinks on
 * loopback, every payload byte and its order checked at every sink.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import type { FramingName } from '../../src/framing/index.js';
import { hostPortOf, spawnRelay, startRelay } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { mulberry32, randomInt } from '../helpers/prng.js';

const MAX_UDP_PAYLOAD = 65507;

/** Random binary payloads: mostly small, a fifth up to the largest UDP payload, and both extremes. */
function randomPayloads(seed: number, count: number): Buffer[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, (_, i) => {
    const size = i === 0 ? 0 : i === 1 ? MAX_UDP_PAYLOAD : random() < 0.2 ? randomInt(random, 0, MAX_UDP_PAYLOAD) : randomInt(random, 0, 2048);
    const payload = Buffer.allocUnsafe(size);
    for (let b = 0; b < size; b++) payload[b] = (random() * 256) | 0;
    return payload;
  });
}

/** Asserts that `sink` got exactly `expected`, in order, byte for byte. */
function assertDelivered(sink: TestSink, expected: Buffer[]): void {
  assert.equal(sink.messages.length, expected.length, `${sink.address()} message count`);
  for (let i = 0; i < expected.length; i++) {
    if (!sink.messages[i]!.equals(expected[i]!)) {
      assert.fail(`${sink.address()} message ${i}: ${sink.messages[i]!.length} bytes differ from the ${expected[i]!.length} sent`);
    }
  }
  assert.equal(sink.errors.length, 0, `${sink.address()} framing errors: ${sink.errors.join('; ')}`);
}

/** Sends `payloads` to the relay's UDP listener, windowed on the slowest sink. */
async function sendThrough(listener: string, sinks: TestSink[], payloads: Buffer[]): Promise<void> {
  const slowest = (n: number) => Promise.all(sinks.map((s) => s.waitFor(n))).then(() => undefined);
  await sendWindowed(hostPortOf(listener), payloads.length, (i) => payloads[i]!, slowest);
  await slowest(payloads.length);
}

for (const family of [
  { name: 'IPv4', host: '127.0.0.1', listen: 'udp@127.0.0.1:0', count: 2000, sinks: 3 },
  { name: 'IPv6', host: '::1', listen: 'udp@[::1]:0', count: 600, sinks: 2 },
]) {
  test(`e2e ${family.name}: random binary datagrams of 0-${MAX_UDP_PAYLOAD} bytes reach ${family.sinks} sinks byte-exact and in order; SIGTERM exits 0`, async () => {
    const sinks = await Promise.all(Array.from({ length: family.sinks }, () => TestSink.start('len32le', family.host)));
    const { relay, listeners } = await startRelay([family.listen, ...sinks.map((s) => s.address())]);
    try {
      await Promise.all(sinks.map(() => relay.waitForStderr(new RegExp(`(connected[\\s\\S]*){${family.sinks}}`))));
      const payloads = randomPayloads(family.count, family.count);
      await sendThrough(listeners[0]!, sinks, payloads);
      for (const sink of sinks) assertDelivered(sink, payloads);
      const exit = await relay.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr);
      await Promise.all(sinks.map((s) => s.waitUntilClosed()));
      for (const sink of sinks) assert.equal(sink.tornBytes, 0);
    } finally {
      await relay.stop('SIGKILL');
      await Promise.all(sinks.map((s) => s.close()));
    }
  });
}

// A run of ring items that ended exactly at the end of the buffer used to run on into the next
// lap, and its zero-copy view past the buffer's end killed the relay ("length" is outside of
// buffer bounds). 1020 + 4 divides the ring: every lap ends that way. A 64 KiB ring makes laps short.
test('e2e: lap-end-sized datagrams, then random sizes, through a 64 KiB ring: nothing lost, nothing torn, the relay lives', async () => {
  const sinks = await Promise.all([TestSink.start('len32le'), TestSink.start('octet')]);
  const { relay, listeners } = await startRelay([
    'udp@127.0.0.1:0',
    '--buffer',
    '64KiB',
    '--max-message',
    '2048',
    sinks[0]!.address(),
    sinks[1]!.address(true),
  ]);
  try {
    await relay.waitForStderr(/(connected[\s\S]*){2}/);
    const random = mulberry32(1020);
    const lapEnd = Array.from({ length: 3000 }, (_, i) => Buffer.alloc(1020, i & 0xff));
    // Non-empty: octet cannot carry an empty message (counted, not delivered).
    const mixed = Array.from({ length: 3000 }, (_, i) => Buffer.alloc(randomInt(random, 1, 2048), (i * 7) & 0xff));
    const payloads = [...lapEnd, ...mixed];
    await sendThrough(listeners[0]!, sinks, payloads);
    for (const sink of sinks) assertDelivered(sink, payloads);
    const exit = await relay.stop('SIGTERM');
    assert.equal(exit.code, 0, exit.stderr);
    assert.doesNotMatch(exit.stderr, /thread failed/);
  } finally {
    await relay.stop('SIGKILL');
    await Promise.all(sinks.map((s) => s.close()));
  }
});

test('e2e: each framing end to end, with its rules for empty payloads and newlines', async () => {
  const framings: FramingName[] = ['len32le', 'len32be', 'lf', 'octet'];
  const sinks = await Promise.all(framings.map((f) => TestSink.start(f)));
  const { relay, listeners } = await startRelay(['udp@127.0.0.1:0', '--framing', 'len32be', ...sinks.map((s) => s.address(s.framing !== 'len32be'))]);
  try {
    await relay.waitForStderr(/(connected[\s\S]*){4}/);
    const payloads = ['first', '', 'two\nlines', 'ends with newline\n', 'x'.repeat(3000), 'last'].map((s) => Buffer.from(s));
    const expected: Record<FramingName, string[]> = {
      len32le: ['first', '', 'two\nlines', 'ends with newline\n', 'x'.repeat(3000), 'last'],
      len32be: ['first', '', 'two\nlines', 'ends with newline\n', 'x'.repeat(3000), 'last'],
      // The receiver splits on every newline; a trailing one is not doubled.
      lf: ['first', '', 'two', 'lines', 'ends with newline', 'x'.repeat(3000), 'last'],
      // octet cannot carry an empty message: it is skipped (and counted).
      octet: ['first', 'two\nlines', 'ends with newline\n', 'x'.repeat(3000), 'last'],
    };
    // Six small datagrams: no window needed (and the sinks get different counts).
    await sendWindowed(
      hostPortOf(listeners[0]!),
      payloads.length,
      (i) => payloads[i]!,
      async () => {},
      payloads.length,
    );
    for (const sink of sinks) {
      await sink.waitFor(expected[sink.framing].length);
      assert.deepEqual(
        sink.messages.map((m) => m.toString()),
        expected[sink.framing],
        sink.framing,
      );
    }
  } finally {
    await relay.stop('SIGKILL');
    await Promise.all(sinks.map((s) => s.close()));
  }
});

test('e2e: framed TCP input (and a second UDP listener) feed the same destinations', async () => {
  const sink = await TestSink.start('lf');
  const { relay, listeners } = await startRelay(['tcp@127.0.0.1:0?framing=octet', '--listen', 'udp@127.0.0.1:0', sink.address(true)], 2);
  try {
    const tcp = hostPortOf(listeners[0]!);
    const input = net.connect(tcp.port, tcp.host);
    await once(input, 'connect');
    // Two frames split across writes, including inside the length digits.
    input.write('5 hel');
    input.write('lo1');
    input.write('1 hello world');
    await sink.waitFor(2);
    await sendWindowed(
      hostPortOf(listeners[1]!),
      1,
      () => Buffer.from('via udp'),
      (n) => sink.waitFor(2 + n),
    );
    await sink.waitFor(3);
    assert.deepEqual(
      sink.messages.map((m) => m.toString()),
      ['hello', 'hello world', 'via udp'],
    );
    input.destroy();
  } finally {
    await relay.stop('SIGKILL');
    await sink.close();
  }
});

test('e2e: oversize datagrams are dropped and counted, the rest flows', async () => {
  const sink = await TestSink.start();
  const { relay, listeners } = await startRelay(['udp@127.0.0.1:0', '--max-message', '100', sink.address()]);
  try {
    await relay.waitForStderr(/connected/);
    const payloads = [Buffer.alloc(50, 1), Buffer.alloc(101, 2), Buffer.alloc(100, 3)];
    const target = hostPortOf(listeners[0]!);
    await sendWindowed(
      target,
      3,
      (i) => payloads[i]!,
      async () => {},
      3,
    );
    await sink.waitFor(2);
    assert.deepEqual(sink.messages, [payloads[0], payloads[2]]);
    await relay.waitForStderr(/dropped a 101-byte message: larger than --max-message 100/);
  } finally {
    await relay.stop('SIGKILL');
    await sink.close();
  }
});

test('e2e: a destination unreachable at start is retried while the others flow, then gets the backlog', async () => {
  const live = await TestSink.start();
  // A port that is free now: the late sink will listen on it.
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const latePort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const { relay, listeners } = await startRelay([
    'udp@127.0.0.1:0',
    '--reconnect-min',
    '20ms',
    '--reconnect-max',
    '200ms',
    live.address(),
    `tcp@127.0.0.1:${latePort}`,
  ]);
  let late: TestSink | undefined;
  try {
    await relay.waitForStderr(/cannot connect/);
    const payloads = randomPayloads(5, 300);
    await sendThrough(listeners[0]!, [live], payloads);
    assertDelivered(live, payloads);
    late = await TestSink.start('len32le', '127.0.0.1', latePort);
    await late.waitFor(payloads.length);
    assertDelivered(late, payloads);
  } finally {
    await relay.stop('SIGKILL');
    await Promise.all([live.close(), late?.close()]);
  }
});

test('e2e: relay send and relay sink, as in the README walkthrough', async () => {
  const sink = spawnRelay(['sink', 'tcp@127.0.0.1:0', '--framing', 'lf']);
  let relay: Awaited<ReturnType<typeof startRelay>>['relay'] | undefined;
  try {
    const sinkAddress = (await sink.waitForStderr(/listening on (tcp@\S+)/))[1]!;
    const started = await startRelay(['udp@127.0.0.1:0', `${sinkAddress}?framing=lf`]);
    relay = started.relay;
    await relay.waitForStderr(/connected/);
    const send = spawnRelay(['send', started.listeners[0]!], { stdin: 'pipe' });
    send.child.stdin!.end('hello\nworld\n');
    const sent = await send.exit();
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stderr, /sent 2 datagram/);
    await sink.waitForStdout(/^hello\nworld\n$/);
  } finally {
    await relay?.stop('SIGKILL');
    await sink.stop('SIGTERM');
  }
});

for (const { allow, delivered } of [
  { allow: '192.0.2.0/24', delivered: false },
  { allow: '127.0.0.1', delivered: true },
]) {
  test(`e2e: --allow ${allow} ${delivered ? 'admits' : 'ignores (and logs)'} a sender on 127.0.0.1`, async () => {
    const sink = await TestSink.start();
    const { relay, listeners } = await startRelay(['udp@127.0.0.1:0', '--allow', allow, sink.address()]);
    try {
      await relay.waitForStderr(/connected/);
      const target = hostPortOf(listeners[0]!);
      await sendWindowed(
        target,
        1,
        () => Buffer.from('from loopback'),
        async () => {},
        1,
      );
      if (delivered) {
        await sink.waitFor(1);
        assert.deepEqual(sink.messages.map(String), ['from loopback']);
      } else {
        await relay.waitForStderr(/ignored 127\.0\.0\.1: not in --allow/);
        // Dropped at ingest (the log line says so), so nothing can reach the sink.
        assert.equal(sink.messages.length, 0);
      }
    } finally {
      await relay.stop('SIGKILL');
      await sink.close();
    }
  });
}
