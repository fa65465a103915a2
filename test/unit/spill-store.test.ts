/**
 * The spill store on a real directory: order across segments, restart from the confirmed
 * position, damaged segments of every kind skipped and counted, limits, a failing directory.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SpillStore, type SpillStoreOptions } from '../../src/spill/segment-store.js';
import { crc32, crc32Portable } from '../../src/spill/crc32.js';
import { mulberry32, payloadFor } from '../helpers/prng.js';
import { withTempDir } from '../helpers/temp-dir.js';

const SEED = 99;
const MAX_PAYLOAD = 3000;

function options(corrupt: { why: string; bytes: number }[] = [], overrides: Partial<SpillStoreOptions> = {}): SpillStoreOptions {
  return {
    maxBytes: 64 * 1024 * 1024,
    segmentBytes: 16 * 1024,
    maxRecordBytes: 65_535,
    onCorrupt: (_segment, bytes, why) => corrupt.push({ why, bytes }),
    ...overrides,
  };
}

function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  return withTempDir('relay-spill-unit-', body);
}

/** Appends payloads [from, to) in batches of 50. */
async function appendRange(store: SpillStore, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 50) {
    const batch = Array.from({ length: Math.min(50, to - i) }, (_, k) => payloadFor(SEED, i + k, MAX_PAYLOAD));
    assert.equal(await store.append(batch), true);
  }
}

/** Reads (and optionally confirms) everything; returns the ids recognised, in order. */
async function readAll(store: SpillStore, confirm: boolean, maxBytes = 4096): Promise<number[]> {
  const ids: number[] = [];
  for (let guard = 0; guard < 100_000; guard++) {
    const batch = await store.readBatch(maxBytes);
    if (!batch) {
      assert.equal(store.hasBacklog, false, 'nothing left to read means no backlog');
      return ids;
    }
    for (const p of batch.payloads) ids.push(identify(p, ids.at(-1) ?? -1));
    if (confirm) await store.confirm(batch);
  }
  assert.fail('readBatch never ran dry');
}

/** The id of payload `p`, searching forward from `after` (payloads are deterministic per id). */
function identify(p: Buffer, after: number): number {
  for (let id = after + 1; id < after + 5000; id++) if (payloadFor(SEED, id, MAX_PAYLOAD).equals(p)) return id;
  assert.fail(`unknown payload after id ${after}`);
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

test('crc32: the IEEE check value, and the native and portable versions agree', () => {
  assert.equal(crc32Portable(Buffer.from('123456789')), 0xcbf43926);
  const random = mulberry32(5);
  for (const size of [0, 1, 7, 1000, 65_535]) {
    const data = Buffer.from(Array.from({ length: size }, () => (random() * 256) | 0));
    assert.equal(crc32(data), crc32Portable(data));
  }
});

test('spill store: everything appended comes back in order across many segments, empty payloads included', async () => {
  await withDir(async (dir) => {
    const store = await SpillStore.open(dir, options());
    const expected = range(0, 600).map((i) => payloadFor(SEED, i, MAX_PAYLOAD));
    expected.splice(300, 0, Buffer.alloc(0), Buffer.alloc(0));
    for (let i = 0; i < expected.length; i += 50) assert.equal(await store.append(expected.slice(i, i + 50)), true);
    assert.ok((await readdir(dir)).filter((f) => f.endsWith('.seg')).length > 10, 'rotated across segments');
    assert.equal(store.hasBacklog, true);
    const got: Buffer[] = [];
    for (let batch = await store.readBatch(1); batch; batch = await store.readBatch(1)) {
      assert.equal(batch.payloads.length, 1, 'one record per batch when maxBytes is tiny');
      got.push(...batch.payloads);
      await store.confirm(batch);
    }
    assert.equal(got.length, expected.length);
    for (const [i, p] of got.entries()) assert.ok(p.equals(expected[i]!), `record ${i}`);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.seg')),
      [],
      'confirmed segments are deleted',
    );
    await store.close();
  });
});

test('spill store: appends and reads interleave; a read issued before the append settles still sees it', async () => {
  await withDir(async (dir) => {
    const store = await SpillStore.open(dir, options());
    const ids: number[] = [];
    for (let round = 0; round < 10; round++) {
      const appended = store.append(range(round * 30, round * 30 + 30).map((i) => payloadFor(SEED, i, MAX_PAYLOAD)));
      const batch = await store.readBatch(1_000_000);
      assert.equal(await appended, true);
      for (const p of batch!.payloads) ids.push(identify(p, ids.at(-1) ?? -1));
      await store.confirm(batch!);
    }
    assert.deepEqual(ids, range(0, 300));
    await store.close();
  });
});

