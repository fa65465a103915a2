/**
 * Consistent-hash groups end to end, through bin/relay: each metric lands on the member the real
 * carbon-c-relay picks for the same member list (replication 1 and 2, instances given out of
 * order), and a reload that adds a member moves only that member's share. Input is a framed TCP
 * listener (`?framing=lf`: each line a message).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { ConsistentHash } from '../../src/group/consistent-hash.js';
import { CARBON_RELAY, metricNames, missingOracle, startCarbon } from '../helpers/carbon-relay.js';
import { assertRun, relayToml } from '../helpers/reload-config.js';
import { startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { metricLine, sendLines, metricValue } from '../helpers/tcp-lines.js';
import { withTempDir } from '../helpers/temp-dir.js';

for (const { mode, replication, instances } of [
  { mode: 'carbon_ch', replication: 1, instances: ['a', 'b', 'c'] },
  { mode: 'carbon_ch', replication: 2, instances: ['cache-a', 'cache-b', 'cache-c', 'cache-d'] },
  { mode: 'fnv1a_ch', replication: 1, instances: ['x1', 'x2', 'x3'] },
  { mode: 'jump_fnv1a_ch', replication: 2, instances: ['5', '3', '10', '1', '2'] },
]) {
  test(`groups: a ${mode} group (replication ${replication}) places every metric on the member carbon-c-relay picks`, async (t) => {
    if (missingOracle(t)) return;
    const names = metricNames(17 + instances.length, 3000);
    const ours: TestSink[] = [];
    const theirs: TestSink[] = [];
    let relay: RelayProcess | undefined;
    let carbon: RelayProcess | undefined;
    try {
      for (const _ of instances) {
        ours.push(await TestSink.start('lf'));
        theirs.push(await TestSink.start('lf'));
      }
      // carbon_ch hashes host and instance, fnv1a_ch the instance, jump_fnv1a_ch orders by it: the ports may differ.
      const members = ours.map((s, i) => `${s.address()}?framing=lf#${instances[i]}`).join(',');
      const started = await startRelay([
        'tcp@127.0.0.1:0?framing=lf',
        '--group',
        `name=carbon mode=${mode} replication=${replication} members=${members}`,
        '--stats-interval',
        '0',
      ]);
      relay = started.relay;
      await withTempDir('groups-oracle-', async (dir) => {
        const cluster = theirs.map((s, i) => `    127.0.0.1:${s.port}=${instances[i]}\n`).join('');
        const c = await startCarbon(dir, (port) =>
          [
            `listen type linemode 127.0.0.1:${port} proto tcp;`,
            `cluster c ${mode} replication ${replication}\n${cluster}    ;`,
            'match * send to c stop;',
            '',
          ].join('\n'),
        );
        carbon = c.relay;
        const lines = names.map((n) => metricLine(n, 1));
        await Promise.all([sendLines(started.listeners[0]!, lines), sendLines(`tcp@127.0.0.1:${c.port}`, lines)]);
      });
      const known = new Set(names);
      const placed = (sinks: TestSink[]): Map<string, string> => {
        const at = new Map<string, number[]>();
        sinks.forEach((s, member) => {
          for (const m of s.messages) {
            const name = m.toString('latin1').split(' ', 1)[0]!;
            if (known.has(name)) at.set(name, [...(at.get(name) ?? []), member]);
          }
        });
        return new Map([...at].map(([name, members]) => [name, members.sort().join(',')]));
      };
      const expected = names.length * replication;
      const count = (sinks: TestSink[]): number => [...placed(sinks).values()].reduce((n, m) => n + m.split(',').length, 0);
      await eventually(
        async () => (count(ours) === expected && count(theirs) === expected) || `ours ${count(ours)}, carbon-c-relay ${count(theirs)} of ${expected}`,
        20_000,
      );
      const a = placed(ours);
      const b = placed(theirs);
      const differ = names.filter((n) => a.get(n) !== b.get(n));
      assert.deepEqual(differ.slice(0, 5), [], `${differ.length} of ${names.length} metrics placed differently`);
      t.diagnostic(`${names.length} metrics on the same members as ${CARBON_RELAY} (per member ${ours.map((s) => s.messages.length).join('/')})`);
    } finally {
      await carbon?.stop('SIGKILL');
      await stopRelayAndSinks(relay, [...ours, ...theirs]);
    }
  });
}

test('groups: SIGHUP adds a member to a carbon_ch group: later metrics move only to it; a plain destination beside it misses nothing', async () => {
  const N = 6000;
  const names = metricNames(99, 300);
  const sinks = [await TestSink.start('lf'), await TestSink.start('lf'), await TestSink.start('lf')];
  const plain = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  try {
    await withTempDir('groups-reload-', async (dir) => {
      const file = path.join(dir, 'relay.toml');
      const write = (members: TestSink[]): Promise<void> =>
        writeFile(
          file,
          `${relayToml(['tcp@127.0.0.1:0?framing=lf'], [plain.address(true)])}\n[[group]]\nname = "carbon"\nmode = "carbon_ch"\nmembers = ${JSON.stringify(members.map((s, i) => `${s.address()}?framing=lf#${'abc'[i]}`))}\n`,
        );
      await write(sinks.slice(0, 2));
      const started = await startRelay(['--config', file]);
      relay = started.relay;
      const lines = (from: number, to: number): string[] =>
        Array.from({ length: to - from }, (_, i) => metricLine(names[(from + i) % names.length]!, from + i));
      await sendLines(started.listeners[0]!, lines(0, N / 2));
      await plain.waitFor(N / 2);
      await write(sinks);
      relay.child.kill('SIGHUP');
      await relay.waitForStderr(/reloaded .*relay\.toml/);
      await sendLines(started.listeners[0]!, lines(N / 2, N));
      await plain.waitFor(N);
      assertRun('plain destination', plain.messages.map(metricValue), 0, N);
      const arrived = (): number => sinks.reduce((n, s) => n + s.messages.length, 0);
      await eventually(async () => arrived() === N || `${arrived()} of ${N} arrived at the group`, 20_000);
      const two = new ConsistentHash(
        'carbon_ch',
        sinks.slice(0, 2).map((s, i) => ({ host: '127.0.0.1', port: s.port, instance: 'abc'[i] })),
      );
      const three = new ConsistentHash(
        'carbon_ch',
        sinks.map((s, i) => ({ host: '127.0.0.1', port: s.port, instance: 'abc'[i] })),
      );
      for (const [member, s] of sinks.entries()) {
        for (const m of s.messages) {
          const [name, value] = m.toString('latin1').split(' ');
          const hash = Number(value) < N / 2 ? two : three;
          assert.equal(hash.place(Buffer.from(name!), 1)[0], member, `${name} (message ${value}) on member ${member}`);
        }
      }
      const moved = names.filter((n) => two.place(Buffer.from(n), 1)[0] !== three.place(Buffer.from(n), 1)[0]);
      assert.ok(
        moved.every((n) => three.place(Buffer.from(n), 1)[0] === 2),
        'only metrics of the added member moved',
      );
    });
  } finally {
    await stopRelayAndSinks(relay, [...sinks, plain]);
  }
});
