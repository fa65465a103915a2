/**
 * `relay --carbon-config FILE` against the real carbon-c-relay (Debian's): the same configuration
 * text and the same lines through both must reach the same members with the same bytes, in the
 * same order — match and stop, several rules without stop, blackhole, validate, rewrites with
 * every back-reference form, every cluster type, replication and instances, and dirty and tagged
 * names that carbon-c-relay cleanses. Both are stopped gracefully (they flush) before the sinks
 * are compared; `relay route --test` is asked too, and must name the members that got each line.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, missingOracle, startCarbon } from '../helpers/carbon-relay.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { spawnRelay, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendLines } from '../helpers/tcp-lines.js';
import { withTempDir } from '../helpers/temp-dir.js';

/** Metric lines from `seed`: names under the prefixes the configurations route on, dirty and tagged ones among them. */
function carbonLines(seed: number, count: number): string[] {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[randomInt(random, 0, items.length - 1)]!;
  const prefixes = ['sys', 'app', 'junk', 'web', 'svc', 'x', 'a', 'b', 'App', 'SYS', 'db'];
  const segment = (): string => pick(['cpu', 'Mem', 'hits', 'q', 'host-1', 'us_east', 'Web', 'idle', 'x9']);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    let name = [pick(prefixes), ...Array.from({ length: randomInt(random, 1, 4) }, segment)].join('.');
    const dirt = randomInt(random, 0, 9);
    if (dirt === 0) name = name.replace('.', '..');
    else if (dirt === 1) name = `.${name}.`;
    else if (dirt === 2) name = name.replace('.', '.h@st!');
    else if (dirt === 3) name = `${name};dc=eu;role=db`;
    const value = pick(['1', '2.5', '-3', '1e3', 'nan', 'x', '1..5']);
    const sep = pick([' ', ' ', ' ', '\t', '  ']);
    const line = `${dirt === 4 ? '  ' : ''}${name}${sep}${value}${sep}${1_700_000_000 + i}${dirt === 5 ? ' extra' : ''}`;
    lines.push(dirt === 6 ? `${line}\r` : line);
  }
  return lines;
}

/** A configuration over `servers` (host:port of each member, in order). */
interface Case {
  name: string;
  servers: number;
  config: (server: (i: number) => string) => string;
}

const CASES: Case[] = [
  {
    name: 'match and stop, rules without stop, blackhole; forward, any_of and failover clusters',
    servers: 7,
    config: (s) =>
      [
        `cluster fwd forward ${s(0)} ${s(1)};`,
        `cluster any any_of ${s(2)} ${s(3)} ${s(4)};`,
        `cluster fo failover ${s(5)} ${s(6)};`,
        'match ^sys\\. send to fwd stop;',
        'match ^junk\\. send to blackhole;',
        'match ^app\\. ^db\\. send to any;',
        'match Web send to fo;',
        'match * send to fwd;',
      ].join('\n'),
  },
  {
    name: 'consistent hashes: carbon_ch with replication 2, fnv1a_ch, jump_fnv1a_ch replicated and dynamic, instances',
    servers: 9,
    config: (s) =>
      [
        `cluster ch carbon_ch replication 2 ${s(0)}=a ${s(1)}=b ${s(2)}=c;`,
        `cluster fnv fnv1a_ch ${s(3)}=x1 ${s(4)}=x2 ${s(5)}=x3;`,
        `cluster jump jump_fnv1a_ch replication 2 dynamic ${s(6)}=5 ${s(7)}=3 ${s(8)}=10;`,
        'match ^(a|app)\\. send to ch;',
        'match ^b\\. ^web\\. send to fnv stop;',
        'match * send to jump;',
      ].join('\n'),
  },
  {
    name: 'rewrites with every back-reference form, and validate (drop and log)',
    servers: 3,
    config: (s) =>
      [
        `cluster out forward ${s(0)};`,
        `cluster checked forward ${s(1)};`,
        `cluster rest forward ${s(2)};`,
        'rewrite ^app\\.([A-Za-z]+)\\.(.*)$ into apps.\\_1.\\^2;',
        'rewrite ^svc\\.(.+)$ into services.\\.1;',
        'rewrite ^SYS\\.([^.]+) into sys.\\_.1.upper;',
        'match ^apps\\. validate "^-?[0-9.]+ [0-9]+$" else drop send to checked stop;',
        'match ^x\\. validate "^[0-9]+ [0-9]+$" else log send to checked;',
        'match ^services\\. ^sys\\. send to out;',
        'match * send to rest;',
      ].join('\n'),
  },
];

