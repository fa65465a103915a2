/**
 * A tiny `relay bench` run through the real CLI: the JSON has every field, and they agree with
 * each other (no timing thresholds: at a low rate on loopback nothing may be lost).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { spawnRelay } from '../helpers/relay-process.js';
import { withTempDir } from '../helpers/temp-dir.js';
import type { RunResult } from '../../src/bench/run-one.js';

for (const framing of ['len32le', 'octet']) {
  test(`bench: a small ${framing} run reports consistent JSON and an HTML report`, async () => {
    await withTempDir('relay-bench-', async (dir) => {
      const report = path.join(dir, 'report.html');
      const exit = await spawnRelay([
        'bench',
        '--rate',
        '2000',
        '--count',
        '3000',
        '--dests',
        '2',
        '--senders',
        '2',
        '--framing',
        framing,
        '--sizes',
        '40-300',
        '--json',
        '--report',
        report,
      ]).exit(60_000);
      assert.equal(exit.code, 0, exit.stderr);
      const runs = exit.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as RunResult);
      assert.equal(runs.length, 1);
      const run = runs[0]!;
      assert.equal(run.relay, 'relay');
      assert.equal(run.offered_rate, 2000);
      assert.equal(run.sent, 3000);
      assert.equal(run.destinations.length, 2);
      for (const d of run.destinations) {
        assert.ok(d.delivered <= run.sent, 'delivered <= sent');
        assert.deepEqual(d, { delivered: 3000, gaps: 0, duplicates: 0, reordered: 0, torn: 0 });
      }
      assert.equal(run.loss_pct, 0);
      const { p50, p90, p99, p999, max } = run.latency_us;
      assert.ok(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max, JSON.stringify(run.latency_us));
      assert.ok(run.relay_cpu_s > 0 && run.cpu_us_per_msg > 0 && run.relay_peak_rss_mb > 10);
      assert.equal(run.kernel_drops, 0);
      assert.ok(run.bench_cpu_s > 0);
      const html = await readFile(report, 'utf8');
      assert.match(html, /^<!doctype html>/);
      assert.equal((html.match(/<svg /g) ?? []).length, 4, 'four charts');
      assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'self-contained: no scripts, no network');
    });
  });
}

test('bench: --sink-tls runs the sinks over TLS with a throwaway certificate: everything delivered, labelled relay-tls, nothing left in the temp dir', async () => {
  // A temp dir of its own: another bench running on this machine may have one in the system's.
  await withTempDir('relay-bench-tmp-', async (tmp) => {
    const exit = await spawnRelay(['bench', '--sink-tls', '--rate', '2000', '--count', '2000', '--json'], { env: { TMPDIR: tmp } }).exit(60_000);
    assert.equal(exit.code, 0, exit.stderr);
    const run = JSON.parse(exit.stdout.trim()) as RunResult;
    assert.equal(run.relay, 'relay-tls');
    assert.deepEqual(run.destinations, [{ delivered: 2000, gaps: 0, duplicates: 0, reordered: 0, torn: 0 }]);
    assert.deepEqual(await readdir(tmp), [], 'the certificate directory was removed');
  });
});

test('bench: --group: the sinks are one group; together they get each message once, and nothing is lost', async () => {
  const exit = await spawnRelay(['bench', '--rate', '2000', '--count', '3000', '--dests', '3', '--group', 'carbon_ch', '--framing', 'lf', '--json']).exit(
    60_000,
  );
  assert.equal(exit.code, 0, exit.stderr);
  const run = JSON.parse(exit.stdout.trim()) as RunResult;
  assert.equal(run.destinations.length, 3);
  assert.equal(
    run.destinations.reduce((n, d) => n + d.delivered, 0),
    3000,
  );
  assert.ok(
    run.destinations.every((d) => d.delivered > 0 && d.duplicates === 0 && d.reordered === 0),
    JSON.stringify(run.destinations),
  );
  assert.equal(run.loss_pct, 0);
});

test('bench: --sink-relp runs RELP sinks and gives this relay relp@ destinations: everything delivered once, labelled relay-relp', async () => {
  const exit = await spawnRelay(['bench', '--sink-relp', '--rate', '2000', '--count', '3000', '--dests', '2', '--json']).exit(60_000);
  assert.equal(exit.code, 0, exit.stderr);
  const run = JSON.parse(exit.stdout.trim()) as RunResult;
  assert.equal(run.relay, 'relay-relp');
  assert.equal(run.sent, 3000);
  assert.deepEqual(run.destinations, [
    { delivered: 3000, gaps: 0, duplicates: 0, reordered: 0, torn: 0 },
    { delivered: 3000, gaps: 0, duplicates: 0, reordered: 0, torn: 0 },
  ]);
  assert.equal(run.loss_pct, 0);
  assert.ok(run.latency_us.p50 > 0, JSON.stringify(run.latency_us));
});

test('bench: --sink-relp with --group: the members are relp@; together they get each message once', async () => {
  const exit = await spawnRelay(['bench', '--sink-relp', '--rate', '2000', '--count', '3000', '--dests', '3', '--group', 'carbon_ch', '--json']).exit(60_000);
  assert.equal(exit.code, 0, exit.stderr);
  const run = JSON.parse(exit.stdout.trim()) as RunResult;
  assert.equal(run.relay, 'relay-relp');
  assert.equal(
    run.destinations.reduce((n, d) => n + d.delivered, 0),
    3000,
  );
  assert.ok(
    run.destinations.every((d) => d.delivered > 0 && d.duplicates === 0 && d.torn === 0),
    JSON.stringify(run.destinations),
  );
  assert.equal(run.loss_pct, 0);
});

test('bench: --sink-relp refuses --sink-tls and a framing, in one line, exit 2', async () => {
  for (const [extra, why] of [
    [['--sink-tls'], /^relay: --sink-relp and --sink-tls: /],
    [['--framing', 'lf'], /^relay: --sink-relp and --framing lf: RELP frames each message itself/],
  ] as const) {
    const exit = await spawnRelay(['bench', '--sink-relp', ...extra, '--count', '10']).exit(30_000);
    assert.equal(exit.code, 2, exit.stderr);
    assert.match(exit.stderr, why);
    assert.equal(exit.stderr.trim().split('\n').length, 1, exit.stderr);
    assert.equal(exit.stdout, '');
  }
});

for (const input of ['tcp', 'tls'] as const) {
  test(`bench: --input ${input} sends len32le frames on one ${input} connection per sender: everything delivered, labelled relay-in-${input}`, async () => {
    await withTempDir('relay-bench-tmp-', async (tmp) => {
      const exit = await spawnRelay(['bench', '--input', input, '--senders', '2', '--rate', '2000', '--count', '2000', '--json'], {
        env: { TMPDIR: tmp },
      }).exit(60_000);
      assert.equal(exit.code, 0, exit.stderr);
      const run = JSON.parse(exit.stdout.trim()) as RunResult;
      assert.equal(run.relay, `relay-in-${input}`);
      assert.equal(run.send_with, input);
      assert.deepEqual(run.destinations, [{ delivered: 2000, gaps: 0, duplicates: 0, reordered: 0, torn: 0 }]);
      assert.ok(run.cpu_us_per_msg > 0);
      assert.deepEqual(await readdir(tmp), [], 'the certificate directory was removed');
    });
  });
}

test('bench: --input tcp with --relay-cmd is refused in one line, exit 2', async () => {
  const exit = await spawnRelay(['bench', '--input', 'tcp', '--relay-cmd', 'x=true', '--count', '10']).exit(30_000);
  assert.equal(exit.code, 2, exit.stderr);
  assert.match(exit.stderr, /^relay: --input tcp and --relay-cmd: only this relay is measured with TCP or TLS input/);
  assert.equal(exit.stderr.trim().split('\n').length, 1, exit.stderr);
});
