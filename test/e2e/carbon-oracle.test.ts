/**
 * Oracle: the real carbon-c-relay (Debian's package) places thousands of metric names on members
 * that are TCP sinks of this test, and every name must be where ConsistentHash.place() says. For
 * replicated clusters the order of the replicas is checked too, with carbon-c-relay's test mode
 * (-t), which prints the members in the order its ch_get_nodes() returns them.
 * A `dynamic` cluster with a member down is checked for what carbon-c-relay makes definite: the
 * names of up members stay, those of the down member all reach up members (it spreads them over
 * the others at random, so there place() and carbon-c-relay need not agree name by name).
 * Without carbon-c-relay the tests skip (fail when CI=true).
 */
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { ConsistentHash, type HashMember, type HashMode } from '../../src/group/consistent-hash.js';
import { CARBON_RELAY, freePort, metricNames, missingOracle, startCarbon } from '../helpers/carbon-relay.js';
import { RelayProcess } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { withTempDir } from '../helpers/temp-dir.js';

const NAMES_PER_CASE = 4000;

interface Case {
  mode: HashMode;
  replication: number;
  /** One member per entry, with this instance (undefined: none). */
  instances: (string | undefined)[];
  /** A `dynamic` cluster whose member of this index is down (a port nothing listens on); replication 1. */
  down?: number;
}

function configFor(c: Case, ports: number[], listenPort: number): string {
  const members = ports.map((port, i) => `    127.0.0.1:${port}${c.instances[i] === undefined ? '' : `=${c.instances[i]}`}\n`).join('');
  return [
    `listen type linemode 127.0.0.1:${listenPort} proto tcp;`,
    `cluster oracle ${c.mode} replication ${c.replication}${c.down === undefined ? '' : ' dynamic'}\n${members}    ;`,
    'match * send to oracle stop;',
    '',
  ].join('\n');
}

/** carbon-c-relay -t: for each name, the member ports in the order it returns them. */
async function testModeOrder(dir: string, c: Case, ports: number[], names: string[]): Promise<Map<string, number[]>> {
  const conf = path.join(dir, 'carbon-t.conf');
  await writeFile(conf, configFor(c, ports, 1));
  const relay = new RelayProcess(spawn(CARBON_RELAY!, ['-t', '-f', conf], { stdio: ['pipe', 'pipe', 'pipe'] }));
  relay.child.stdin!.end(names.map((n) => `${n}\n`).join(''));
  const exit = await relay.exit(20_000);
  assert.equal(exit.code, 0, `carbon-c-relay -t: ${exit.stderr}`);
  const order = new Map<string, number[]>();
  for (const block of exit.stdout.split(/^match\n/m).slice(1)) {
    const name = /^ {4}\* -> (\S+)$/m.exec(block)?.[1];
    if (name === undefined) continue;
    order.set(
      name,
      [...block.matchAll(/^ {8}127\.0\.0\.1:(\d+)$/gm)].map((m) => ports.indexOf(Number(m[1]))),
    );
  }
  return order;
}

