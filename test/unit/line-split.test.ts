/**
 * `?split=lf`: splitLines on its own (every edge of a line), then Ingest with a real ring and a
 * real UDP socket on both receive paths (a line at and over --max-message, the ring filling in
 * the middle of a datagram).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { MAX_UDP_PAYLOAD_BYTES, datagramBytes, splitLines } from '../../src/ingest/line-split.js';
import { DEFAULTS } from '../../src/config/config.js';
import { Ingest } from '../../src/ingest/ingest.js';
import { loadNativeUdp, nativeUdpUnavailableReason } from '../../src/native/addon.js';
import { MIN_CAPACITY, TAIL, allocateRing, viewRing } from '../../src/ring/layout.js';
import { RingReader } from '../../src/ring/ring-reader.js';
import { RingWriter } from '../../src/ring/ring.js';
import { ListenerCounters, allocateCounters, listenerBase } from '../../src/metrics/counters.js';
import { RateLimitedLog } from '../../src/logging.js';
import type { UdpIngestPath } from '../../src/thread-protocol.js';

/** Runs splitLines over `text` placed inside a larger buffer (bytes around it must not leak in); `room` lines fit before "ring full". */
function split(text: string, room = Infinity): { lines: string[]; dropped: number[]; count: number } {
  const datagram = Buffer.from(text, 'latin1');
  const source = Buffer.concat([Buffer.from('x\ny'), datagram, Buffer.from('z\nw')]);
  const lines: string[] = [];
  const dropped: number[] = [];
  const count = splitLines(
    source,
    3,
    datagram.length,
    (bytes, start, length) => {
      if (lines.length >= room) return false;
      lines.push(bytes.toString('latin1', start, start + length));
      return true;
    },
    (length) => dropped.push(length),
  );
  return { lines, dropped, count };
}

const CASES: [name: string, text: string, lines: string[]][] = [
  ['one line with LF', 'a.b 1 1700000000\n', ['a.b 1 1700000000']],
  ['no LF at all', 'a.b 1 1700000000', ['a.b 1 1700000000']],
  ['several, the last without LF', 'a 1 1\nb 2 2\nc 3 3', ['a 1 1', 'b 2 2', 'c 3 3']],
  ['several, trailing LF', 'a 1 1\nb 2 2\n', ['a 1 1', 'b 2 2']],
  ['empty lines are skipped', '\na\n\n\nb\n\n', ['a', 'b']],
  ['only an LF', '\n', []],
  ['only LFs', '\n\n\n', []],
  ['empty datagram', '', []],
  ['CR before LF is kept', 'a\r\nb\r\n\r\n', ['a\r', 'b\r', '\r']],
  ['a lone CR is a line', '\r', ['\r']],
  ['bytes are bytes', 'caf\xe9\n\x00\x01\n', ['caf\xe9', '\x00\x01']],
];

for (const [name, text, expected] of CASES) {
  test(`splitLines: ${name}`, () => {
    const { lines, dropped, count } = split(text);
    assert.deepEqual(lines, expected);
    assert.deepEqual(dropped, []);
    assert.equal(count, expected.length);
  });
}

test('splitLines: the datagram is the whole buffer (node:dgram hands over exactly one)', () => {
  const lines: string[] = [];
  splitLines(
    Buffer.from('a\nbb\nccc'),
    0,
    8,
    (b, s, n) => lines.push(b.toString('latin1', s, s + n)) > 0,
    () => assert.fail('dropped'),
  );
  assert.deepEqual(lines, ['a', 'bb', 'ccc']);
});

test('splitLines: once the ring is full, the remaining lines are dropped without trying the ring', () => {
  const { lines, dropped, count } = split('a\nbb\n\nccc\ndddd\neeeee', 2);
  assert.deepEqual(lines, ['a', 'bb']);
  // "ccc" was tried and refused (the appender counts it); the ones after are handed to drop.
  assert.deepEqual(dropped, [4, 5]);
  assert.equal(count, 5);
});

