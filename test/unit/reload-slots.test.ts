/**
 * What a reload rests on: destination slots in the ring (a slot taken at the tail keeps every
 * byte from there; a free slot holds nothing back) checked after every step of seeded random
 * schedules, and the reload plan (what stays, what is added where, what is removed, what is
 * ignored until restart).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { MIN_CAPACITY, TAIL, allocateRing, distance, viewRing } from '../../src/ring/layout.js';
import { RingReader } from '../../src/ring/ring-reader.js';
import { RingWriter } from '../../src/ring/ring.js';
import { computeHead, computeHeadAndHolder, freeSlot, publishHead, takeSlot, usedBytes } from '../../src/ring/positions.js';
import { frozenForReload, planReload, restartOnlyValue } from '../../src/main/reload-plan.js';
import { restartOnlyKeys } from '../../src/config/setting-values.js';
import { SlotTable } from '../../src/main/slot-table.js';
import { DEFAULTS, DESTINATION_SLOTS, type RelayConfig } from '../../src/config/config.js';
import { DESTINATION_ADDRESS, LISTENER_ADDRESS, parseEndpoint } from '../../src/config/address.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { controlIndices, loadReclaimerAddon } from '../../src/background/background.js';

/** The native background thread's HEAD (native/relay_reclaimer.c), checked beside computeHead when the addon is built. */
const nativeReclaimer = loadReclaimerAddon();

test('slots: HEAD never passes a taken slot, and a free slot never holds HEAD back (seeded schedules; the native thread computes the same HEAD; the holder is the lowest slot released that far)', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = mulberry32(seed);
    const slots = 8;
    const v = viewRing(allocateRing(MIN_CAPACITY, slots, 1));
    const writer = new RingWriter(v);
    const reader = new RingReader(v);
    // What each taken slot needs: its released position (the model the reclaimer must respect).
    const taken = new Map<number, number>([[0, 0]]);
    const payload = Buffer.alloc(2000, 7);
    for (let step = 0; step < 400; step++) {
      const action = randomInt(random, 0, 9);
      const tail = reader.loadTail();
      if (action <= 4) {
        const appended = writer.append(payload.subarray(0, randomInt(random, 0, payload.length)));
        if (appended) writer.publish();
      } else if (action <= 6 && taken.size > 0) {
        // A destination moves its released position forward, up to the tail.
        const slot = [...taken.keys()][randomInt(random, 0, taken.size - 1)]!;
        taken.set(slot, tail);
        reader.release(slot, tail);
      } else if (action === 7 && taken.size < slots) {
        const free = [...Array(slots).keys()].filter((s) => !taken.has(s));
        const slot = free[randomInt(random, 0, free.length - 1)]!;
        takeSlot(v, slot, tail);
        taken.set(slot, tail);
      } else if (action >= 8 && taken.size > 1) {
        const slot = [...taken.keys()][randomInt(random, 0, taken.size - 1)]!;
        freeSlot(v, slot);
        taken.delete(slot);
      }
      publishHead(v, computeHead(v));
      const now = Atomics.load(v.control, TAIL) >>> 0;
      const head = computeHead(v);
      const lowest = Math.max(...[...taken.values()].map((r) => distance(now, r)));
      assert.equal(distance(now, head), lowest, `seed ${seed} step ${step}: HEAD ${head} is not the lowest taken released position`);
      // The holder ingest names when the ring is full: of the slots released that far behind, the lowest.
      const holders = [...taken].filter(([, r]) => distance(now, r) === lowest).map(([slot]) => slot);
      assert.equal(computeHeadAndHolder(v).holder, Math.min(...holders), `seed ${seed} step ${step}: not the lowest of slots ${holders}`);
      if (nativeReclaimer)
        assert.equal(nativeReclaimer.reclaimerComputeHead(v.control, controlIndices(v)), head, `seed ${seed} step ${step}: the native HEAD differs`);
      assert.ok(usedBytes(v) <= v.capacity, `seed ${seed} step ${step}: used bytes past the capacity`);
    }
  }
});

