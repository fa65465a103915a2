/**
 * A group replaced by reloads while traffic flows, through bin/relay (issue 24, item 6): a carbon_ch
 * group of 4 beside a plain destination, 30 SIGHUPs that only flip `dynamic` (each replaces the
 * group whole: its members retire at the tail of that moment and new ones start there), during
 * at least 3 s of numbered metric lines over `udp@…?split=lf`, 5 to a datagram (many small
 * publishes), lasting until the last reload applied.
 * Every line must reach the plain destination and exactly one member of the group, the member
 * carbon_ch places it on (with every member up, `dynamic` does not change placement), and the
 * members' counters (the removed ones' "removed … its run" lines, /stats for the running ones)
 * must count every line sent once and none dropped. Egress used to load the ring's tail once per
 * removed member and again for the added ones: lines ingest published in between reached no
 * member, and no counter or log showed it (2,826 of 120,000 at 30k lines/s; here 10 to 1,391 of
 * 90,000 in each of 10 runs, both receive paths, before commit 807a8d0).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { ConsistentHash } from '../../src/group/consistent-hash.js';
import { metricNames } from '../helpers/carbon-relay.js';
import { relayToml } from '../helpers/reload-config.js';
import { hostPortOf, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { eventually, metricsBase, stats } from '../helpers/relay-stats.js';
import { stopRelayAndSinks, TestSink } from '../helpers/sinks.js';
import { metricLine, metricValue } from '../helpers/tcp-lines.js';
import { sendWhile } from '../helpers/udp-sender.js';
import { withTempDir } from '../helpers/temp-dir.js';

const RELOADS = 30;
const LINES_PER_DATAGRAM = 5;
/** 90,000 lines at 30,000 a second, 6,000 datagrams a second: at least 3 s of traffic, at most three times that. */
const DATAGRAMS = 18_000;
const MAX_DATAGRAMS = 3 * DATAGRAMS;
const LINES_PER_SECOND = 30_000;
const INSTANCES = ['a', 'b', 'c', 'd'];

/** How many times `pattern` (global) matches `text`. */
const count = (text: string, pattern: RegExp): number => text.match(pattern)?.length ?? 0;