test('datagramBytes: a split listener receives whole datagrams, whatever --max-message', () => {
  assert.equal(datagramBytes(undefined, 1024), 1024);
  assert.equal(datagramBytes('lf', 1024), MAX_UDP_PAYLOAD_BYTES);
  assert.equal(datagramBytes('lf', 1 << 20), 1 << 20);
});

const MAX_MESSAGE = 1024;
const LINE = 1000;

/** `n` lines of LINE bytes, each `tag` then its index, LF-terminated. */
function lines(tag: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}${i}`.padEnd(LINE, '.'));
}

for (const udpIngest of ['native', 'dgram'] satisfies UdpIngestPath[]) {
  test(`ingest (${udpIngest}) with ?split=lf: lines over --max-message and past a full ring are counted, the rest arrive in order`, async (t: TestContext) => {
    if (udpIngest === 'native' && loadNativeUdp() === undefined) {
      t.skip(`native UDP addon not loadable: ${nativeUdpUnavailableReason()}`);
      return;
    }
    // One destination slot in use and never released: nothing is reclaimed, the ring holds
    // exactly 65 items of 1000 bytes (4-byte header each; the 66th would need the lap's end).
    const ring = viewRing(allocateRing(MIN_CAPACITY, 1, 1));
    const counterSlots = new Float64Array(allocateCounters(1, 1));
    const writer = new RingWriter(ring);
    const ingest = new Ingest(
      writer,
      counterSlots,
      {
        maxMessageBytes: MAX_MESSAGE,
        allow: [],
        deny: [],
        recvBufferBytes: 1 << 20,
        udpIngest,
        tls: undefined,
        limits: DEFAULTS.inputLimits,
        unixSocket: DEFAULTS.unixSocket,
        reusePort: false,
        maxDelayMs: 0,
      },
      new RateLimitedLog(() => {}, 1000),
    );
    const sender = dgram.createSocket('udp4');
    try {
      const bound = await ingest.listen({
        index: 0,
        scheme: 'udp',
        host: '127.0.0.1',
        port: 0,
        text: 'udp@127.0.0.1:0?split=lf',
        framing: 'len32le',
        split: 'lf',
        proxy: undefined,
      });
      const port = Number(/:(\d+)$/.exec(bound.text)![1]);
      const exact = 'm'.repeat(MAX_MESSAGE);
      const over = 'o'.repeat(MAX_MESSAGE + 1);
      // 42 KB and 32 KB datagrams: bigger than --max-message, split all the same.
      const first = [...lines('a', 20), exact, over, ...lines('b', 20)];
      const second = [...lines('c', 30), over, ...lines('d', 2)];
      const counters = new ListenerCounters(counterSlots, listenerBase(0));
      const settled = () => counters.read('receivedMessages') + counters.read('droppedOversize') + counters.read('droppedRingFull');
      for (const [datagram, total] of [
        [first, first.length],
        [second, first.length + second.length],
      ] as const) {
        sender.send(Buffer.from(`${datagram.join('\n')}\n`), port, '127.0.0.1');
        await until(() => settled() === total);
      }
      // In the ring: 41 lines of the first datagram, then 24 of the second (65 items in all).
      const expected = [...lines('a', 20), exact, ...lines('b', 20), ...lines('c', 24)];
      assert.equal(counters.read('receivedMessages'), 65);
      assert.equal(counters.read('receivedBytes'), 64 * LINE + MAX_MESSAGE);
      assert.equal(counters.read('droppedOversize'), 2);
      assert.equal(counters.read('droppedRingFull'), 6 + 2);
      writer.publish();
      const payloads: Uint8Array[] = [];
      new RingReader(ring).payloads(0, Atomics.load(ring.control, TAIL), payloads);
      assert.deepEqual(
        payloads.map((p) => Buffer.from(p).toString('latin1')),
        expected,
      );
    } finally {
      sender.close();
      await ingest.close();
    }
  });
}

/** Polls `condition` every 5 ms until it holds; fails after 5 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