const config = (listeners: string[], destinations: string[], more: Partial<RelayConfig> = {}): RelayConfig => ({
  listeners: listeners.map((l) => parseEndpoint(l, LISTENER_ADDRESS)),
  destinations: destinations.map((d) => ({ endpoint: parseEndpoint(d, DESTINATION_ADDRESS), tls: undefined })),
  groups: [],
  framing: 'len32le',
  ringBytes: 1 << 20,
  maxMessageBytes: DEFAULTS.maxMessageBytes,
  recvBufferBytes: DEFAULTS.recvBufferBytes,
  udpIngest: 'dgram',
  allow: [],
  deny: [],
  inputLimits: DEFAULTS.inputLimits,
  unixSocket: DEFAULTS.unixSocket,
  reusePort: false,
  drainTimeoutMs: 1000,
  connectTimeoutMs: 1000,
  stallTimeoutMs: 1000,
  reconnectMinMs: 10,
  reconnectMaxMs: 100,
  relpWindow: 128,
  maxDelayMs: 0,
  spill: undefined,
  reclaimIntervalMs: 1000,
  logIntervalMs: 1000,
  ...more,
});

/** The slots of a relay running `c`, with `retiring` slots held by removed destinations still draining. */
function slotsOf(c: RelayConfig, retiring: number[] = []): SlotTable {
  const slots = new SlotTable(DESTINATION_SLOTS);
  for (const [i, l] of c.listeners.entries()) slots.setListener(i, { endpoint: l, bound: { text: l.text } });
  for (const [i, d] of c.destinations.entries()) slots.addDestination(i, d);
  for (const slot of retiring) {
    slots.addDestination(slot, { endpoint: parseEndpoint(`tcp@127.0.0.1:${900 + slot}`, DESTINATION_ADDRESS), tls: undefined });
    slots.retireDestination(slot);
  }
  return slots;
}

test('plan: kept ones keep their slots, added ones take free slots (not those still draining), removed ones are listed', () => {
  const before = config(['udp@127.0.0.1:1', 'tcp@127.0.0.1:2'], ['tcp@127.0.0.1:10', 'tcp@127.0.0.1:11', 'tcp@127.0.0.1:12?framing=lf']);
  const after = config(['udp@127.0.0.1:1', 'udp@127.0.0.1:3'], ['tcp@127.0.0.1:12?framing=lf', 'tcp@127.0.0.1:10', 'tcp@127.0.0.1:13']);
  const plan = planReload(before, slotsOf(before, [3]), after);
  assert.deepEqual(plan.listeners.remove, [1]);
  assert.deepEqual(
    plan.listeners.add.map((a) => [a.slot, a.endpoint.text]),
    // Slot 1 is still open while the new listener binds (it closes after): the new one takes 2.
    [[2, 'udp@127.0.0.1:3']],
  );
  assert.deepEqual(plan.destinations.remove, [1]);
  assert.deepEqual(
    plan.destinations.keep.map((k) => [k.slot, k.destination.endpoint.text]),
    [
      [2, 'tcp@127.0.0.1:12?framing=lf'],
      [0, 'tcp@127.0.0.1:10'],
    ],
  );
  // Slot 1 is being removed now and 3 is still draining: the new one goes to 4.
  assert.deepEqual(
    plan.destinations.add.map((a) => [a.slot, a.destination.endpoint.text]),
    [[4, 'tcp@127.0.0.1:13']],
  );
  assert.deepEqual(plan.ignored, []);
});

test('plan: a framing change is another destination (its own spill and cursor); an explicit default framing is the same one', () => {
  const before = config(['udp@127.0.0.1:1'], ['tcp@127.0.0.1:10', 'tcp@127.0.0.1:11']);
  const after = config(['udp@127.0.0.1:1'], ['tcp@127.0.0.1:10?framing=len32le', 'tcp@127.0.0.1:11?framing=lf']);
  const plan = planReload(before, slotsOf(before), after);
  assert.deepEqual(
    plan.destinations.keep.map((k) => k.slot),
    [0],
  );
  assert.deepEqual(plan.destinations.remove, [1]);
  assert.deepEqual(
    plan.destinations.add.map((a) => a.destination.endpoint.text),
    ['tcp@127.0.0.1:11?framing=lf'],
  );
  // The default framing changing changes every destination that relies on it.
  const relying = planReload(before, slotsOf(before), config(['udp@127.0.0.1:1'], ['tcp@127.0.0.1:10', 'tcp@127.0.0.1:11'], { framing: 'lf' }));
  assert.deepEqual(relying.destinations.remove, [0, 1]);
});

