/**
 * Property tests of the ring: a seeded single-threaded schedule interleaves one writer, readers
 * of different speeds whose writes "call back" late, and the reclaimer; then one real
 * multi-thread run. Every item is checked byte for byte when read and again when released, so a
 * reclaim that passed a reader (ingest overwriting bytes a write still carries) is caught.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { HEAD, ITEM_HEADER_BYTES, MIN_CAPACITY, RELEASED, TAIL, allocateRing, distance, viewRing, type RingViews } from '../../src/ring/layout.js';
import { RingReader } from '../../src/ring/ring-reader.js';
import { RingWriter } from '../../src/ring/ring.js';
import { computeHead, publishHead, usedBytes } from '../../src/ring/positions.js';
import { mulberry32, payloadFor, randomInt } from '../helpers/prng.js';
import { controlIndices, loadReclaimerAddon } from '../../src/background/background.js';
import { stopReclaimer } from '../../src/background/reclaimer.js';
import { nativeUdpUnavailableReason } from '../../src/native/addon.js';

interface SimReader {
  reader: RingReader;
  index: number;
  cursor: number;
  /** Writes handed out and not yet "called back": [start, end, first id, ids]. */
  pending: { start: number; end: number; firstId: number; ids: number }[];
  nextId: number;
  /** Segments read per turn (below 1: the chance of reading one), and the chance a pending write calls back per turn. */
  speed: number;
  callbackChance: number;
  /** Overflow policy as in egress: drop oldest when lagging past 3/4. */
  dropsWhenLagging: boolean;
  dropped: number;
}

/** Positions start this close below 2^32 so the u32 wrap of positions is crossed too. */
const START_NEAR_WRAP = 2 ** 32 - 3 * MIN_CAPACITY - 12345;

function startAt(v: RingViews, position: number): void {
  Atomics.store(v.control, TAIL, position | 0);
  Atomics.store(v.control, HEAD, position | 0);
  for (let d = 0; d < v.destinationSlots; d++) Atomics.store(v.control, RELEASED + d, position | 0);
}

/** Checks the bytes of the items in [start, end) against the expected payloads from firstId on. */
function verifyRange(v: RingViews, seed: number, maxLength: number, start: number, end: number, firstId: number, reader: RingReader): number {
  let position = start;
  let id = firstId;
  while (position !== end) {
    position = reader.itemStart(position);
    const length = reader.payloadLength(position);
    const offset = (position & v.mask) + ITEM_HEADER_BYTES;
    const actual = Buffer.from(v.data.buffer, offset, length);
    const expected = payloadFor(seed, id, maxLength);
    if (!actual.equals(expected)) {
      assert.fail(`item ${id} torn or overwritten at position ${position}: ${length} bytes, expected ${expected.length}`);
    }
    position = (position + ITEM_HEADER_BYTES + length) >>> 0;
    id++;
  }
  return id - firstId;
}

