/**
 * The --spill-dir lock (src/spill/dir-lock.ts): one holder at a time, a live holder named in the
 * refusal, stale locks (a dead pid, a reused pid, an earlier boot, our own pid, damaged content,
 * a crashed taker's takeover lock) taken over, and processes racing over one lock: exactly one wins.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LOCK_FILE, lockSpillRoot } from '../../src/spill/dir-lock.js';
import { parseStatLine } from '../../src/metrics/proc-stat.js';
import { RelayError } from '../../src/errors.js';
import { RelayProcess } from '../helpers/relay-process.js';
import { withTempDir } from '../helpers/temp-dir.js';

const heldBy = (dir: string, pid: number): string =>
  `cannot use --spill-dir ${JSON.stringify(dir)}: another relay (pid ${pid}) is using it; each relay needs its own spill directory`;

/** Resolves with the RelayError `promise` rejects with; fails if it resolves. */
async function refusal(promise: Promise<unknown>): Promise<RelayError> {
  const error = await promise.then(
    () => assert.fail('the lock was granted'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof RelayError, String(error));
  assert.equal(error.code, 'ERR_SPILL');
  assert.equal(error.exitCode, 1);
  return error;
}

async function lockText(dir: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(path.join(dir, LOCK_FILE), 'utf8')) as Record<string, unknown>;
}

/** What this process's own lock would say about it, with `change` applied. */
async function holderLike(change: Record<string, unknown>): Promise<string> {
  const start = parseStatLine(await readFile('/proc/self/stat', 'utf8'))!.startTicks;
  const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  return JSON.stringify({ pid: process.pid, start, boot, host: os.hostname(), token: 'x', ...change });
}

/** A pid that ran and is gone: a child that exited (and was reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

/** Files left in `dir` besides the lock itself (temp files, takeover locks). */
async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name !== LOCK_FILE);
}

const CHILD = `
const [url, dir] = process.argv.slice(1);
const { lockSpillRoot } = await import(url);
process.stdin.once('data', () => {
  lockSpillRoot(dir).then(
    () => process.stdout.write('won\\n'),
    (error) => process.stdout.write('refused ' + error.message + '\\n'),
  );
});
process.stdout.write('ready\\n');`;

/**
 * Another process that says 'ready', tries the lock on `dir` when told "go", says 'won' or
 * 'refused …', and holds what it won until its stdin ends.
 */
async function lockingProcess(dir: string): Promise<RelayProcess> {
  const url = new URL('../../src/spill/dir-lock.js', import.meta.url).href;
  const child = new RelayProcess(spawn(process.execPath, ['--input-type=module', '-e', CHILD, url, dir], { stdio: ['pipe', 'pipe', 'pipe'] }));
  try {
    await child.waitForStdout(/^ready$/m);
    return child;
  } catch (error) {
    await child.stop('SIGKILL');
    throw error;
  }
}

async function go(child: RelayProcess): Promise<string> {
  child.child.stdin!.write('go\n');
  return (await child.waitForStdout(/^(won|refused .*)$/m))[1]!;
}

/** Ends the process the way a relay ends normally (its exit hook runs). */
async function endNormally(child: RelayProcess): Promise<void> {
  child.child.stdin!.end();
  const exit = await child.exit();
  assert.equal(exit.code, 0, exit.stderr);
}

test('spill lock: lock, release, lock again; the file names this process and goes away on release', async () => {
  await withTempDir('relay-lock-', async (dir) => {
    const lock = await lockSpillRoot(dir);
    assert.equal(lock.tookOver, undefined);
    assert.equal((await lockText(dir)).pid, process.pid);
    await lock.release();
    await lock.release();
    assert.deepEqual(await readdir(dir), []);
    const again = await lockSpillRoot(dir);
    assert.equal(again.tookOver, undefined);
    await again.release();
    assert.deepEqual(await readdir(dir), []);
  });
});

