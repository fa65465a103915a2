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
import { later, snapshotFixture } from '../helpers/snapshots.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict parser of the Prometheus text format 0.0.4: every sample belongs to a family declared
 * by # HELP and # TYPE before it, names and label names match the format's patterns, label values
 * are quoted with \\ \" \n escapes, values are floats (or NaN, +Inf, -Inf), no series twice.
 */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const seen = new Set<string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'HELP') helps.add(meta[2]!);
      else {
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

function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(Object.entries(labels).sort()))?.value;
}

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
    ['relay_ring_capacity_bytes', {}, 64 * 1024 * 1024, 'gauge'],
    ['relay_ring_used_bytes', {}, 16 * 1024 * 1024, 'gauge'],
    ['relay_thread_cpu_seconds_total', { thread: 'ingest' }, 120, 'counter'],
    ['process_cpu_seconds_total', {}, 212, 'counter'],
    ['process_resident_memory_bytes', {}, 150 * 1024 * 1024, 'gauge'],
  ];
  for (const [name, labels, value, type] of cases) {
    assert.equal(valueOf(samples, name, labels), value, `${name} ${JSON.stringify(labels)}`);
    assert.equal(types.get(name), type, `${name} is a ${type}`);
  }
  // Zeros are exposed too (a reason that never happened is 0, not absent).
  assert.equal(valueOf(samples, 'relay_ingest_dropped_messages_total', { ...listener, reason: 'ring_full' }), 0);
});

test('prometheus: label values with a quote, a backslash and a newline round-trip', () => {
  const s = snapshotFixture();
  const tricky = 'tcp@host:1?x="a\\b"\nc';
  s.destinations[0]!.name = tricky;
  const { samples } = parsePrometheus(renderPrometheus(s));
  assert.equal(valueOf(samples, 'relay_sent_messages_total', { destination: tricky }), 1_005_000);
});

for (const { name, mutate, status, httpStatus, down } of [
  { name: 'some destinations down', mutate: () => {}, status: 'degraded', httpStatus: 200, down: ['tcp@10.0.0.6:2009'] },
  { name: 'every destination up', mutate: (s: ReturnType<typeof snapshotFixture>) => (s.destinations[1]!.up = true), status: 'ok', httpStatus: 200, down: [] },
  { name: 'none up', mutate: (s: ReturnType<typeof snapshotFixture>) => s.destinations.forEach((d) => (d.up = false)), status: 'down', httpStatus: 503, down: ['tcp@10.0.0.5:2009', 'tcp@10.0.0.6:2009', 'tcp@logs-b:6514?framing=octet'] },
  { name: 'ingest stopped', mutate: (s: ReturnType<typeof snapshotFixture>) => (s.ingestRunning = false), status: 'down', httpStatus: 503, down: ['tcp@10.0.0.6:2009'] },
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
  assert.ok(!line.includes('\n'), 'one line');
  assert.match(line, /^in 24\.7k\/s \[udp@0\.0\.0\.0:2008 12\.3k\/s, tcp@\[::\]:2010 12\.3k\/s\] \(kernel drops 0, ingest drops 0\)/);
  assert.match(line, /\| tcp@10\.0\.0\.5:2009 up out 12\.3k\/s lag 0 \|/);
  assert.match(line, /\| tcp@10\.0\.0\.6:2009 DOWN 1m40s out 0\/s lag 55\.0k dropped overflow=310 \|/);
  const record = statsRecord(before, after);
  assert.equal(record.intervalS, 10);
  assert.equal(record.destinations[0]!.outPerS, 12_345);
  assert.deepEqual(record.destinations[1]!.dropped, { overflow: 310 });
  assert.equal(record.destinations[1]!.downForS, 100);
});

test('stats line: the first one reports rates since the start', () => {
  const s = snapshotFixture();
  assert.match(renderStatsLine(undefined, s), /^in 1\.7k\/s \[udp@0\.0\.0\.0:2008 1\.7k\/s, tcp@\[::\]:2010 8\.3\/s\] \(kernel drops 12, ingest drops 6: oversize=1 not_allowed=3 framing=2\)/);
});

for (const width of [60, 100, 160]) {
  test(`top: renders within ${width} columns with rates, lag bars and drops`, () => {
    const before = snapshotFixture();
    const lines = renderTop(before, later(before, 2, 5000), width);
    for (const line of lines) assert.ok(line.length <= width, `${line.length} > ${width}: ${line}`);
    const screen = lines.join('\n');
    assert.match(screen, /^relay top — up 10m2s, ingest running, cpu 50%, rss 150 MiB/);
    assert.match(screen, /ring \[#{8}\.{22}\] 25\.0% of 64 MiB/);
    if (width >= 100) {
      assert.match(screen, /udp@0\.0\.0\.0:2008 +5\.0k +1\.0M +12 +oversize=1 not_allowed=3/);
      assert.match(screen, /tcp@10\.0\.0\.6:2009 +DOWN 1m32s +0 +55\.0k +\[#{12}\]/);
      assert.match(screen, /threads: main 0%  ingest 0%  egress 0%  background 0%/);
    }
  });
}

test('top: a relay with no destinations still renders', () => {
  const s = snapshotFixture();
  s.destinations = [];
  s.threads = [];
  const lines = renderTop(undefined, s, 80);
  assert.ok(lines.some((l) => l.includes('LISTENER')));
  assert.ok(!lines.some((l) => l.includes('DESTINATION')));
});
