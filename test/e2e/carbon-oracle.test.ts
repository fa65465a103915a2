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
import { accessSync, constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { ConsistentHash, type HashMember, type HashMode } from '../../src/group/consistent-hash.js';
import { mulberry32, randomInt } from '../helpers/prng.js';
import { RelayProcess } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { withTempDir } from '../helpers/temp-dir.js';

const NAMES_PER_CASE = 4000;

/** $CARBON_C_RELAY when set (a path; one that is not there tests the skip), else carbon-c-relay on PATH or in /usr/bin, /usr/sbin. */
function findCarbonRelay(): string | undefined {
  const override = process.env.CARBON_C_RELAY;
  const dirs = override ? [] : [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  for (const candidate of override ? [override] : dirs.filter((d) => d !== '').map((d) => path.join(d, 'carbon-c-relay'))) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

const CARBON_RELAY = findCarbonRelay();
const MISSING = 'carbon-c-relay is not installed (apt-get install carbon-c-relay)';

/** True when the test cannot run: skips it, or fails it when CI=true. */
function missingOracle(t: TestContext): boolean {
  if (CARBON_RELAY !== undefined) return false;
  if (process.env.CI === 'true') assert.fail(`${MISSING}, and CI=true requires it`);
  t.skip(MISSING);
  return true;
}

/** Clean metric names: 1 to 6 segments of [A-Za-z0-9_-], no empty segment. */
function metricNames(seed: number, count: number): string[] {
  const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';
  const random = mulberry32(seed);
  const names = new Set<string>();
  while (names.size < count) {
    const segments: string[] = [];
    for (let s = randomInt(random, 1, 6); s > 0; s--) {
      let segment = '';
      for (let c = randomInt(random, 1, 12); c > 0; c--) segment += chars[randomInt(random, 0, chars.length - 1)];
      segments.push(segment);
    }
    names.add(segments.join('.'));
  }
  return [...names];
}

/** A TCP port that was free a moment ago (bound on port 0, then closed). */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once 127.0.0.1:port accepts a connection; rejects if `relay` exits or at the deadline. */
async function waitAccepting(relay: RelayProcess, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (relay.child.exitCode !== null || relay.child.signalCode !== null) throw new Error(`carbon-c-relay exited: ${relay.stdout}${relay.stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`carbon-c-relay does not accept on port ${port} within ${timeoutMs} ms: ${relay.stdout}${relay.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

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

/** Starts carbon-c-relay on a free port (a few tries, in case another process took the port first). */
async function startCarbon(dir: string, c: Case, ports: number[]): Promise<{ relay: RelayProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, `carbon-${attempt}.conf`);
    await writeFile(conf, configFor(c, ports, port));
    const relay = new RelayProcess(spawn(CARBON_RELAY!, ['-f', conf, '-w', '1', '-H', 'oracle'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await waitAccepting(relay, port);
      return { relay, port };
    } catch (error) {
      await relay.stop('SIGKILL');
      if (attempt >= 3) throw error;
    }
  }
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
      const carbon = await startCarbon(dir, c, ports);
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
