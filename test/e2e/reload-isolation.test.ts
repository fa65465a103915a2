/**
 * What a reload must not break (issue 15), through the real relay and SIGHUP:
 * - a removed destination that is not reading never holds the ring for the others (defect 1);
 * - removed and added again within the drain timeout, a destination's spill directory has one
 *   owner at a time, and what the old one left there is replayed while the relay runs (defect 2);
 * - removed destinations give their slots back, whatever the order of the threads' reports, so
 *   reloads that swap destinations never run out of slots (defect 4).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import type net from 'node:net';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { hostPortOf, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { freePort, numberOf, numbered, sequence } from '../helpers/numbered.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { assertRun, metric, relayToml } from '../helpers/reload-config.js';
import { createFramedServer } from '../../src/framing/framed-server.js';

/** A len32le peer that pauses (never reads) the connections `pauses` picks, and records every id per connection. */
async function peer(pauses: (index: number) => boolean): Promise<{
  address: string;
  connections: { socket: net.Socket; ids: number[] }[];
  close(): Promise<void>;
}> {
  const connections: { socket: net.Socket; ids: number[] }[] = [];
  const server = createFramedServer({
    framing: 'len32le',
    maxMessageBytes: 1 << 20,
    accept: (socket) => {
      const c = { socket, ids: [] as number[] };
      connections.push(c);
      if (pauses(connections.length - 1)) socket.pause();
      return { messages: (payloads) => void c.ids.push(...payloads.map(numberOf)), garbage: () => {}, closed: () => {} };
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    address: `tcp@127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections,
    close: async () => {
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends SIGHUP and waits until the relay has logged the outcome of `n` reloads (it runs them in order). */
async function reloadNth(relay: RelayProcess, n: number): Promise<void> {
  relay.child.kill('SIGHUP');
  await until(() => (relay.stderr.match(/reloaded |reload failed/g)?.length ?? 0) >= n, `outcome of reload ${n}`, 15_000);
}

/** Polls `done` every 20 ms until it holds, or fails at the deadline naming `what`. */
async function until(done: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`no ${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A peer that stops reading leaves its writes unconfirmed only once the kernel's buffers are full:
 * on loopback here that is ~4 MB per connection (the sender's buffer grows to tcp_wmem's 4 MiB, the
 * receiver's stays near 128 KiB while it does not read). So the ring is 16 MiB and the stuck peer
 * is sent 6 MB before the reload: up, with unconfirmed writes, and ~2 MB behind.
 */
const RING = 'buffer = "16MiB"\nmax-message = "2048"\ndrain-timeout = "60s"\nstall-timeout = "60s"';
const BEFORE = 6000;
const SIZE = 1000;

/** Messages 0..BEFORE-1, each delivered to `live` before the last window goes. */
function sendBefore(target: { host: string; port: number }, live: TestSink): Promise<void> {
  return sendWindowed(
    target,
    BEFORE,
    (i) => numbered(i, SIZE),
    (n) => live.waitFor(n, 30_000),
    200,
  );
}

test('reload: a removed destination that does not read never holds the ring: the one that stays gets everything, ingest drops nothing', async () => {
  await withTempDir('relay-reload-isolation-', async (dir) => {
    const live = await TestSink.start();
    const stuck = await peer(() => true);
    const file = path.join(dir, 'relay.toml');
    await writeFile(file, relayToml(['udp@127.0.0.1:0'], [live.address(), stuck.address], RING));
    const { relay, listeners } = await startRelay(['--config', file]);
    try {
      const target = hostPortOf(listeners[0]!);
      await sendBefore(target, live);
      await writeFile(file, relayToml(['udp@127.0.0.1:0'], [live.address()], RING));
      await reloadNth(relay, 1);
      // 20 MB after the removal, more than the 16 MiB ring: only the limits can let the stuck one go.
      const after = 20_000;
      await sendWindowed(
        target,
        after,
        (i) => numbered(BEFORE + i, SIZE),
        (n) => live.waitFor(BEFORE + n, 30_000),
        200,
      );
      assertRun('the destination that stayed', sequence(live), 0, BEFORE + after);
      assert.equal(
        await metric(relay, /^relay_ingest_dropped_messages_total\{listener="[^"]+",reason="ring_full"\} (\d+)$/m),
        0,
        'ingest dropped for a full ring',
      );
      // It let the ring go, and its tally is logged once it finished.
      await relay.waitForStderr(new RegExp(`${stuck.address.replace(/\./g, '\\.')}: removed.*its run: sent \\d+, dropped \\d+`), 20_000);
    } finally {
      await relay.stop('SIGKILL');
      await Promise.all([live.close(), stuck.close()]);
    }
  });
});

test('reload: removed and added again within the drain timeout, a destination keeps one spill directory: what the old one had not delivered is replayed while the relay runs, in order', async () => {
  await withTempDir('relay-reload-isolation-', async (dir) => {
    const live = await TestSink.start();
    // Its first connection never reads; later ones do.
    const flaky = await peer((index) => index === 0);
    const spill = path.join(dir, 'spill');
    const file = path.join(dir, 'relay.toml');
    const extra = `${RING}\nspill-dir = "${spill}"`;
    const both = relayToml(['udp@127.0.0.1:0'], [live.address(), flaky.address], extra);
    await writeFile(file, both);
    const { relay, listeners } = await startRelay(['--config', file]);
    try {
      const target = hostPortOf(listeners[0]!);
      await sendBefore(target, live);
      await writeFile(file, relayToml(['udp@127.0.0.1:0'], [live.address()], extra));
      await reloadNth(relay, 1);
      await writeFile(file, both);
      await reloadNth(relay, 2);
      // The first connection goes away (as a peer that gives up would).
      flaky.connections[0]?.socket.destroy();
      await sendWindowed(
        target,
        100,
        (i) => numbered(BEFORE + i, SIZE),
        (n) => live.waitFor(BEFORE + n, 30_000),
        100,
      );
      // The later connections get what the old one had not delivered (replayed), then the new messages, in order.
      const later = (): number[] => flaky.connections.slice(1).flatMap((c) => c.ids);
      await until(() => later().at(-1) === BEFORE + 99, `message ${BEFORE + 99} on a later connection (${later().length} there)`, 30_000);
      const from = later()[0]!;
      assert.ok(from < BEFORE, `the re-added destination starts at ${from}: nothing the old one left was replayed`);
      assertRun('the re-added destination', later(), from, BEFORE + 100);
      // The kernel confirmed 0..from-1 on the first connection (lost with it: plain TCP allows that); the rest was owed, spilled and replayed.
      const tally = await relay.waitForStderr(/tcp@127\.0\.0\.1:\d+: removed.*its run: sent (\d+), dropped (\d+)/);
      assert.deepEqual([Number(tally[1]), Number(tally[2])], [from, 0], 'the old one counted sent exactly what it did not replay, and dropped nothing');
      assert.doesNotMatch(relay.stderr, /cannot use spill directory|spill directory full/);
    } finally {
      await relay.stop('SIGKILL');
      await Promise.all([live.close(), flaky.close()]);
    }
  });
});

test('reload: 70 reloads that each remove a destination and add another never run out of slots (with --spill-dir)', async () => {
  await withTempDir('relay-reload-isolation-', async (dir) => {
    const live = await TestSink.start();
    const file = path.join(dir, 'relay.toml');
    const extra = `spill-dir = "${path.join(dir, 'spill')}"`;
    // Destinations nobody listens on: each is down, so a removed one finishes at once, often
    // before the added one's spill directory is open (its report comes before the reply).
    const dead = await Promise.all(Array.from({ length: 2 }, () => freePort()));
    const swaps = 70;
    await writeFile(file, relayToml(['udp@127.0.0.1:0'], [live.address(), `tcp@127.0.0.1:${dead[0]}`], extra));
    const { relay, listeners } = await startRelay(['--config', file]);
    try {
      for (let n = 1; n <= swaps; n++) {
        await writeFile(file, relayToml(['udp@127.0.0.1:0'], [live.address(), `tcp@127.0.0.1:${dead[n % 2]}`], extra));
        await reloadNth(relay, n);
      }
      assert.doesNotMatch(relay.stderr, /reload failed/);
      assert.equal(await metric(relay, /^relay_config_reloads_total\{result="ok"\} (\d+)$/m), swaps);
      // And the relay still delivers.
      await sendWindowed(
        hostPortOf(listeners[0]!),
        100,
        (i) => numbered(i, 100),
        (n) => live.waitFor(n),
      );
      assertRun('the destination that stayed', sequence(live), 0, 100);
    } finally {
      await relay.stop('SIGKILL');
      await live.close();
    }
  });
});