async function runCase(t: TestContext, c: Case, seed: number): Promise<void> {
  if (missingOracle(t)) return;
  const started = Date.now();
  const names = metricNames(seed, NAMES_PER_CASE);
  const sinks: TestSink[] = [];
  let relay: RelayProcess | undefined;
  try {
    const ports: number[] = [];
    for (let i = 0; i < c.instances.length; i++) {
      if (i === c.down) ports.push(await freePort());
      else {
        sinks[i] = await TestSink.start('lf');
        ports.push(sinks[i]!.port);
      }
    }
    const members: HashMember[] = ports.map((port, i) => ({ host: '127.0.0.1', port, instance: c.instances[i] }));
    const hash = new ConsistentHash(c.mode, members);
    const known = new Set(names);

    await withTempDir('carbon-oracle-', async (dir) => {
      const carbon = await startCarbon(dir, (listenPort) => configFor(c, ports, listenPort));
      relay = carbon.relay;
      const client = net.connect(carbon.port, '127.0.0.1');
      await once(client, 'connect');
      client.end(names.map((n) => `${n} 1 1700000000\n`).join(''));
      await once(client, 'close');

      // carbon-c-relay's own statistics (carbon.relays.oracle.*) may also arrive: only our names count
      const received = (): number => sinks.reduce((sum, s) => sum + s!.messages.filter((m) => known.has(m.toString('latin1').split(' ', 1)[0]!)).length, 0);
      const expectedLines = names.length * c.replication;
      const deadline = Date.now() + 20_000;
      while (received() < expectedLines) {
        if (Date.now() > deadline) assert.fail(`${received()} of ${expectedLines} lines arrived within 20 s; carbon-c-relay: ${relay.stdout}${relay.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }

      const got = new Map<string, number[]>();
      sinks.forEach((s, member) => {
        for (const m of s!.messages) {
          const name = m.toString('latin1').split(' ', 1)[0]!;
          if (known.has(name)) got.set(name, [...(got.get(name) ?? []), member]);
        }
      });
      const wrong: string[] = [];
      let ofDown = 0;
      let ofDownAsPlaced = 0;
      for (const name of names) {
        const expected = hash.place(Buffer.from(name), c.replication);
        const actual = got.get(name) ?? [];
        if (c.down !== undefined && expected[0] === c.down) {
          // carbon-c-relay moved it to a random up member: check that it arrived once, at one that is up
          ofDown++;
          if (actual.length !== 1) wrong.push(`${name} (of the down member) arrived at ${actual.join(',') || 'none'}`);
          if (actual[0] === hash.place(Buffer.from(name), 1, (i) => i !== c.down)[0]) ofDownAsPlaced++;
        } else if ([...expected].sort().join() !== [...actual].sort().join()) {
          wrong.push(`${name}: carbon-c-relay ${actual.join(',')} place() ${expected.join(',')}`);
        }
      }
      assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${names.length} names placed differently`);
      const downNote = c.down === undefined ? '' : `; ${ofDown} of the down member reached up members, ${ofDownAsPlaced} of them the one place(isUp) names`;

      let ordered = 0;
      if (c.replication > 1) {
        const sample = names.slice(0, 1000);
        const order = await testModeOrder(dir, c, ports, sample);
        for (const name of sample) {
          assert.deepEqual(order.get(name), hash.place(Buffer.from(name), c.replication), `replica order of ${name}`);
          ordered++;
        }
      }
      const perMember = ports.map((_, i) => sinks[i]?.messages.length ?? 'down').join('/');
      t.diagnostic(
        `${names.length} names checked (${expectedLines} lines, per member ${perMember}), replica order of ${ordered}${downNote}, ${Date.now() - started} ms`,
      );
    });
  } finally {
    if (relay !== undefined) await relay.stop('SIGKILL');
    for (const s of sinks) await s?.close();
  }
}

test('oracle: carbon_ch, 3 members with instances', (t) => runCase(t, { mode: 'carbon_ch', replication: 1, instances: ['a', 'b', 'c'] }, 1));

test('oracle: carbon_ch, 4 members with instances, replication 2', (t) =>
  runCase(t, { mode: 'carbon_ch', replication: 2, instances: ['cache-a', 'cache-b', 'cache-c', 'cache-d'] }, 2));

test('oracle: fnv1a_ch, 3 members without instances', (t) => runCase(t, { mode: 'fnv1a_ch', replication: 1, instances: [undefined, undefined, undefined] }, 3));

test('oracle: fnv1a_ch, 3 members with instances', (t) =>
  runCase(t, { mode: 'fnv1a_ch', replication: 1, instances: ['4d79d13554fa1301', '9c2e4b1a07f3d6e5', 'e0a7c3f1b2d49586'] }, 4));

test('oracle: fnv1a_ch, 4 members, replication 3', (t) => runCase(t, { mode: 'fnv1a_ch', replication: 3, instances: [undefined, 'x1', undefined, 'x3'] }, 5));

test('oracle: jump_fnv1a_ch, 5 members with numeric instances out of order', (t) =>
  runCase(t, { mode: 'jump_fnv1a_ch', replication: 1, instances: ['5', '3', '10', '1', '2'] }, 6));

test('oracle: jump_fnv1a_ch, 5 members with instances out of order and one without, replication 3', (t) =>
  runCase(t, { mode: 'jump_fnv1a_ch', replication: 3, instances: ['delta', undefined, 'bravo', 'echo', 'alpha'] }, 7));

test('oracle: carbon_ch dynamic, 3 members, one down: names of up members stay, those of the down member reach up members', (t) =>
  runCase(t, { mode: 'carbon_ch', replication: 1, instances: ['a', 'b', 'c'], down: 1 }, 8));

// carbon-c-relay's largest hash cluster (64 members, CONN_DESTS_SIZE): members past the first 32 are a second word of the relay's member sets.
test('oracle: carbon_ch, 64 members with instances, replication 2', (t) =>
  runCase(t, { mode: 'carbon_ch', replication: 2, instances: Array.from({ length: 64 }, (_, i) => `cache-${i}`) }, 9));

test('oracle: jump_fnv1a_ch, 64 members with instances', (t) =>
  runCase(t, { mode: 'jump_fnv1a_ch', replication: 1, instances: Array.from({ length: 64 }, (_, i) => `${i + 1}`) }, 10));
