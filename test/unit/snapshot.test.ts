import test from 'node:test';
import assert from 'node:assert/strict';
import { MIN_CAPACITY, TAIL, TAIL_ID, allocateRing, viewRing } from '../../src/ring/layout.js';
import { DestinationField, allocateCounters, destinationBase } from '../../src/metrics/counters.js';
import { takeSnapshot } from '../../src/metrics/snapshot.js';

/** A snapshot of one listener and one destination whose cursor is at (items, position) while the tail is at (tailId, tail). */
async function lagFor(tailId: number, tail: number, items: number, position: number): Promise<{ lagMessages: number; lagBytes: number }> {
  const views = viewRing(allocateRing(MIN_CAPACITY, 1));
  const counters = allocateCounters(1, 1);
  Atomics.store(views.control, TAIL, tail | 0);
  Atomics.store(views.control, TAIL_ID, tailId | 0);
  const slots = new Float64Array(counters);
  slots[destinationBase(1, 0) + DestinationField.cursorItems] = items;
  slots[destinationBase(1, 0) + DestinationField.cursorPosition] = position;
  const s = await takeSnapshot({
    views,
    counters,
    listenerSlots: 1,
    listeners: [{ index: 0, name: 'udp@127.0.0.1:1' }],
    destinations: [{ index: 0, name: 'tcp@127.0.0.1:2' }],
    reloads: { ok: 0, failed: 0 },
    threads: [],
    startedMs: 0,
    ingestRunning: () => true,
    udpIngest: 'dgram',
    routes: undefined,
  });
  const { lagMessages, lagBytes } = s.destinations[0]!;
  return { lagMessages, lagBytes };
}

const cases: { name: string; args: [number, number, number, number]; expected: { lagMessages: number; lagBytes: number } }[] = [
  { name: 'behind the tail', args: [100, 5000, 90, 4000], expected: { lagMessages: 10, lagBytes: 1000 } },
  { name: 'caught up', args: [100, 5000, 100, 5000], expected: { lagMessages: 0, lagBytes: 0 } },
  // The egress thread moved on between the reads: never a wrapped, huge lag.
  { name: 'a cursor read ahead of the tail', args: [100, 5000, 103, 5300], expected: { lagMessages: 0, lagBytes: 0 } },
  { name: 'across the u32 wrap of the item count and position', args: [5, 40, 2 ** 32 - 5, 2 ** 32 - 60], expected: { lagMessages: 10, lagBytes: 100 } },
];

for (const { name, args, expected } of cases) {
  test(`snapshot: destination lag when ${name}`, async () => {
    assert.deepEqual(await lagFor(...args), expected);
  });
}