test('spill store: a restart resumes at the confirmed position: nothing confirmed comes back, nothing unconfirmed is lost', async () => {
  await withDir(async (dir) => {
    const first = await SpillStore.open(dir, options());
    await appendRange(first, 0, 400);
    const confirmed: number[] = [];
    for (let k = 0; k < 20; k++) {
      const batch = (await first.readBatch(4096))!;
      for (const p of batch.payloads) confirmed.push(identify(p, confirmed.at(-1) ?? -1));
      await first.confirm(batch);
    }
    // Read once more without confirming: as if the relay died with this batch in flight.
    const inFlight = (await first.readBatch(4096))!;
    await first.close();
    const second = await SpillStore.open(dir, options());
    const replayed = await readAll(second, true);
    assert.deepEqual(replayed, range(confirmed.length, 400), 'resumes right after the last confirmed record');
    assert.equal(inFlight.payloads.length > 0, true);
    await second.close();
  });
});

const damages: { name: string; why: RegExp; damage: (file: string, size: number) => Promise<void> }[] = [
  { name: 'a flipped payload byte', why: /checksum/, damage: async (file, size) => flip(file, Math.floor(size / 2)) },
  { name: 'a file cut in the middle of a record', why: /truncated/, damage: async (file, size) => truncate(file, Math.floor(size / 2)) },
  { name: 'an overwritten magic', why: /magic/, damage: async (file) => flip(file, 0) },
  { name: 'an impossible record length', why: /impossible/, damage: async (file) => writeAt(file, 8, Buffer.from([0xff, 0xff, 0xff, 0x7f])) },
];

