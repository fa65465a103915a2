/**
 * Every counter a thread writes is exported: for each slot of the counter tables (ListenerField,
 * DestinationField), a snapshot taken with only that slot set differs from the all-zero one, and
 * a plain total shows up, unchanged, on a /metrics sample line of its listener or destination.
 * The test walks the tables themselves, so a field added later without being exported fails here.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { MIN_CAPACITY, TAIL, TAIL_ID, allocateRing, viewRing } from '../../src/ring/layout.js';
import {
  DESTINATION_FIELD_COUNT,
  DestinationField,
  LISTENER_FIELD_COUNT,
  ListenerField,
  allocateCounters,
  destinationBase,
  listenerBase,
  type DestinationFieldName,
} from '../../src/metrics/counters.js';
import { takeSnapshot } from '../../src/metrics/snapshot.js';
import { renderPrometheus } from '../../src/metrics/prometheus.js';
import type { Snapshot } from '../../src/metrics/snapshot-types.js';

const LISTENER = 'udp@127.0.0.1:1';
const DESTINATION = 'tcp@127.0.0.1:2';
const STARTED_MS = 1_000;
/** The ring has published this much, so cursor fields give a lag that is neither 0 nor wrapped. */
const TAIL_POSITION = 5000;
const TAIL_ITEMS = 100;

/** The value given to a plain total: it appears nowhere else in the rendering (and is exact in a float). */
const DISTINCTIVE = 7_654_321;

/**
 * Fields that are not totals: they feed a gauge or a lag, so their value is not printed as is.
 * Each gets a value that must still change the snapshot.
 */
const NOT_TOTALS: Partial<Record<DestinationFieldName, number>> = {
  /** Compared with 1: relay_destination_up. */
  up: 1,
  /** When `up` last changed; the start time when 0. */
  sinceMs: 1_700_000_000_123,
  /** Lag in items = TAIL_ID - this. */
  cursorItems: TAIL_ITEMS - 37,
  /** Lag in bytes = TAIL - this. */
  cursorPosition: TAIL_POSITION - 1234,
};

/** The snapshot with at most one counter slot set; the parts that vary by the clock removed. */
async function snapshotWith(slot: number | undefined, value: number): Promise<{ snapshot: Snapshot; stable: string }> {
  const views = viewRing(allocateRing(MIN_CAPACITY, 1));
  Atomics.store(views.control, TAIL, TAIL_POSITION);
  Atomics.store(views.control, TAIL_ID, TAIL_ITEMS);
  const counters = allocateCounters(1, 1);
  if (slot !== undefined) new Float64Array(counters)[slot] = value;
  const snapshot = await takeSnapshot({
    views,
    counters,
    listenerSlots: 1,
    listeners: [{ index: 0, name: LISTENER }],
    destinations: [{ index: 0, name: DESTINATION }],
    reloads: { ok: 0, failed: 0 },
    threads: [],
    startedMs: STARTED_MS,
    ingestRunning: () => true,
    udpIngest: 'dgram',
    routes: undefined,
  });
  const { timeMs: _time, process: _process, ...rest } = snapshot;
  return { snapshot, stable: JSON.stringify(rest) };
}

/** Sample lines (not # HELP / # TYPE) that carry `label` and end in `value`. */
function sampleLines(text: string, label: string, value: number): string[] {
  return text.split('\n').filter((line) => !line.startsWith('#') && line.includes(label) && line.endsWith(` ${value}`));
}

test('counters: each table has one slot per field, 0..count-1 (no two fields share a slot)', () => {
  for (const [table, count] of [
    [ListenerField, LISTENER_FIELD_COUNT],
    [DestinationField, DESTINATION_FIELD_COUNT],
  ] as const) {
    assert.deepEqual(
      Object.values(table).sort((a, b) => a - b),
      Array.from({ length: count }, (_, i) => i),
    );
  }
});

const blocks = [
  { kind: 'listener', table: ListenerField as Record<string, number>, base: listenerBase(0), label: `listener="${LISTENER}"` },
  { kind: 'destination', table: DestinationField as Record<string, number>, base: destinationBase(1, 0), label: `destination="${DESTINATION}"` },
] as const;

for (const { kind, table, base, label } of blocks) {
  for (const [field, offset] of Object.entries(table)) {
    const gaugeInput = kind === 'destination' ? NOT_TOTALS[field as DestinationFieldName] : undefined;
    const value = gaugeInput ?? DISTINCTIVE;
    test(`counters: ${kind} field ${field} is exported`, async () => {
      const zero = await snapshotWith(undefined, 0);
      const set = await snapshotWith(base + offset, value);
      assert.notEqual(set.stable, zero.stable, `${kind} field ${field} = ${value}: the snapshot does not read it`);
      if (gaugeInput !== undefined) return;
      const text = renderPrometheus(set.snapshot);
      assert.deepEqual(sampleLines(renderPrometheus(zero.snapshot), label, value), [], `${value} is distinctive`);
      assert.ok(
        sampleLines(text, label, value).length > 0,
        `${kind} field ${field} = ${value}: no /metrics sample line with ${label} shows it:\n${text
          .split('\n')
          .filter((l) => !l.startsWith('#'))
          .join('\n')}`,
      );
    });
  }
}