for (const c of CASES) {
  test(`carbon config: ${c.name}: the same members get the same bytes as from carbon-c-relay`, async (t) => {
    if (missingOracle(t)) return;
    const lines = carbonLines(c.name.length, 3000);
    const ours: TestSink[] = [];
    const theirs: TestSink[] = [];
    let relay: RelayProcess | undefined;
    let carbon: RelayProcess | undefined;
    let told: { text: string; ports: number[] }[] = [];
    try {
      for (let i = 0; i < c.servers; i++) {
        ours.push(await TestSink.start('lf'));
        theirs.push(await TestSink.start('lf'));
      }
      await withTempDir('carbon-config-', async (dir) => {
        const file = path.join(dir, 'ours.conf');
        await writeFile(file, `${c.config((i) => `127.0.0.1:${ours[i]!.port}`)}\n`);
        const listenPort = await freePort();
        const started = await startRelay(['--carbon-config', file, `tcp@127.0.0.1:${listenPort}?framing=lf`, '--stats-interval', '0']);
        relay = started.relay;
        const theirsStarted = await startCarbon(
          dir,
          (port) => `listen type linemode 127.0.0.1:${port} proto tcp;\n${c.config((i) => `127.0.0.1:${theirs[i]!.port}`)}\n`,
        );
        carbon = theirsStarted.relay;
        await Promise.all([sendLines(started.listeners[0]!, lines), sendLines(`tcp@127.0.0.1:${theirsStarted.port}`, lines)]);
        told = await routeTest(file, lines);
      });
      // Both stop gracefully: what they hold is delivered, then their connections close.
      const [ourExit, theirExit] = await Promise.all([relay!.stop('SIGTERM'), carbon!.stop('SIGTERM')]);
      assert.equal(ourExit.code, 0, ourExit.stderr);
      assert.ok(theirExit.code === 0 || theirExit.signal === 'SIGTERM', theirExit.stderr);
      await Promise.all([...ours, ...theirs].map((s) => s.waitUntilClosed()));
      const received = (sinks: TestSink[]): string[][] =>
        sinks.map((s) => s.messages.map((m) => m.toString('latin1')).filter((l) => !l.startsWith('carbon.relays.')));
      const [a, b] = [received(ours), received(theirs)];
      const total = b.reduce((n, x) => n + x.length, 0);
      assert.ok(total > lines.length / 2, `carbon-c-relay forwarded ${total} lines`);
      for (let i = 0; i < c.servers; i++) {
        if (a[i]!.join('\n') === b[i]!.join('\n')) continue;
        const first = a[i]!.findIndex((l, k) => l !== b[i]![k]);
        assert.fail(
          `server ${i}: ours ${a[i]!.length} lines, carbon-c-relay ${b[i]!.length}; first difference at ${first}: ours ${JSON.stringify(a[i]![first])}, theirs ${JSON.stringify(b[i]![first])}`,
        );
      }
      // relay route --test says where each line goes: exactly what reached our servers.
      const byPort = new Map(ours.map((s, i) => [s.port, i]));
      const expected: string[][] = ours.map(() => []);
      for (const { text, ports } of told) for (const port of ports) expected[byPort.get(port)!]!.push(text);
      assert.deepEqual(expected, a, 'relay route --test names the servers that got each line');
      t.diagnostic(`${lines.length} lines in, ${total} forwarded over ${c.servers} servers, every one alike`);
    } finally {
      await relay?.stop('SIGKILL');
      await carbon?.stop('SIGKILL');
      for (const s of [...ours, ...theirs]) await s.close();
    }
  });
}

/** What `relay route --test --carbon-config FILE` says of each line: the line as sent, and the ports of the servers it goes to. */
async function routeTest(file: string, lines: string[]): Promise<{ text: string; ports: number[] }[]> {
  const route = spawnRelay(['route', '--test', '--carbon-config', file], { stdin: 'pipe' });
  route.child.stdin!.end(`${lines.join('\n')}\n`);
  const exit = await route.exit();
  assert.equal(exit.code, 0, exit.stderr);
  const out: { text: string; ports: number[] }[] = [];
  for (const line of exit.stdout.split('\n')) {
    const arrow = /^ {2}(.*) {2}-> {2}(.*)$/.exec(line);
    if (!arrow) continue;
    out.push({ text: arrow[1]!, ports: [...arrow[2]!.matchAll(/@127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])) });
  }
  return out;
}

test('carbon config: statistics as carbon-c-relay writes them, every interval, to the clusters of send to (reset counters after interval)', async () => {
  const [out, stats] = [await TestSink.start('lf'), await TestSink.start('lf')];
  let relay: RelayProcess | undefined;
  try {
    await withTempDir('carbon-stats-', async (dir) => {
      const file = path.join(dir, 'relay.conf');
      await writeFile(
        file,
        [
          `cluster out forward 127.0.0.1:${out.port};`,
          `cluster stats forward 127.0.0.1:${stats.port};`,
          'statistics submit every 1 seconds reset counters after interval prefix with relay.stats send to stats stop;',
          'match * send to out;',
          '',
        ].join('\n'),
      );
      const listenPort = await freePort();
      const started = await startRelay(['--carbon-config', file, `tcp@127.0.0.1:${listenPort}?framing=lf`, '--stats-interval', '0']);
      relay = started.relay;
      const lines = Array.from({ length: 500 }, (_, i) => `app.m${i % 7} ${i} 1700000000`);
      await sendLines(started.listeners[0]!, lines);
      const valuesOf = (name: string): number[] =>
        stats.messages
          .map((m) => m.toString('latin1').split(' '))
          .filter(([metric]) => metric === `relay.stats.${name}`)
          .map(([, v]) => Number(v));
      const total = (name: string): number => valuesOf(name).reduce((a, b) => a + b, 0);
      // Per interval: the intervals' values add up to what arrived.
      await stats.waitUntil(() => total('metricsReceived') === 500 && total('metricsSent') >= 500, 'statistics adding up to 500 received', 15_000);
      await out.waitFor(500);
      const names = new Set(stats.messages.map((m) => m.toString('latin1').split(' ')[0]!));
      for (const name of [
        'metricsReceived',
        'metricsBlackholed',
        'metricsDiscarded',
        'metricsSent',
        'metricsQueued',
        'metricStalls',
        'metricsDropped',
        'connections',
      ])
        assert.ok(names.has(`relay.stats.${name}`), `relay.stats.${name} written`);
      assert.ok(names.has(`relay.stats.destinations.127_0_0_1:${out.port}.sent`), [...names].join(' '));
      // send to stats ... stop: the relay's own lines go there only.
      assert.equal(out.messages.filter((m) => m.toString('latin1').startsWith('relay.stats.')).length, 0);
      assert.deepEqual(
        out.messages.map((m) => m.toString('latin1')),
        lines,
      );
    });
  } finally {
    await relay?.stop('SIGKILL');
    await out.close();
    await stats.close();
  }
});