function simulate(
  seed: number,
  readerSpecs: Omit<SimReader, 'reader' | 'index' | 'cursor' | 'pending' | 'nextId' | 'dropped'>[],
  items: number,
  maxLength: number,
) {
  const random = mulberry32(seed);
  const buffers = allocateRing(MIN_CAPACITY, readerSpecs.length);
  const v = viewRing(buffers);
  startAt(v, START_NEAR_WRAP);
  const writer = new RingWriter(v);
  const readers: SimReader[] = readerSpecs.map((spec, index) => ({
    ...spec,
    reader: new RingReader(v),
    index,
    cursor: START_NEAR_WRAP,
    pending: [],
    nextId: 0,
    dropped: 0,
  }));
  let nextToWrite = 0;
  let fullRefusals = 0;
  let bytesWritten = 0;
  const maxWriteBytes = MIN_CAPACITY / 16;

  for (let step = 0; nextToWrite < items || readers.some((r) => r.nextId < nextToWrite || r.pending.length); step++) {
    assert.ok(step < items * 50, 'simulation made no progress');
    // Writer: a burst of appends, then publish.
    const burst = randomInt(random, 0, 8);
    for (let i = 0; i < burst && nextToWrite < items; i++) {
      const payload = payloadFor(seed, nextToWrite, maxLength);
      if (!writer.append(payload)) {
        fullRefusals++;
        break;
      }
      bytesWritten += ITEM_HEADER_BYTES + payload.length;
      nextToWrite++;
    }
    writer.publish();
    // Readers: take segments, "write" them, and let earlier writes call back in order.
    for (const r of readers) {
      const tail = r.reader.loadTail();
      if (r.dropsWhenLagging && distance(tail, r.cursor) > (v.capacity / 4) * 3) {
        r.cursor = r.reader.dropUntil(r.cursor, tail, v.capacity / 2);
        r.nextId += r.reader.droppedItems;
        r.dropped += r.reader.droppedItems;
      }
      // A speed below 1 is the chance of reading at all this turn.
      const turns = r.speed >= 1 ? r.speed : random() < r.speed ? 1 : 0;
      for (let s = 0; s < turns && r.reader.scan(r.cursor, tail, maxWriteBytes); s++) {
        const { segmentStart: start, segmentEnd: end, segmentItems: ids } = r.reader;
        // The run is one zero-copy view: it must lie inside the buffer.
        assert.equal(r.reader.view(start, end).length, distance(end, start));
        assert.equal(verifyRange(v, seed, maxLength, start, end, r.nextId, r.reader), ids);
        r.pending.push({ start, end, firstId: r.nextId, ids });
        r.nextId += ids;
        r.cursor = end;
      }
      while (r.pending.length > 0 && random() < r.callbackChance) {
        const done = r.pending.shift()!;
        // Still intact at callback time: nobody reclaimed below a pending write.
        verifyRange(v, seed, maxLength, done.start, done.end, done.firstId, r.reader);
        r.reader.release(r.index, r.pending[0]?.start ?? r.cursor);
      }
      if (r.pending.length === 0) r.reader.release(r.index, r.cursor);
    }
    // Reclaimer at random moments; HEAD never passes a released position.
    if (random() < 0.3) {
      const head = computeHead(v);
      for (const r of readers) {
        const released = Atomics.load(v.control, RELEASED + r.index) >>> 0;
        assert.ok(distance(released, head) <= v.capacity, 'head passed a released position');
      }
      publishHead(v, head);
    }
  }
  return { readers, fullRefusals, laps: bytesWritten / v.capacity };
}

const seeds = [1, 2, 3];
for (const seed of seeds) {
  test(`ring: 3 readers at different speeds, every item in order and intact (seed ${seed})`, () => {
    const items = 60_000;
    const { readers, laps, fullRefusals } = simulate(
      seed,
      [
        { speed: 8, callbackChance: 0.9, dropsWhenLagging: false },
        { speed: 2, callbackChance: 0.5, dropsWhenLagging: false },
        { speed: 1, callbackChance: 0.2, dropsWhenLagging: false },
      ],
      items,
      1500,
    );
    for (const r of readers) assert.equal(r.nextId, items, `reader ${r.index} got every item`);
    assert.ok(laps > 500, `wrapped around ${laps.toFixed(0)} times`);
    assert.ok(fullRefusals > 0, 'slow readers made the ring fill up at least once');
  });
}

test('ring: a stalled reader that drops its oldest items never blocks the writer or the others', () => {
  const items = 40_000;
  const { readers, laps } = simulate(
    7,
    [
      { speed: 8, callbackChance: 1, dropsWhenLagging: true },
      { speed: 0.02, callbackChance: 1, dropsWhenLagging: true },
    ],
    items,
    1000,
  );
  const [fast, stalled] = readers;
  assert.equal(fast!.nextId, items);
  assert.equal(fast!.dropped, 0);
  assert.ok(stalled!.dropped > items / 2, `the stalled reader dropped ${stalled!.dropped}`);
  assert.equal(stalled!.nextId, items, 'delivered + dropped accounts for every item');
  assert.ok(laps > 300);
});