for (const { name, why, damage } of damages) {
  test(`spill store: ${name} is skipped and counted, the records before it and the later segments still replay`, async () => {
    await withDir(async (dir) => {
      const writer = await SpillStore.open(dir, options());
      await appendRange(writer, 0, 300);
      await writer.close();
      const segments = (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
      const victim = path.join(dir, segments[1]!);
      const victimIds = await idsIn(dir, segments, 1);
      await damage(victim, (await readFile(victim)).length);
      const corrupt: { why: string; bytes: number }[] = [];
      const reader = await SpillStore.open(dir, options(corrupt));
      const got = await readAll(reader, true);
      assert.equal(corrupt.length, 1, JSON.stringify(corrupt));
      assert.match(corrupt[0]!.why, why);
      assert.ok(corrupt[0]!.bytes > 0);
      // Everything outside the damaged segment arrives, in order; inside it only a prefix.
      const before = range(0, victimIds[0]!);
      const after = range(victimIds.at(-1)! + 1, 300);
      assert.deepEqual(got.slice(0, before.length), before);
      assert.deepEqual(got.slice(got.length - after.length), after);
      const kept = got.slice(before.length, got.length - after.length);
      assert.deepEqual(kept, victimIds.slice(0, kept.length), 'a prefix of the damaged segment');
      assert.ok(kept.length < victimIds.length);
      await reader.close();
    });
  });
}

/** The ids stored in segment `index` (read from an intact copy of the directory's state). */
async function idsIn(dir: string, segments: string[], index: number): Promise<number[]> {
  const counts: number[] = [];
  for (const name of segments) {
    const bytes = await readFile(path.join(dir, name));
    let n = 0;
    for (let offset = 8; offset < bytes.length; offset += 8 + bytes.readUInt32LE(offset)) n++;
    counts.push(n);
  }
  const first = counts.slice(0, index).reduce((a, b) => a + b, 0);
  return range(first, first + counts[index]!);
}

async function flip(file: string, at: number): Promise<void> {
  const bytes = await readFile(file);
  bytes[at] = bytes[at]! ^ 0xff;
  await writeFile(file, bytes);
}

async function writeAt(file: string, at: number, data: Buffer): Promise<void> {
  const bytes = await readFile(file);
  data.copy(bytes, at);
  await writeFile(file, bytes);
}

test('spill store: appends past maxBytes resolve false and keep nothing; space returns once replayed', async () => {
  await withDir(async (dir) => {
    const store = await SpillStore.open(dir, options([], { maxBytes: 20 * 1024, segmentBytes: 8 * 1024 }));
    const big = Array.from({ length: 10 }, (_, i) => payloadFor(SEED, i, MAX_PAYLOAD));
    let accepted = 0;
    while (await store.append([Buffer.alloc(1000, accepted)])) accepted++;
    assert.ok(accepted >= 15 && accepted <= 20, `accepted ${accepted} KiB-records in 20 KiB`);
    assert.equal(await store.append(big), false);
    let read = 0;
    for (let batch = await store.readBatch(4096); batch; batch = await store.readBatch(4096)) {
      read += batch.payloads.length;
      await store.confirm(batch);
    }
    assert.equal(read, accepted, 'the refused append kept nothing');
    assert.equal(await store.append([Buffer.alloc(1000, 1)]), true, 'room again after replay');
    await store.close();
  });
});

test('spill store: a directory that fails under it makes appends resolve false, never throw', async () => {
  await withDir(async (root) => {
    const dir = path.join(root, 'd');
    const store = await SpillStore.open(dir, options([], { segmentBytes: 4096 }));
    await rm(dir, { recursive: true });
    await writeFile(dir, 'not a directory any more');
    assert.equal(await store.append([Buffer.alloc(5000, 1)]), false);
    await assert.rejects(SpillStore.open(path.join(dir, 'below-a-file'), options()));
  });
});

test('spill store: a garbage replay.pos is ignored (replay starts at the oldest segment)', async () => {
  await withDir(async (dir) => {
    const writer = await SpillStore.open(dir, options());
    await appendRange(writer, 0, 100);
    await writer.close();
    await writeFile(path.join(dir, 'replay.pos'), 'garbage\n');
    const reader = await SpillStore.open(dir, options());
    assert.deepEqual(await readAll(reader, false), range(0, 100));
    await reader.close();
  });
});

test('spill store: a segment removed under the store is counted as damaged and skipped, not retried forever', async () => {
  await withDir(async (dir) => {
    const corrupt: { why: string; bytes: number }[] = [];
    const store = await SpillStore.open(dir, options(corrupt, { segmentBytes: 8 * 1024 }));
    await appendRange(store, 0, 100);
    const segments = (await readdir(dir)).filter((f) => f.endsWith('.seg')).sort();
    await rm(path.join(dir, segments[0]!));
    const got = await readAll(store, true);
    assert.ok(got.length > 0 && got.length < 100 && got.at(-1) === 99, `the rest replays: ${got.length}`);
    assert.equal(corrupt.length, 1);
    assert.match(corrupt[0]!.why, /unreadable: ENOENT/);
    await store.close();
  });
});

test('requeue puts writes back before what was not delivered, in this run and the next', async () => {
  for (const held of [true, false]) {
    await withDir(async (dir) => {
      const payloads = (from: number, to: number): Buffer[] => range(from, to).map((id) => payloadFor(SEED, id, MAX_PAYLOAD));
      let store = await SpillStore.open(dir, options());
      await appendRange(store, 0, 100);
      // 0..99 read; the first batches confirmed, the rest (when `held`) still in the window.
      const window: Buffer[] = [];
      let last: Awaited<ReturnType<SpillStore['readBatch']>>;
      for (let batch = await store.readBatch(4096); batch; batch = await store.readBatch(4096)) {
        if (!held || identify(batch.payloads[0]!, -1) < 40) await store.confirm(batch);
        else window.push(...batch.payloads);
        last = batch;
      }
      // A pinned window (ids 100..119) went out; 120..299 were spilled after it, and some of them read again.
      await appendRange(store, 120, 300);
      const replayed = await store.readBatch(4096);
      assert.ok(replayed);
      assert.equal(await store.requeue([...window, ...payloads(100, 120)], held ? last!.end : undefined), true);
      const expected = range(held ? identify(window[0]!, -1) : 100, 300);
      const firstId = expected[0]!;
      assert.deepEqual(await readAll(store, false), expected, 'this run');
      await store.close();
      store = await SpillStore.open(dir, options());
      assert.deepEqual(await readAll(store, true), expected, `the next run, from ${firstId}`);
      await store.close();
    });
  }
});

test('requeue refuses what would pass maxBytes and changes nothing', async () => {
  await withDir(async (dir) => {
    const store = await SpillStore.open(dir, options([], { maxBytes: 100 * 1024 }));
    await appendRange(store, 0, 40);
    const before = store.bytes;
    const big = range(1000, 1100).map((id) => payloadFor(SEED, id, MAX_PAYLOAD));
    assert.equal(await store.requeue(big), false);
    assert.equal(store.bytes, before);
    assert.deepEqual(await readAll(store, true), range(0, 40));
    await store.close();
  });
});
