/**
 * Groups wider than one 32-bit word of members (src/group/members.ts), end to end through
 * bin/relay with real sockets: two groups of 128 members, 256 destinations in all, place every
 * line where `relay route --test` says; an any-of member past position 31 dies mid-stream and
 * what it had not confirmed reaches the others.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { fnv1a32 } from '../../src/group/hash-functions.js';
import { killMidStream } from '../helpers/group-kill.js';
import { spawnRelay, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { metricValue, sendLines } from '../helpers/tcp-lines.js';

const keyOf = (m: Buffer): string => m.toString('latin1').split(' ', 1)[0]!;

test('groups: two groups of 128 members (256 destinations in all): each line reaches one member of each, the one relay route --test names, and a metric stays on its member', async (t) => {
  const N = 6000;
  const KEYS = 600;
  const sinks = await Promise.all(Array.from({ length: 256 }, () => TestSink.start('lf')));
  let relay: RelayProcess | undefined;
  try {
    const members = (from: number): string =>
      sinks
        .slice(from, from + 128)
        .map((s, i) => `${s.address()}?framing=lf#m${i}`)
        .join(',');
    const groups = ['--group', `name=hash mode=carbon_ch members=${members(0)}`, '--group', `name=spread mode=any-of members=${members(128)}`];
    const started = await startRelay(['tcp@127.0.0.1:0?framing=lf', ...groups, '--stats-interval', '0']);
    relay = started.relay;
    await sendLines(
      started.listeners[0]!,
      Array.from({ length: N }, (_, i) => `metric.k${i % KEYS} ${i} 1700000000`),
    );
    const arrived = (): number => sinks.reduce((n, s) => n + s.messages.length, 0);
    await eventually(async () => arrived() >= 2 * N || `${arrived()} of ${2 * N} lines at the members`, 30_000);

    // Where each value and each key arrived, per group: exactly one member of each.
    const memberOf = new Map<number, number[]>();
    const keyMembers = new Map<string, Set<number>>();
    for (const [i, sink] of sinks.entries()) {
      for (const m of sink.messages) {
        memberOf.set(metricValue(m), [...(memberOf.get(metricValue(m)) ?? []), i]);
        keyMembers.set(keyOf(m), (keyMembers.get(keyOf(m)) ?? new Set()).add(i));
      }
    }
    assert.equal(arrived(), 2 * N, 'no line twice');
    for (let v = 0; v < N; v++) {
      const at = memberOf.get(v) ?? [];
      assert.ok(at.length === 2 && at[0]! < 128 && at[1]! >= 128, `line ${v} reached members ${at.join(',')}: one of each group`);
    }
    const used = new Set([...memberOf.values()].flat());
    assert.ok(
      [...used].some((i) => i % 128 >= 32),
      'members past the first 32 of a group got lines',
    );

    // relay route --test, with the same arguments, names the members that got each key.
    const route = spawnRelay(['route', '--test', 'tcp@127.0.0.1:0?framing=lf', ...groups], { stdin: 'pipe' });
    route.child.stdin!.end(`${Array.from({ length: KEYS }, (_, k) => `metric.k${k} 0 1700000000`).join('\n')}\n`);
    const exit = await route.exit();
    assert.equal(exit.code, 0, exit.stderr);
    const portIndex = new Map(sinks.map((s, i) => [s.port, i]));
    const said = new Map<string, Set<number>>();
    for (const line of exit.stdout.split('\n')) {
      const arrow = /^ {2}(\S+) .* {2}-> {2}group \w+: (.*)$/.exec(line);
      if (!arrow) continue;
      for (const port of arrow[2]!.matchAll(/@127\.0\.0\.1:(\d+)/g))
        said.set(arrow[1]!, (said.get(arrow[1]!) ?? new Set()).add(portIndex.get(Number(port[1]))!));
    }
    assert.equal(said.size, KEYS, 'route --test placed every key');
    for (const [key, at] of keyMembers)
      assert.deepEqual(
        [...at].sort(),
        [...(said.get(key) ?? [])].sort(),
        `key ${key}: arrived at members ${[...at]}, route --test says ${[...(said.get(key) ?? [])]}`,
      );
    t.diagnostic(`${used.size} of 256 members got lines`);
  } finally {
    await stopRelayAndSinks(relay, sinks);
  }
});

test('groups: any-of over 40 members: member 35 dies mid-stream; its keys move to the others, nothing is counted twice', async (t) => {
  // Keys whose home is member 35 (any-of: FNV-1a of the name, modulo the members) carry a third of
  // the 1 KB lines, more than its kernel buffers hold, so some are unconfirmed when it dies.
  const MEMBERS = 40;
  const VICTIM = 35;
  const all = Array.from({ length: 4000 }, (_, k) => `metric.k${k}`);
  const home = all.filter((k) => fnv1a32(Buffer.from(k)) % MEMBERS === VICTIM).slice(0, 20);
  const elsewhere = all.filter((k) => fnv1a32(Buffer.from(k)) % MEMBERS !== VICTIM).slice(0, 40);
  const keys = [...home, ...elsewhere];
  const N = 45_000;
  const sinks = await Promise.all(Array.from({ length: MEMBERS }, () => TestSink.start('lf')));
  try {
    const { sent, handed } = await killMidStream('any-of', sinks, N, (i) => keys[i % keys.length]!, VICTIM);
    assert.ok(new Set(sinks[VICTIM]!.messages.map(keyOf)).size > 0, 'the dead member had its keys');
    // A key of a member that stayed up never moved: each such key is on one member only.
    const holder = new Map<string, number>();
    for (const [i, s] of sinks.entries()) {
      if (i === VICTIM) continue;
      for (const k of s.messages.map(keyOf)) {
        if (home.includes(k)) continue;
        assert.equal(holder.get(k) ?? i, i, `key ${k} of a member that stayed up moved`);
        holder.set(k, i);
      }
    }
    t.diagnostic(`member ${VICTIM} sent ${sent[VICTIM]}, handed over ${handed}`);
  } finally {
    for (const s of sinks) await s.close();
  }
});

test('groups: a group of more than 256 members is one line and exit 2', async () => {
  const members = Array.from({ length: 257 }, (_, i) => `tcp@127.0.0.1:${2000 + i}`).join(',');
  await assert.rejects(startRelay(['tcp@127.0.0.1:0?framing=lf', '--group', `name=x mode=any-of members=${members}`]), /a group has at most 256/);
});