test('plan: settings fixed at start are reported as ignored; too many destinations is an error', () => {
  const before = config(['udp@127.0.0.1:1'], ['tcp@127.0.0.1:10']);
  const plan = planReload(before, slotsOf(before), config(['udp@127.0.0.1:1'], ['tcp@127.0.0.1:10'], { ringBytes: 1 << 21, maxMessageBytes: 1500 }));
  assert.deepEqual(plan.ignored, ['buffer 1 MiB -> 2 MiB', 'max-message 65535 -> 1500']);
  // Every slot but 10 held: one running, the others by removed destinations still draining.
  const draining = Array.from({ length: DESTINATION_SLOTS - 11 }, (_, i) => i + 1);
  const many = Array.from({ length: 11 }, (_, i) => `tcp@127.0.0.1:${100 + i}`);
  assert.throws(() => planReload(before, slotsOf(before, draining), config(['udp@127.0.0.1:1'], ['tcp@127.0.0.1:10', ...many])), {
    message: new RegExp(
      `too many destinations at once: 11 to add, 10 of the relay's ${DESTINATION_SLOTS} slots free while ${DESTINATION_SLOTS - 11} removed ones still drain`,
    ),
  });
  assert.doesNotThrow(() => planReload(before, slotsOf(before, draining), config(['udp@127.0.0.1:1'], ['tcp@127.0.0.1:10', ...many.slice(1)])));
});

test('freeze: a reload keeps every restart-only setting of the settings table as it runs, and takes everything else from the new configuration', () => {
  const running = config(['udp@127.0.0.1:1'], ['tcp@127.0.0.1:10'], { spill: { dir: '/spill/running', maxBytes: 1 << 20 } });
  // Every restart-only setting differs here; a new one this does not change fails the first assertion.
  const next = config(['udp@127.0.0.1:2'], ['relp@127.0.0.1:11'], {
    ringBytes: 1 << 22,
    maxMessageBytes: 1500,
    recvBufferBytes: 1 << 21,
    udpIngest: 'native',
    relpWindow: 4,
    maxDelayMs: 2,
    spill: { dir: '/spill/next', maxBytes: 1 << 21 },
    unixSocket: { mode: 0o600, owner: { text: 'syslog:adm', uid: 104, gid: 4 } },
    reusePort: true,
    stallTimeoutMs: 5000,
  });
  const frozen = frozenForReload(running, next);
  for (const key of restartOnlyKeys()) {
    assert.notEqual(restartOnlyValue(key, next), restartOnlyValue(key, running), `${key}: the next configuration must change it`);
    assert.equal(restartOnlyValue(key, frozen), restartOnlyValue(key, running), `${key}: the reload took the new value`);
  }
  // Putting next's restart-only values back gives next: nothing else was frozen.
  assert.deepEqual(frozenForReload(next, frozen), next);
});

test('plan: a unix@ listener is its path and split: --framing does not touch it, ?split= makes another', () => {
  const before = config(['unix@/run/a', 'unix@/run/b', 'unix@/run/c?split=lf'], ['tcp@127.0.0.1:10']);
  const after = { ...config(['unix@/run/a', 'unix@/run/b?split=lf', 'unix@/run/c'], ['tcp@127.0.0.1:10']), framing: 'lf' as const };
  const plan = planReload(before, slotsOf(before), after);
  assert.deepEqual(plan.listeners.remove, [1, 2]);
  assert.deepEqual(
    plan.listeners.add.map((a) => [a.slot, a.endpoint.text]),
    [
      [3, 'unix@/run/b?split=lf'],
      [4, 'unix@/run/c'],
    ],
  );
});

test('plan: a udp listener whose ?split= changed is another listener; ?framing= on udp (meaningless there) changes nothing', () => {
  const before = config(['udp@127.0.0.1:1', 'udp@127.0.0.1:2?split=lf', 'udp@127.0.0.1:3?split=lf'], ['tcp@127.0.0.1:10']);
  const after = config(['udp@127.0.0.1:1?split=lf', 'udp@127.0.0.1:2', 'udp@127.0.0.1:3?framing=lf&split=lf'], ['tcp@127.0.0.1:10']);
  const plan = planReload(before, slotsOf(before), after);
  assert.deepEqual(plan.listeners.remove, [0, 1]);
  assert.deepEqual(
    plan.listeners.add.map((a) => [a.slot, a.endpoint.text]),
    [
      [3, 'udp@127.0.0.1:1?split=lf'],
      [4, 'udp@127.0.0.1:2'],
    ],
  );
});