test(`groups: ${RELOADS} reloads that flip dynamic on a carbon_ch group under traffic: every line reaches exactly its member, and the plain destination`, async (t) => {
  const names = metricNames(24, 500);
  const members = await Promise.all(INSTANCES.map(() => TestSink.start('lf')));
  const plain = await TestSink.start('lf');
  let relay: RelayProcess | undefined;
  try {
    await withTempDir('groups-reload-', async (dir) => {
      const file = path.join(dir, 'relay.toml');
      const write = (dynamic: boolean): Promise<void> =>
        writeFile(
          file,
          `${relayToml(['udp@127.0.0.1:0?split=lf'], [plain.address(true)])}\n[[group]]\nname = "carbon"\nmode = "carbon_ch"\ndynamic = ${dynamic}\nmembers = ${JSON.stringify(members.map((s, i) => `${s.address()}?framing=lf#${INSTANCES[i]}`))}\n`,
        );
      await write(false);
      const started = await startRelay(['--config', file]);
      relay = started.relay;
      const base = await metricsBase(relay);
      // A member removed before it ever came up drops its share, counted (`shutdown`): each reload
      // waits for the members it started, as an operator's would.
      const everyMemberUp = (): Promise<void> =>
        eventually(async () => (await stats(base)).destinations.every((d) => d.up) || 'not every destination is up yet');
      await everyMemberUp();

      const datagramAt = (d: number): Buffer =>
        Buffer.from(
          Array.from({ length: LINES_PER_DATAGRAM }, (_, j) => {
            const i = d * LINES_PER_DATAGRAM + j;
            return `${metricLine(names[i % names.length]!, i)}\n`;
          }).join(''),
        );
      // Paced at LINES_PER_SECOND; it goes on past DATAGRAMS, up to MAX_DATAGRAMS, until the last
      // reload applied: every reload lands in it. Windowed on the plain destination, but wide, so
      // the traffic keeps its pace whatever egress is doing (a narrow window, 64 datagrams, let
      // some runs before the fix pass: lines stopped arriving while egress reconfigured). 1000
      // datagrams of ~200 bytes, ~1.2 MB of kernel accounting, fit a 4 MiB receive buffer.
      const sendingStarted = Date.now();
      let reloading = true;
      const traffic = sendWhile(
        hostPortOf(started.listeners[0]!),
        (d) => {
          assert.ok(d < MAX_DATAGRAMS, `${RELOADS} reloads took longer than ${MAX_DATAGRAMS * LINES_PER_DATAGRAM} lines of traffic`);
          return d < DATAGRAMS || reloading;
        },
        datagramAt,
        async (n) => {
          const aheadMs = sendingStarted + (n * LINES_PER_DATAGRAM * 1000) / LINES_PER_SECOND - Date.now();
          if (aheadMs > 0) await new Promise((resolve) => setTimeout(resolve, aheadMs));
          await plain.waitFor(n * LINES_PER_DATAGRAM);
        },
        1000,
      );
      const r = relay;
      const reloads = (async () => {
        await plain.waitFor(LINES_PER_DATAGRAM);
        for (let k = 1; k <= RELOADS; k++) {
          await write(k % 2 === 1);
          // This reload's line: the first after what the relay printed so far (a pattern for the
          // k-th line of the whole log backtracks for seconds by reload 20).
          const printed = r.stderr.length;
          r.child.kill('SIGHUP');
          await r.waitForStderr(new RegExp(`^[\\s\\S]{${printed}}[\\s\\S]*?reloaded [^\\n]*relay\\.toml`));
          await everyMemberUp();
        }
      })().finally(() => {
        reloading = false;
      });
      const [datagrams] = await Promise.all([traffic, reloads]);
      const N = datagrams * LINES_PER_DATAGRAM;
      t.diagnostic(`${RELOADS} reloads during ${N} lines, ${Date.now() - sendingStarted} ms of traffic`);

      // Every line reached the plain destination, once and in order.
      await plain.waitFor(N);
      assert.deepEqual(
        plain.messages.map(metricValue),
        Array.from({ length: N }, (_, i) => i),
      );
      // Every line reached exactly one member of the group.
      const arrived = (): number => members.reduce((n, s) => n + s.messages.length, 0);
      await eventually(async () => arrived() >= N || `${arrived()} of ${N} lines reached a member of the group`);
      const at = new Map<number, number>();
      for (const [member, s] of members.entries()) {
        for (const m of s.messages) {
          const i = metricValue(m);
          assert.equal(at.get(i), undefined, `line ${i} reached member ${at.get(i)} and member ${member}`);
          at.set(i, member);
        }
      }
      assert.equal(at.size, N, `${N - at.size} lines reached no member of the group`);
      // Each on the member carbon_ch places it on.
      const hash = new ConsistentHash(
        'carbon_ch',
        members.map((s, i) => ({ host: '127.0.0.1', port: s.port, instance: INSTANCES[i] })),
      );
      const owner = names.map((name) => hash.place(Buffer.from(name), 1)[0]);
      for (const [i, member] of at) assert.equal(member, owner[i % names.length], `line ${i} (${names[i % names.length]}) reached member ${member}`);

      // The counters agree: each removed member's run (its log line) and the members running now
      // sent every line once, and dropped none (a write counts sent at its callback, which may
      // come a moment after the peer read it).
      await eventually(async () => {
        const runs = [...r.stderr.matchAll(/: removed, nothing left undelivered; its run: sent (\d+), dropped (\d+)/g)];
        const current = (await stats(base)).destinations.filter((d) => d.group === 'carbon');
        const sent = runs.reduce((n, m) => n + Number(m[1]), 0) + current.reduce((n, d) => n + d.sentMessages, 0);
        const dropped =
          runs.reduce((n, m) => n + Number(m[2]), 0) + current.reduce((n, d) => n + Object.values(d.droppedMessages).reduce((a, b) => a + b, 0), 0);
        const got = { retired: count(r.stderr, /: removed/g), running: current.length, sent, dropped };
        const want = { retired: RELOADS * INSTANCES.length, running: INSTANCES.length, sent: N, dropped: 0 };
        return JSON.stringify(got) === JSON.stringify(want) || `group counters ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
      });
      assert.equal(count(r.stderr, /reload failed/g), 0, r.stderr);
    });
  } finally {
    await stopRelayAndSinks(relay, [...members, plain]);
  }
});
