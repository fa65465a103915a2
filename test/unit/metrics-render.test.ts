/**
 * Renderers of the snapshot, from fixtures (no clock, no sockets): Prometheus text checked with a
 * strict parser of the exposition format, /health verdicts, the stats line and the top view.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { renderPrometheus } from '../../src/metrics/prometheus.js';
import { health } from '../../src/metrics/health.js';
import { renderStatsLine, statsRecord } from '../../src/metrics/stats-line.js';
import { renderTop } from '../../src/metrics/top-view.js';
import type { DestinationSnapshot, ListenerSnapshot, Snapshot } from '../../src/metrics/snapshot-types.js';
import { later, snapshotFixture } from '../helpers/snapshots.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict parser of the Prometheus text format 0.0.4: every sample belongs to a family declared
 * by # HELP and # TYPE before it, names and label names match the format's patterns, label values
 * are quoted with \\ \" \n escapes, values are floats (or NaN, +Inf, -Inf), no series twice, a
 * family's samples form one group, one trailing newline.
 */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seen = new Set<string>();
  const closedFamilies = new Set<string>();
  let currentFamily: string | undefined;
  const samples: Sample[] = [];
  assert.ok(!text.endsWith('\n\n'), 'one trailing newline');
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'HELP') {
        assert.ok(!helps.has(meta[2]!), `HELP twice for ${meta[2]}`);
        helps.add(meta[2]!);
      } else {
        assert.match(meta[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line);
        assert.ok(!types.has(meta[2]!), `TYPE twice for ${meta[2]}`);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${JSON.stringify(line)}`);
    const [, name, , labelText = '', valueText] = match;
    assert.ok(types.has(name!) && helps.has(name!), `${name} has HELP and TYPE before its samples`);
    if (name !== currentFamily) {
      assert.ok(!closedFamilies.has(name!), `${name}: samples of one family are one group`);
      if (currentFamily !== undefined) closedFamilies.add(currentFamily);
      currentFamily = name;
    }
    const labels: Record<string, string> = {};
    let rest = labelText;
    while (rest.length > 0) {
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
      assert.ok(label, `bad labels in ${line}`);
      labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(label[0].length);
    }
    assert.match(valueText!, /^([-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+)|NaN|[+-]Inf)$/, line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!seen.has(key), `series twice: ${key}`);
    seen.add(key);
    if (types.get(name!) === 'counter') assert.ok(name!.endsWith('_total'), `counter ${name} ends in _total`);
    samples.push({ name: name!, labels, value: Number(valueText!.replace('+Inf', 'Infinity').replace('-Inf', '-Infinity')) });
  }
  return { samples, types };
}

function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()))?.value;
}

const seriesKey = (name: string, labels: Record<string, string>): string => `${name}${JSON.stringify(Object.entries(labels).sort())}`;

/** The interface: every family with its type, and how its samples come from the snapshot. */
const perListener: [string, 'counter' | 'gauge', (l: ListenerSnapshot) => number][] = [
  ['relay_received_messages_total', 'counter', (l) => l.receivedMessages],
  ['relay_received_bytes_total', 'counter', (l) => l.receivedBytes],
  ['relay_kernel_dropped_messages_total', 'counter', (l) => l.kernelDroppedMessages],
  ['relay_input_connections_total', 'counter', (l) => l.connectionsAccepted],
  ['relay_listener_reuse_port', 'gauge', (l) => (l.reusePort ? 1 : 0)],
];
const perDestination: [string, 'counter' | 'gauge', (d: DestinationSnapshot) => number][] = [
  ['relay_sent_messages_total', 'counter', (d) => d.sentMessages],
  ['relay_sent_bytes_total', 'counter', (d) => d.sentBytes],
  ['relay_resent_messages_total', 'counter', (d) => d.resentMessages],
  ['relay_spilled_messages_total', 'counter', (d) => d.spilledMessages],
  ['relay_replayed_messages_total', 'counter', (d) => d.replayedMessages],
  ['relay_spill_corrupt_segments_total', 'counter', (d) => d.spillCorruptSegments],
  ['relay_spill_corrupt_bytes_total', 'counter', (d) => d.spillCorruptBytes],
  ['relay_destination_up', 'gauge', (d) => (d.up ? 1 : 0)],
  ['relay_destination_lag_messages', 'gauge', (d) => d.lagMessages],
  ['relay_destination_lag_bytes', 'gauge', (d) => d.lagBytes],
  ['relay_connects_total', 'counter', (d) => d.connects],
  ['relay_reconnects_total', 'counter', (d) => d.reconnects],
  ['relay_lf_split_messages_total', 'counter', (d) => d.splitMessages],
  ['relay_stalls_total', 'counter', (d) => d.stalls],
  ['relay_tls_handshake_failures_total', 'counter', (d) => d.tlsFailures],
  ['relay_destination_unconfirmed_messages', 'gauge', (d) => d.unconfirmedMessages],
  ['relay_group_others_messages_total', 'counter', (d) => d.othersMessages],
  ['relay_group_handed_over_messages_total', 'counter', (d) => d.handedOverMessages],
  ['relay_group_taken_over_messages_total', 'counter', (d) => d.takenOverMessages],
];

test('prometheus: exactly the interface families, one series per listener, destination, reason and thread', () => {
  const s = snapshotFixture();
  const { samples, types } = parsePrometheus(renderPrometheus(s));
  const expected = new Map<string, number>();
  const expectedTypes = new Map<string, string>([
    ['relay_ingest_dropped_messages_total', 'counter'],
    ['relay_input_connections_closed_total', 'counter'],
    ['relay_dropped_messages_total', 'counter'],
    ['relay_config_reloads_total', 'counter'],
    ['relay_ring_capacity_bytes', 'gauge'],
    ['relay_ring_used_bytes', 'gauge'],
    ['relay_ingest_native', 'gauge'],
    ['relay_ingest_running', 'gauge'],
    ['relay_start_time_seconds', 'gauge'],
    ['relay_thread_cpu_seconds_total', 'counter'],
    ['process_cpu_seconds_total', 'counter'],
    ['process_resident_memory_bytes', 'gauge'],
  ]);
  for (const [name, type, value] of perListener) {
    expectedTypes.set(name, type);
    for (const l of s.listeners) expected.set(seriesKey(name, { listener: l.name }), value(l));
  }
  for (const [name, type, value] of perDestination) {
    expectedTypes.set(name, type);
    for (const d of s.destinations) expected.set(seriesKey(name, { destination: d.name }), value(d));
  }
  for (const l of s.listeners) {
    for (const reason of ['oversize', 'ring_full', 'framing', 'not_allowed', 'denied', 'rate_limited'] as const) {
      expected.set(seriesKey('relay_ingest_dropped_messages_total', { listener: l.name, reason }), l.droppedMessages[reason]);
    }
    for (const reason of ['tls_handshake', 'max_connections', 'idle_timeout', 'proxy_header'] as const) {
      expected.set(seriesKey('relay_input_connections_closed_total', { listener: l.name, reason }), l.closedConnections[reason]);
    }
  }
  for (const d of s.destinations) {
    for (const reason of ['overflow', 'spill_full', 'unframeable', 'shutdown', 'rejected'] as const) {
      expected.set(seriesKey('relay_dropped_messages_total', { destination: d.name, reason }), d.droppedMessages[reason]);
    }
  }
  for (const t of s.threads) expected.set(seriesKey('relay_thread_cpu_seconds_total', { thread: t.name }), t.cpuSeconds);
  expected.set(seriesKey('relay_config_reloads_total', { result: 'ok' }), 2);
  expected.set(seriesKey('relay_config_reloads_total', { result: 'failed' }), 1);
  expected.set(seriesKey('relay_ring_capacity_bytes', {}), 64 * 1024 * 1024);
  expected.set(seriesKey('relay_ring_used_bytes', {}), 16 * 1024 * 1024);
  expected.set(seriesKey('relay_ingest_native', {}), 1);
  expected.set(seriesKey('relay_ingest_running', {}), 1);
  expected.set(seriesKey('relay_start_time_seconds', {}), Date.UTC(2026, 10, 22, 12, 0, 0) / 1000);
  expected.set(seriesKey('process_cpu_seconds_total', {}), 212);
  expected.set(seriesKey('process_resident_memory_bytes', {}), 150 * 1024 * 1024);

  assert.deepEqual(new Map([...types].sort()), new Map([...expectedTypes].sort()), 'families and their types');
  assert.equal(samples.length, 2 * (5 + 6 + 4) + 3 * (19 + 5) + 4 + 7 + 2, 'series count');
  assert.deepEqual(new Map(samples.map((x) => [seriesKey(x.name, x.labels), x.value] as const).sort()), new Map([...expected].sort()));
});

test('prometheus: parses strictly, with every required name, label set and value', () => {
  const s = snapshotFixture();
  const { samples, types } = parsePrometheus(renderPrometheus(s));
  const listener = { listener: 'udp@0.0.0.0:2008' };
  const octet = { destination: 'tcp@logs-b:6514?framing=octet' };
  const cases: [string, Record<string, string>, number, string][] = [
    ['relay_received_messages_total', listener, 1_000_000, 'counter'],
    ['relay_received_bytes_total', listener, 100_000_000, 'counter'],
    ['relay_kernel_dropped_messages_total', listener, 12, 'counter'],
    ['relay_ingest_dropped_messages_total', { ...listener, reason: 'oversize' }, 1, 'counter'],
    ['relay_ingest_dropped_messages_total', { ...listener, reason: 'not_allowed' }, 3, 'counter'],
    ['relay_ingest_dropped_messages_total', { listener: 'tcp@[::]:2010', reason: 'framing' }, 2, 'counter'],
    ['relay_sent_messages_total', octet, 990_000, 'counter'],
    ['relay_sent_bytes_total', octet, 990_000 * 104, 'counter'],
    ['relay_dropped_messages_total', { ...octet, reason: 'overflow' }, 7, 'counter'],
    ['relay_dropped_messages_total', { ...octet, reason: 'spill_full' }, 8, 'counter'],
    ['relay_dropped_messages_total', { ...octet, reason: 'unframeable' }, 9, 'counter'],
    ['relay_dropped_messages_total', { ...octet, reason: 'shutdown' }, 10, 'counter'],
    ['relay_spilled_messages_total', octet, 20, 'counter'],
    ['relay_replayed_messages_total', octet, 15, 'counter'],
    ['relay_destination_up', { destination: 'tcp@10.0.0.6:2009' }, 0, 'gauge'],
    ['relay_destination_up', octet, 1, 'gauge'],
    ['relay_destination_lag_messages', { destination: 'tcp@10.0.0.6:2009' }, 55_000, 'gauge'],
    ['relay_destination_lag_bytes', { destination: 'tcp@10.0.0.6:2009' }, 55_000 * 104, 'gauge'],
    ['relay_reconnects_total', { destination: 'tcp@10.0.0.6:2009' }, 6, 'counter'],
    ['relay_connects_total', { destination: 'tcp@10.0.0.6:2009' }, 3, 'counter'],
    ['relay_resent_messages_total', { destination: 'tcp@10.0.0.6:2009' }, 40, 'counter'],
    ['relay_spill_corrupt_segments_total', octet, 1, 'counter'],
    ['relay_spill_corrupt_bytes_total', octet, 4096, 'counter'],
    ['relay_input_connections_total', { listener: 'tcp@[::]:2010' }, 17, 'counter'],
    ['relay_input_connections_total', listener, 0, 'counter'],
    ['relay_ring_capacity_bytes', {}, 64 * 1024 * 1024, 'gauge'],
    ['relay_ring_used_bytes', {}, 16 * 1024 * 1024, 'gauge'],
    ['relay_thread_cpu_seconds_total', { thread: 'ingest' }, 120, 'counter'],
    ['process_cpu_seconds_total', {}, 212, 'counter'],
    ['process_resident_memory_bytes', {}, 150 * 1024 * 1024, 'gauge'],
  ];
  for (const [name, labels, value, type] of cases) {
    assert.equal(sampleValue(samples, name, labels), value, `${name} ${JSON.stringify(labels)}`);
    assert.equal(types.get(name), type, `${name} is a ${type}`);
  }
  // Zeros are exposed too (a reason that never happened is 0, not absent).
  assert.equal(sampleValue(samples, 'relay_ingest_dropped_messages_total', { ...listener, reason: 'ring_full' }), 0);
});

test('prometheus: label values with a quote, a backslash and a newline round-trip', () => {
  const s = snapshotFixture();
  const tricky = 'tcp@host:1?x="a\\b"\nc';
  s.destinations[0]!.name = tricky;
  const { samples } = parsePrometheus(renderPrometheus(s));
  assert.equal(sampleValue(samples, 'relay_sent_messages_total', { destination: tricky }), 1_005_000);
});

// The parser is the check, so it must reject what the format forbids.
const head = '# HELP a_total A.\n# TYPE a_total counter\n';
const malformed: [string, string][] = [
  ['no trailing newline', `${head}a_total 1`],
  ['two trailing newlines', `${head}a_total 1\n\n`],
  ['a sample before its HELP and TYPE', `a_total 1\n${head}`],
  ['a metric name starting with a digit', '# HELP 1a_total A.\n# TYPE 1a_total counter\n1a_total 1\n'],
  ['a label name with a dash', `${head}a_total{x-y="1"} 1\n`],
  ['an unescaped quote in a label value', `${head}a_total{x="a"b"} 1\n`],
  ['an unknown escape in a label value', `${head}a_total{x="a\\tb"} 1\n`],
  ['a value that is not a float', `${head}a_total 1,5\n`],
  ['a series twice', `${head}a_total{x="1"} 1\na_total{x="1"} 2\n`],
  ['a family in two groups', `${head}# HELP b B.\n# TYPE b gauge\na_total 1\nb 1\na_total{x="2"} 1\n`],
  ['a counter not ending in _total', '# HELP a A.\n# TYPE a counter\na 1\n'],
  ['an unknown type', '# HELP a A.\n# TYPE a meter\na 1\n'],
];
for (const [name, text] of malformed) {
  test(`prometheus test parser rejects ${name}`, () => {
    assert.throws(() => parsePrometheus(text), assert.AssertionError);
  });
}

test('prometheus test parser reads escapes, special values and label-less samples', () => {
  const text = `${head}a_total{x="q\\"b\\\\n\\n",y="2"} +Inf\n# HELP g G.\n# TYPE g gauge\ng NaN\ng{z=""} -1.5e3\n`;
  const { samples } = parsePrometheus(text);
  assert.deepEqual(
    samples.map((x) => [x.name, x.labels, x.value]),
    [
      ['a_total', { x: 'q"b\\n\n', y: '2' }, Infinity],
      ['g', {}, NaN],
      ['g', { z: '' }, -1500],
    ],
  );
});

for (const { name, mutate, status, httpStatus, down } of [
  { name: 'some destinations down', mutate: () => {}, status: 'degraded', httpStatus: 200, down: ['tcp@10.0.0.6:2009'] },
  { name: 'every destination up', mutate: (s: ReturnType<typeof snapshotFixture>) => (s.destinations[1]!.up = true), status: 'ok', httpStatus: 200, down: [] },
  {
    name: 'none up',
    mutate: (s: ReturnType<typeof snapshotFixture>) => {
      for (const d of s.destinations) d.up = false;
    },
    status: 'down',
    httpStatus: 503,
    down: ['tcp@10.0.0.5:2009', 'tcp@10.0.0.6:2009', 'tcp@logs-b:6514?framing=octet'],
  },
  {
    name: 'ingest stopped',
    mutate: (s: ReturnType<typeof snapshotFixture>) => (s.ingestRunning = false),
    status: 'down',
    httpStatus: 503,
    down: ['tcp@10.0.0.6:2009'],
  },
]) {
  test(`health: ${name} -> ${httpStatus} ${status}`, () => {
    const s = snapshotFixture();
    mutate(s);
    const h = health(s);
    assert.equal(h.httpStatus, httpStatus);
    assert.equal(h.body.status, status);
    assert.deepEqual(h.body.down, down);
    assert.equal(h.body.destinations[1]!.since, new Date(s.destinations[1]!.sinceMs).toISOString());
  });
}

test('stats line: rates from counter deltas, drops since the last line, down time', () => {
  const before = snapshotFixture();
  const after = later(before, 10, 12_345);
  const line = renderStatsLine(before, after);
  assert.equal(
    line,
    'in 24.7k/s [udp@0.0.0.0:2008 12.3k/s, tcp@[::]:2010 12.3k/s] (kernel drops 40, ingest drops 6: not_allowed=5 framing=1)' +
      ' | tcp@10.0.0.5:2009 up out 12.3k/s lag 0' +
      ' | tcp@10.0.0.6:2009 DOWN 1m40s out 0/s lag 55.0k dropped overflow=310' +
      ' | tcp@logs-b:6514?framing=octet up out 12.3k/s lag 4 dropped unframeable=2',
  );
  assert.deepEqual(statsRecord(before, after), {
    intervalS: 10,
    inPerS: 24_690,
    kernelDropped: 40,
    ingestDropped: { not_allowed: 5, framing: 1 },
    listeners: [
      { name: 'udp@0.0.0.0:2008', inPerS: 12_345 },
      { name: 'tcp@[::]:2010', inPerS: 12_345 },
    ],
    destinations: [
      { name: 'tcp@10.0.0.5:2009', up: true, outPerS: 12_345, lagMessages: 0, dropped: {} },
      { name: 'tcp@10.0.0.6:2009', up: false, downForS: 100, outPerS: 0, lagMessages: 55_000, dropped: { overflow: 310 } },
      { name: 'tcp@logs-b:6514?framing=octet', up: true, outPerS: 12_345, lagMessages: 4, dropped: { unframeable: 2 } },
    ],
  });
});

test('stats line: the first one reports rates and drops since the start', () => {
  const s = snapshotFixture();
  // 1_005_000 messages in 600 s; 1_000_000 + 5000 over 600 s = 1675/s, 5000 / 600 = 8.3/s.
  assert.match(
    renderStatsLine(undefined, s),
    /^in 1\.7k\/s \[udp@0\.0\.0\.0:2008 1\.7k\/s, tcp@\[::\]:2010 8\.3\/s\] \(kernel drops 12, ingest drops 6: oversize=1 not_allowed=3 framing=2\)/,
  );
  assert.match(
    renderStatsLine(undefined, s),
    /\| tcp@logs-b:6514\?framing=octet up out 1\.6k\/s lag 4 dropped overflow=7 spill_full=8 unframeable=9 shutdown=10$/,
  );
});

for (const { name, shape, expected } of [
  {
    name: 'one listener: no per-listener rates',
    shape: (s: Snapshot) => void s.listeners.pop(),
    expected: /^in 12\.3k\/s \(kernel drops 40, ingest drops 5: not_allowed=5\) \| tcp@10\.0\.0\.5:2009 up /,
  },
  {
    name: 'no destinations: the input part alone',
    shape: (s: Snapshot) => {
      s.destinations = [];
    },
    expected: /^in 24\.7k\/s \[.+\] \(kernel drops 40, ingest drops 6: not_allowed=5 framing=1\)$/,
  },
]) {
  test(`stats line: ${name}`, () => {
    const before = snapshotFixture();
    shape(before);
    const line = renderStatsLine(before, later(before, 10, 12_345));
    assert.match(line, expected);
    assert.ok(!line.includes('\n'), 'one line');
  });
}

// Below 100 columns the destination rows are cut before the lag bars; from 100 the bars take the room left.
for (const { widthColumns, lagBarCells } of [
  { widthColumns: 1, lagBarCells: undefined },
  { widthColumns: 60, lagBarCells: undefined },
  { widthColumns: 100, lagBarCells: 7 },
  { widthColumns: 160, lagBarCells: 20 },
]) {
  test(`top: ${widthColumns} columns: no line wider, the same rows cut at the right edge`, () => {
    const before = snapshotFixture();
    const lines = renderTop(before, later(before, 2, 5000), widthColumns);
    for (const line of lines) assert.ok(line.length <= widthColumns, `${line.length} > ${widthColumns}: ${line}`);
    // The screen has the same rows at every width; only their right edge is cut.
    assert.equal(lines.length, 18);
    const wide = renderTop(before, later(before, 2, 5000), 1000);
    // Compare the left 20 columns (the lag bars further right change width with the terminal).
    for (const [i, line] of lines.entries()) assert.ok(wide[i]!.startsWith(line.replace(/…$/, '').slice(0, 20)), `line ${i} starts like the full line`);
    if (lagBarCells === undefined) return;
    const screen = lines.join('\n');
    // 2 s apart at 5000/s in and out; the process used 1 s of CPU, the threads their share (see later()).
    assert.match(screen, /^relay top — up 10m2s, ingest running \(native\), cpu 50%, rss 150 MiB\n/);
    assert.match(screen, /\nring \[#{8}\.{22}\] 25\.0% of 64 MiB\n/);
    assert.match(screen, /\nudp@0\.0\.0\.0:2008 \(port shared\) +5\.0k +1\.0M +52 +9\n {4}ingest drops: oversize=1 not_allowed=8\n/);
    assert.match(
      screen,
      /\ntcp@\[::\]:2010 +5\.0k +15\.0k +0 +3\n {4}ingest drops: framing=3\n {4}connections closed: tls_handshake=2 max_connections=5 idle_timeout=1\n/,
    );
    assert.match(screen, new RegExp(`\\ntcp@10\\.0\\.0\\.5:2009 +up 10m2s +5\\.0k +0 +\\[\\.{${lagBarCells}}\\] +0 B +20/15 +0\\n`));
    assert.match(
      screen,
      new RegExp(`\\ntcp@10\\.0\\.0\\.6:2009 +DOWN 1m32s +0 +55\\.0k +\\[#{${lagBarCells}}\\] +5\\.5 MiB +20/15 +50\\.3k\\n {4}dropped: overflow=50\\.3k\\n`),
    );
    assert.match(
      screen,
      /\ntcp@logs-b:6514\?framing=octet +up 10m1s +5\.0k +4 +\[\.+\] +416 B +20\/15 +36\n {4}dropped: overflow=7 spill_full=8 unframeable=11 shutdown=10\n/,
    );
    assert.match(screen, /\nthreads: main 1% {2}ingest 25% {2}egress 20% {2}background 4%$/);
  });
}

test('top: lag bars are scaled to the largest lag', () => {
  const s = snapshotFixture();
  s.destinations[2]!.lagMessages = 27_500;
  const bars = renderTop(undefined, s, 160).flatMap((line) => /(\[[#.]+\]) /.exec(line)?.[1] ?? []);
  assert.deepEqual(bars.slice(1), [`[${'.'.repeat(20)}]`, `[${'#'.repeat(20)}]`, `[${'#'.repeat(10)}${'.'.repeat(10)}]`]);
});

test('top: with no previous snapshot, rates since the start and CPU as seconds', () => {
  const screen = renderTop(undefined, snapshotFixture(), 160).join('\n');
  assert.match(screen, /^relay top — up 10m0s, ingest running \(native\), cpu -, rss 150 MiB\n/);
  // 1_000_000 received over 600 s.
  assert.match(screen, /\nudp@0\.0\.0\.0:2008 \(port shared\) +1\.7k +1\.0M +12 +4\n/);
  assert.match(screen, /\nthreads: main 1\.5s {2}ingest 120\.0s {2}egress 90\.0s {2}background 0\.5s$/);
});

test('top: a relay with no destinations and no thread figures still renders', () => {
  const s = snapshotFixture();
  s.destinations = [];
  s.threads = [];
  const lines = renderTop(undefined, s, 80);
  assert.ok(lines.some((l) => l.startsWith('LISTENER')));
  assert.ok(!lines.some((l) => l.includes('DESTINATION') || l.startsWith('threads:')));
});

/** The fixture with its last two destinations members of group "tier". */
function grouped(upSecond: boolean, upThird: boolean): Snapshot {
  const s = snapshotFixture();
  s.destinations[1] = { ...s.destinations[1]!, group: 'tier', up: upSecond };
  s.destinations[2] = { ...s.destinations[2]!, group: 'tier', up: upThird };
  return s;
}

test('health: a group is up while one member is; every member down makes the relay down', () => {
  const one = health(grouped(false, true));
  assert.equal(one.body.status, 'degraded');
  assert.deepEqual(one.body.groups, [{ name: 'tier', up: true, membersUp: 1, members: 2 }]);
  assert.equal(one.body.destinations[1]!.group, 'tier');
  const none = health(grouped(false, false));
  assert.equal(none.httpStatus, 503);
  assert.equal(none.body.status, 'down');
  assert.deepEqual(none.body.groups, [{ name: 'tier', up: false, membersUp: 0, members: 2 }]);
});

test('top: a group member shows as GROUP/ADDRESS with its share of the group', () => {
  const s = grouped(true, true);
  const lines = renderTop(s, later(s, 2, 5000), 200);
  assert.match(lines.find((l) => l.startsWith('DESTINATION'))!, /SHARE$/);
  // 900k and 990k sent (+10k each in 2 s): 48% and 52%.
  assert.match(lines.find((l) => l.startsWith('tier/tcp@10.0.0.6:2009'))!, / 48%$/);
  assert.match(lines.find((l) => l.startsWith('tier/tcp@logs-b:6514?framing=octet'))!, / 52%$/);
  assert.match(lines.find((l) => l.startsWith('tcp@10.0.0.5:2009'))!, /\d\s*$/);
});

test('prometheus: a group member carries its group label', () => {
  const text = renderPrometheus(grouped(true, true));
  assert.match(text, /^relay_sent_messages_total\{destination="tcp@10\.0\.0\.6:2009",group="tier"\} /m);
  assert.match(text, /^relay_dropped_messages_total\{destination="tcp@10\.0\.0\.6:2009",group="tier",reason="overflow"\} 50000$/m);
  assert.match(text, /^relay_sent_messages_total\{destination="tcp@10\.0\.0\.5:2009"\} /m);
});
