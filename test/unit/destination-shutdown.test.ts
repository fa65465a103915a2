/**
 * Shutdown of one destination whose peer stopped reading, with a spill directory: the writes the
 * kernel never confirmed are all kept on disk, in order, when nothing newer was spilled before.
 * Real ring, destination and spill store; a fake socket and clock (test/sim/fake-net.ts).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Opening } from '../../src/egress/attempt.js';
import { Destination } from '../../src/egress/destination.js';
import { RateLimitedLog } from '../../src/logging.js';
import { DestinationCounters, allocateCounters, destinationBase } from '../../src/metrics/counters.js';
import { MIN_CAPACITY, allocateRing, viewRing } from '../../src/ring/layout.js';
import { RingReader } from '../../src/ring/ring-reader.js';
import { RingWriter } from '../../src/ring/ring.js';
import { SpillStore } from '../../src/spill/segment-store.js';
import { FakeClock, FakeSocket } from '../sim/fake-net.js';
import { withTempDir } from '../helpers/temp-dir.js';

test('destination: at shutdown, every unconfirmed ring write goes to the spill in order when nothing was spilled after them', async () => {
  await withTempDir('relay-dest-', async (dir) => {
    const views = viewRing(allocateRing(MIN_CAPACITY, 1));
    const writer = new RingWriter(views);
    const reader = new RingReader(views);
    const counters = new DestinationCounters(new Float64Array(allocateCounters(0, 1)), destinationBase(0, 0));
    const clock = new FakeClock();
    const sockets: FakeSocket[] = [];
    const connect = (): Opening => {
      const socket = new FakeSocket({ id: sockets.length, bytes: [], acceptedBytes: 0, ended: false }, clock, 1 << 20);
      socket.acceptConnection();
      sockets.push(socket);
      return { socket, upEvent: 'connect' };
    };
    const options = {
      index: 0,
      scheme: 'tcp' as const,
      tls: undefined,
      host: '127.0.0.1',
      port: 1,
      text: 'tcp@127.0.0.1:1',
      framing: 'len32le' as const,
      maxWriteBytes: 1024,
      connectTimeoutMs: 1000,
      stallTimeoutMs: 60_000,
      reconnectMinMs: 10,
      reconnectMaxMs: 100,
      relpWindow: 128,
      route: 'd',
    };
    const storeOptions = { maxBytes: 1 << 20, segmentBytes: 1 << 16, maxRecordBytes: 4096, onCorrupt: () => {} };
    const store = await SpillStore.open(path.join(dir, 'd'), storeOptions);
    const destination = new Destination(
      options,
      { counters, connect, store, tail: reader.loadTail(), tailItems: 0 },
      { reader, log: new RateLimitedLog(() => {}, 1000), clock, random: () => 0.5, transport: () => connect, onWritable: (d) => d.service(reader.loadTail()) },
    );
    destination.start();
    sockets[0]!.fireOne(); // connected
    // 40 messages of 100 bytes: several writes of at most 1 KiB, none taken by the peer.
    for (let i = 0; i < 40; i++) assert.ok(writer.append(Buffer.alloc(100, i)));
    writer.publish();
    destination.service(reader.loadTail());
    assert.ok(destination.accounting().windowMessages === 40, 'all 40 written, none confirmed');
    const { lost, closed } = destination.finish(reader.loadTail());
    await closed;
    assert.equal(lost, 0);
    assert.equal(counters.read('droppedShutdown'), 0);
    assert.equal(counters.read('spilledMessages'), 40);
    const replay = await SpillStore.open(path.join(dir, 'd'), storeOptions);
    const payloads = [];
    for (let batch = await replay.readBatch(1 << 16); batch; batch = await replay.readBatch(1 << 16)) payloads.push(...batch.payloads);
    await replay.close();
    assert.deepEqual(
      payloads.map((p) => p[0]),
      Array.from({ length: 40 }, (_, i) => i),
    );
  });
});