// Sizes whose item (payload + 4-byte header) divides the ring: the last item of a lap ends exactly
// at the end of the buffer, where no wrap marker is written.
for (const payloadBytes of [60, 124, 1020, 4092]) {
  test(`ring: a run stops at the end of the buffer when a ${payloadBytes}-byte item ends exactly there`, () => {
    const v = viewRing(allocateRing(MIN_CAPACITY, 1));
    const writer = new RingWriter(v);
    const reader = new RingReader(v);
    const itemsPerLap = MIN_CAPACITY / (payloadBytes + ITEM_HEADER_BYTES);
    let cursor = 0;
    let seen = 0;
    let appended = 0;
    // Append in bursts of a little over half a lap, so a scan starts mid-lap and its tail lies
    // past the lap end: the run must stop at the end of the buffer, not run on into the next lap.
    const burst = itemsPerLap / 2 + 1;
    while (appended < 3 * itemsPerLap) {
      for (let i = 0; i < burst; i++) assert.ok(writer.append(Buffer.alloc(payloadBytes, appended++ & 0xff)));
      writer.publish();
      const tail = reader.loadTail();
      while (reader.scan(cursor, tail, MIN_CAPACITY)) {
        const { segmentStart: start, segmentEnd: end } = reader;
        assert.ok((start & v.mask) + distance(end, start) <= v.capacity, `run [${start}, ${end}) crosses the end of the buffer`);
        const view = reader.view(start, end);
        for (let at = 0; at < view.length; at += payloadBytes + ITEM_HEADER_BYTES) {
          assert.equal(view.readUInt32LE(at), payloadBytes);
          assert.equal(view[at + ITEM_HEADER_BYTES], seen++ & 0xff);
        }
        cursor = end;
      }
      reader.release(0, cursor);
      Atomics.store(v.control, HEAD, cursor | 0);
    }
    assert.equal(seen, appended);
  });
}

test('ring: view() refuses a range that crosses the end of the buffer', () => {
  const reader = new RingReader(viewRing(allocateRing(MIN_CAPACITY, 1)));
  assert.throws(() => reader.view(MIN_CAPACITY - 8, MIN_CAPACITY + 8), /crosses the end of the 65536-byte buffer/);
});

test('ring: items of every size up to a quarter of the ring, including empty ones', () => {
  const { readers } = simulate(11, [{ speed: 3, callbackChance: 0.7, dropsWhenLagging: false }], 5000, MIN_CAPACITY / 4 - ITEM_HEADER_BYTES);
  assert.equal(readers[0]!.nextId, 5000);
});

test('ring: append refuses an item when the ring is full and accepts it once the reader released, without waiting for the reclaimer', () => {
  const v = viewRing(allocateRing(MIN_CAPACITY, 1));
  const writer = new RingWriter(v);
  const reader = new RingReader(v);
  const payload = Buffer.alloc(1000, 7);
  let appended = 0;
  while (writer.append(payload)) appended++;
  assert.equal(appended, Math.floor(MIN_CAPACITY / (ITEM_HEADER_BYTES + 1000)));
  writer.publish();
  const tail = reader.loadTail();
  assert.ok(reader.scan(0, tail, MIN_CAPACITY));
  assert.equal(reader.segmentItems, appended);
  assert.equal(writer.append(payload), false, 'nothing released yet: still full');
  reader.release(0, reader.segmentEnd);
  assert.equal(Atomics.load(v.control, HEAD), 0, 'the reclaimer has not run');
  assert.equal(writer.append(payload), true);
});

for (const kind of ['worker', 'native'] as const) {
  test(`ring: one writer thread, two reader threads and the reclaimer thread (${kind})`, async (t) => {
    const addon = loadReclaimerAddon();
    if (kind === 'native' && addon === undefined) return t.skip(`native addon not loadable: ${nativeUdpUnavailableReason() ?? 'built before the reclaimer'}`);
    // ~30 MB through a 64 KiB ring: about 470 laps, each waiting for the reclaimer (every 5 ms), ~10 s.
    const items = 30_000;
    const maxLength = 2000;
    const seed = 42;
    const buffers = allocateRing(MIN_CAPACITY, 2);
    const url = new URL('../helpers/ring-worker.js', import.meta.url);
    const common = { buffers, items, maxLength, seed };
    const readers = [0, 1].map((index) => new Worker(url, { workerData: { ...common, role: 'reader', index } }));
    const v = viewRing(buffers);
    let stopReclaiming: () => Promise<void>;
    if (kind === 'worker') {
      const worker = new Worker(url, { workerData: { ...common, role: 'reclaimer' } });
      stopReclaiming = async () => {
        stopReclaimer(v);
        await once(worker, 'exit');
      };
    } else {
      const handle = addon!.reclaimerStart(v.control, controlIndices(v), 5);
      stopReclaiming = async () => {
        stopReclaimer(v);
        addon!.reclaimerJoin(handle);
      };
    }
    const writer = new Worker(url, { workerData: { ...common, role: 'writer' } });
    try {
      const results = await Promise.all([writer, ...readers].map((w) => once(w, 'message').then(([m]) => m as { ok: boolean; detail: string; count: number })));
      for (const r of results) assert.ok(r.ok, r.detail);
      assert.deepEqual(
        results.map((r) => r.count),
        [items, items, items],
      );
      assert.notEqual(Atomics.load(v.control, HEAD), 0, 'the reclaimer moved HEAD');
    } finally {
      await stopReclaiming();
      await Promise.all([writer, ...readers].map((w) => w.terminate()));
    }
  });
}