test('spill lock: a second lock in the same process is refused, also through another spelling of the path', async () => {
  await withTempDir('relay-lock-', async (dir) => {
    const lock = await lockSpillRoot(dir);
    try {
      const other = path.join(dir, '.', '..', path.basename(dir));
      const error = await refusal(lockSpillRoot(other));
      assert.equal(
        error.message,
        `cannot use --spill-dir ${JSON.stringify(other)}: this relay (pid ${process.pid}) is already using it; each relay needs its own spill directory`,
      );
    } finally {
      await lock.release();
    }
  });
});

test('spill lock: held by another live process it is refused, naming it; once that process is SIGKILLed its stale lock is taken over', async () => {
  await withTempDir('relay-lock-', async (dir) => {
    const holder = await lockingProcess(dir);
    try {
      assert.equal(await go(holder), 'won');
      const error = await refusal(lockSpillRoot(dir));
      assert.equal(error.message, heldBy(dir, holder.child.pid!));
      assert.equal((await lockText(dir)).pid, holder.child.pid, 'the refused starter left the lock alone');
      assert.equal((await holder.stop('SIGKILL')).signal, 'SIGKILL');
      const lock = await lockSpillRoot(dir);
      assert.equal(
        lock.tookOver,
        `--spill-dir ${JSON.stringify(dir)}: took over the lock left by relay pid ${holder.child.pid}, which is not running any more`,
      );
      assert.equal((await lockText(dir)).pid, process.pid);
      assert.deepEqual(await leftovers(dir), []);
      await lock.release();
    } finally {
      await holder.stop('SIGKILL');
    }
  });
});

test('spill lock: a process that ends normally (exit hook) leaves no lock behind', async () => {
  await withTempDir('relay-lock-', async (dir) => {
    const holder = await lockingProcess(dir);
    try {
      assert.equal(await go(holder), 'won');
      await endNormally(holder);
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await holder.stop('SIGKILL');
    }
  });
});

/** Lock files written by hand: whether a starter finds them held (the refusal's text) or takes them over. */
const WRITTEN: { name: string; text: () => Promise<string>; held?: (dir: string) => string }[] = [
  { name: 'a dead pid', text: async () => holderLike({ pid: await deadPid() }) },
  {
    name: 'a live pid (the parent) with its start time',
    text: async () => holderLike({ pid: process.ppid, start: parseStatLine(await readFile(`/proc/${process.ppid}/stat`, 'utf8'))!.startTicks }),
    held: (dir) => heldBy(dir, process.ppid),
  },
  {
    name: 'a live pid with another start time (reused after a crash)',
    text: async () => holderLike({ pid: process.ppid, start: parseStatLine(await readFile(`/proc/${process.ppid}/stat`, 'utf8'))!.startTicks + 1 }),
  },
  { name: 'a live pid from an earlier boot', text: () => holderLike({ pid: process.ppid, boot: 'an-earlier-boot' }) },
  { name: "this process's own pid (a restarted container's pid 1)", text: () => holderLike({}) },
  {
    name: 'another host (cannot be checked)',
    text: () => holderLike({ host: 'elsewhere.example' }),
    held: (dir) =>
      `cannot use --spill-dir ${JSON.stringify(dir)}: a relay on host elsewhere.example (pid ${process.pid}) holds its lock; each relay needs its own spill directory (if none runs there, remove ${path.join(dir, LOCK_FILE)})`,
  },
];

for (const { name, text, held } of WRITTEN) {
  test(`spill lock: a lock file naming ${name} is ${held ? 'refused' : 'taken over'}`, async () => {
    await withTempDir('relay-lock-', async (dir) => {
      const written = await text();
      await writeFile(path.join(dir, LOCK_FILE), written);
      if (held) {
        assert.equal((await refusal(lockSpillRoot(dir))).message, held(dir));
        assert.equal(await readFile(path.join(dir, LOCK_FILE), 'utf8'), written, 'left as it was');
        assert.deepEqual(await leftovers(dir), []);
        return;
      }
      const lock = await lockSpillRoot(dir);
      assert.match(lock.tookOver!, new RegExp(`took over the lock left by relay pid ${JSON.parse(written).pid},`));
      assert.equal((await lockText(dir)).pid, process.pid);
      assert.deepEqual(await leftovers(dir), []);
      await lock.release();
    });
  });
}

