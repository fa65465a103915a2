/**
 * One relay per --spill-dir, through the real bin/relay: a second relay on the same directory
 * exits 1 with one line and the first keeps delivering; a graceful stop releases the directory;
 * a SIGKILLed relay's stale lock is taken over by the next start.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { hostPortOf, spawnRelay, startRelay, type RelayProcess } from '../helpers/relay-process.js';
import { TestSink } from '../helpers/sinks.js';
import { sendWindowed } from '../helpers/udp-sender.js';
import { withTempDir } from '../helpers/temp-dir.js';
import { numbered, sequence } from '../helpers/numbered.js';
import { LOCK_FILE } from '../../src/spill/dir-lock.js';

const relayArgs = (dir: string, sink: TestSink): string[] => ['udp@127.0.0.1:0', '--spill-dir', dir, sink.address()];

/** Sends messages [from, to) through `listener` and waits until the sink has all of them, in order. */
async function deliver(listener: string, sink: TestSink, from: number, to: number): Promise<void> {
  const before = sink.messages.length;
  await sendWindowed(
    hostPortOf(listener),
    to - from,
    (i) => numbered(from + i, 100),
    (n) => sink.waitFor(before + n),
  );
  await sink.waitFor(before + to - from);
  assert.deepEqual(
    sequence(sink).slice(before),
    Array.from({ length: to - from }, (_, i) => from + i),
  );
}

/** The pid the lock file names; undefined without one. */
async function lockHolder(dir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dir, LOCK_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { pid: number }).pid;
}

/** Stops `relay` with SIGTERM and checks it stopped cleanly. */
async function stopCleanly(relay: RelayProcess): Promise<void> {
  const exit = await relay.stop('SIGTERM');
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stderr, /stopped: received/);
}

test('spill lock: a second relay on the same --spill-dir exits 1 with one line; the first keeps delivering, and after its graceful stop a new relay starts', async () => {
  await withTempDir('relay-spill-lock-', async (dir) => {
    const sink = await TestSink.start();
    const first = await startRelay(relayArgs(dir, sink));
    let third: RelayProcess | undefined;
    try {
      await deliver(first.listeners[0]!, sink, 0, 3);
      const second = await spawnRelay(relayArgs(dir, sink)).exit();
      assert.equal(second.code, 1, second.stderr);
      assert.equal(
        second.stderr,
        `relay: cannot use --spill-dir ${JSON.stringify(dir)}: another relay (pid ${first.relay.child.pid}) is using it; each relay needs its own spill directory\n`,
      );
      assert.equal(await lockHolder(dir), first.relay.child.pid, 'the refused relay left the lock alone');
      await deliver(first.listeners[0]!, sink, 3, 6);
      assert.equal(first.relay.child.exitCode, null, 'the first relay still runs');

      await stopCleanly(first.relay);
      assert.equal(await lockHolder(dir), undefined, 'a graceful stop removes the lock');
      const next = await startRelay(relayArgs(dir, sink));
      third = next.relay;
      assert.doesNotMatch(third.stderr, /took over/);
      assert.equal(await lockHolder(dir), third.child.pid);
      await deliver(next.listeners[0]!, sink, 6, 9);
      await stopCleanly(third);
      assert.deepEqual(
        (await readdir(dir)).filter((name) => name.startsWith('.')),
        [],
        'no lock, temp or takeover file left',
      );
    } finally {
      await first.relay.stop('SIGKILL');
      await third?.stop('SIGKILL');
      await sink.close();
    }
  });
});

test('spill lock: a SIGKILLed relay leaves a stale lock that the next start takes over, saying so', async () => {
  await withTempDir('relay-spill-lock-', async (dir) => {
    const sink = await TestSink.start();
    const killed = await startRelay(relayArgs(dir, sink));
    let next: RelayProcess | undefined;
    try {
      await deliver(killed.listeners[0]!, sink, 0, 3);
      assert.equal((await killed.relay.stop('SIGKILL')).signal, 'SIGKILL');
      assert.equal(await lockHolder(dir), killed.relay.child.pid, 'the crash left the lock');
      const started = await startRelay(relayArgs(dir, sink));
      next = started.relay;
      assert.match(next.stderr, new RegExp(`took over the lock left by relay pid ${killed.relay.child.pid}, which is not running any more`));
      assert.equal(await lockHolder(dir), next.child.pid);
      await deliver(started.listeners[0]!, sink, 3, 6);
      await stopCleanly(next);
      assert.equal(await lockHolder(dir), undefined);
    } finally {
      await killed.relay.stop('SIGKILL');
      await next?.stop('SIGKILL');
      await sink.close();
    }
  });
});