test('ring: usedBytes is TAIL minus the lowest RELEASED, across the u32 wrap', () => {
  const v = viewRing(allocateRing(MIN_CAPACITY, 2));
  startAt(v, START_NEAR_WRAP);
  Atomics.store(v.control, TAIL, (START_NEAR_WRAP + 3 * MIN_CAPACITY + 20_000) | 0);
  Atomics.store(v.control, RELEASED + 0, (START_NEAR_WRAP + 3 * MIN_CAPACITY) | 0);
  Atomics.store(v.control, RELEASED + 1, (START_NEAR_WRAP + 3 * MIN_CAPACITY + 15_000) | 0);
  assert.equal(usedBytes(v), 20_000);
});

test('ring: usedBytes never exceeds the capacity while another thread moves TAIL and RELEASED', async (t) => {
  // Why the order of loads matters: the mover stores TAIL, then RELEASED = TAIL, so at any moment
  // RELEASED <= TAIL <= RELEASED + one step. usedBytes() loads RELEASED first and TAIL after, so
  // the tail it measures from is at or past the released position it loaded and the distance
  // cannot wrap. Loaded the other way round, RELEASED can already be past the TAIL loaded before
  // it, and the u32 distance wraps to nearly 2^32 (this test then fails within a few thousand
  // calls). The order alone is not enough either: a main thread paused between the two loads
  // (preempted: the machine is shared) measures an old RELEASED against a TAIL that moved on by
  // many laps, which is why usedBytes() loads RELEASED again after TAIL (see its comment).
  const buffers = allocateRing(MIN_CAPACITY, 1);
  const v = viewRing(buffers);
  startAt(v, START_NEAR_WRAP);
  const flags = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
  const state = new Int32Array(flags);
  const url = new URL('../helpers/tail-mover-worker.js', import.meta.url);
  const mover = new Worker(url, { workerData: { buffers, steps: 2_000_000, maxMs: 3000, maxStep: 4096, flags } });
  try {
    const deadline = Date.now() + 10_000;
    while (Atomics.load(state, 0) === 0) assert.ok(Date.now() < deadline, 'the mover thread did not start');
    let calls = 0;
    let nonZero = 0;
    let max = 0;
    // Spins (no await) while the mover runs: every call races it.
    while (Atomics.load(state, 1) === 0) {
      const used = usedBytes(v);
      calls++;
      if (used > 0) nonZero++;
      if (used > max) max = used;
      if (used > v.capacity) assert.fail(`usedBytes ${used} > capacity ${v.capacity} (call ${calls})`);
      if ((calls & 0xffff) === 0) assert.ok(Date.now() < deadline, 'the mover thread did not stop');
    }
    const [{ steps }] = (await once(mover, 'message')) as [{ steps: number }];
    assert.ok(steps > 0 && calls > 0, `${steps} steps, ${calls} calls`);
    assert.ok(distance(Atomics.load(v.control, TAIL) >>> 0, START_NEAR_WRAP) !== 0, 'the tail moved');
    t.diagnostic(`${steps} steps, ${calls} usedBytes calls, ${nonZero} non-zero, max ${max}`);
  } finally {
    await mover.terminate();
  }
});