// Relays create the file whole (link of a complete temp file), so content that is not a lock is
// damage (an empty file after a power cut), never a lock being written: it is taken over. pid 0
// and negative pids would make kill() signal process groups: they are not holders.
const DAMAGED: [string, string][] = [
  ['nothing (empty)', ''],
  ['text', 'garbage\n'],
  ['JSON cut short', '{"pid":12'],
  ['pid 0', '{"pid":0,"host":"h"}'],
  ['a negative pid', '{"pid":-1,"host":"h"}'],
  ['a pid that is a string', '{"pid":"12","host":"h"}'],
  ['a JSON array', '[]'],
  ['5000 bytes', 'x'.repeat(5000)],
];

for (const [name, content] of DAMAGED) {
  test(`spill lock: a lock file holding ${name} is taken over as damaged`, async () => {
    await withTempDir('relay-lock-', async (dir) => {
      await writeFile(path.join(dir, LOCK_FILE), content);
      const lock = await lockSpillRoot(dir);
      assert.match(lock.tookOver!, /: took over a damaged lock file \(it does not parse\)$/);
      assert.equal((await lockText(dir)).pid, process.pid);
      await lock.release();
      assert.deepEqual(await readdir(dir), []);
    });
  });
}

test('spill lock: a takeover lock left by a taker that crashed does not block the takeover', async () => {
  await withTempDir('relay-lock-', async (dir) => {
    await writeFile(path.join(dir, LOCK_FILE), await holderLike({ pid: await deadPid() }));
    await writeFile(path.join(dir, `${LOCK_FILE}.takeover`), await holderLike({ pid: await deadPid() }));
    const lock = await lockSpillRoot(dir);
    assert.ok(lock.tookOver);
    assert.deepEqual(await leftovers(dir), [], 'the stale takeover lock is gone too');
    await lock.release();
  });
});

test('spill lock: release() leaves a lock file that is no longer ours', async () => {
  await withTempDir('relay-lock-', async (dir) => {
    const lock = await lockSpillRoot(dir);
    const theirs = await holderLike({ pid: process.ppid, token: 'theirs' });
    await writeFile(path.join(dir, LOCK_FILE), theirs);
    await lock.release();
    assert.equal(await readFile(path.join(dir, LOCK_FILE), 'utf8'), theirs);
  });
});

// Four processes told "go" at once: with no lock, over a stale lock, and over a stale lock plus a
// crashed taker's takeover lock. Exactly one wins; every other one is refused naming the winner.
for (const before of ['no lock', 'a stale lock', 'a stale lock and a stale takeover lock']) {
  test(`spill lock: four processes racing over ${before}: exactly one wins`, async () => {
    await withTempDir('relay-lock-', async (dir) => {
      if (before !== 'no lock') await writeFile(path.join(dir, LOCK_FILE), await holderLike({ pid: await deadPid() }));
      if (before.includes('takeover')) await writeFile(path.join(dir, `${LOCK_FILE}.takeover`), await holderLike({ pid: await deadPid() }));
      // Each is ready (module loaded) before any is told "go": a race, not a sequence.
      const racers = await Promise.all([0, 1, 2, 3].map(() => lockingProcess(dir)));
      try {
        const results = await Promise.all(racers.map(go));
        const winners = racers.filter((_, i) => results[i] === 'won');
        assert.equal(winners.length, 1, results.join('\n'));
        const winner = winners[0]!.child.pid!;
        for (const result of results) if (result !== 'won') assert.equal(result, `refused ${heldBy(dir, winner)}`);
        assert.equal((await lockText(dir)).pid, winner);
        assert.deepEqual(await leftovers(dir), []);
        await Promise.all(racers.map(endNormally));
        assert.deepEqual(await readdir(dir), []);
      } finally {
        await Promise.all(racers.map((r) => r.stop('SIGKILL')));
      }
    });
  });
}
