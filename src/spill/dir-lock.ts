/**
 * One relay per --spill-dir across processes. Two relays appending to and replaying the same
 * segment files would interleave records and move each other's replay position, so the relay
 * holds `<dir>/.relay.lock` for as long as it runs, and a second relay started on the directory
 * refuses to start (RelayError ERR_SPILL) before any thread touches it. The lock is a file, not
 * flock(2), which Node cannot call: a crashed holder leaves it behind, and the next relay must
 * tell a stale lock from a live one and take the stale one over.
 *
 * The file is one JSON line: pid; start, the holder's start time (field 22 of /proc/PID/stat,
 * clock ticks since boot); boot (/proc/sys/kernel/random/boot_id); host (os.hostname()); and a
 * random token that makes "is it still ours" exact.
 *
 * **Live or stale.** A lock written on another host (a shared filesystem) cannot be checked from
 * here: it counts as held, and the error names the file to remove. One written on this host in
 * an earlier boot is stale. Otherwise it is live while its pid runs (kill(pid, 0) succeeds or
 * says EPERM), is not a zombie, and started at the recorded time: after a crash the pid may
 * belong to another program, which started later. Our own pid is never another live holder: this
 * process knows the locks it holds (`heldHere`), so such a file was left by an earlier process
 * that had our pid (a container's pid 1 restarted). A file that does not parse as a lock is
 * stale: a lock appears whole or not at all (below), so it is not one being written but damage,
 * such as the empty file a power cut can leave.
 *
 * **Appearing whole.** The content goes to a private temp file first, which is then link()ed to
 * the lock's name: link is atomic and fails with EEXIST when the name exists. (open 'wx' and then
 * write would let another starter read an empty file and take it for damage.)
 *
 * **Taking a stale lock over: why two starters cannot both win.** "Unlink it, create ours" is not
 * safe: starters B and C both read the stale lock L; B unlinks L and creates its own; C, acting on
 * what it read, unlinks B's live lock and creates its own, and both run. Renaming over the name
 * has the same flaw. So a lock that its owner did not create is removed only by the holder of a
 * second lock, `.relay.lock.takeover`, and only after it read again, while holding it, that the
 * name still holds the very file it judged stale (same inode, same content). Nothing can change
 * the name in between: creating needs the name free, an owner removes only its own lock (and
 * L's owner is gone), and any other remover would be holding the takeover lock. The taker then
 * creates its lock with link like any starter; if a new starter got there first, the taker's
 * link fails, it reads that lock and finds it live. The takeover lock is taken the same way, so a
 * taker that crashes holding it leaves a stale lock like any other, which
 * `.relay.lock.takeover.takeover` guards in turn (at most MAX_NESTING deep).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, open, readFile, realpath, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { RelayError } from '../errors.js';
import { parseStatLine } from '../metrics/proc-stat.js';

/** The lock's file name in the spill directory (a dotfile: never taken for a destination's directory). */
export const LOCK_FILE = '.relay.lock';
const TAKEOVER_SUFFIX = '.takeover';
/** Takeover locks nested this deep mean crashes inside microsecond windows, over and over: give up. */
const MAX_NESTING = 3;
/** Rounds of create / read / take over before giving up on a lock that keeps changing. */
const MAX_ROUNDS = 100;
/** How long to let another starter finish its takeover before looking again. */
const TAKEOVER_BUSY_WAIT_MS = 10;
/** Longest lock file read: anything longer is not a lock. */
const MAX_LOCK_BYTES = 1024;

/** The lock on a spill directory, held until release() or the end of the process. */
export interface SpillLock {
  /** The lock file (in the directory's real path). */
  readonly file: string;
  /** A log line when a stale lock (a crashed relay's) was taken over; undefined otherwise. */
  readonly tookOver: string | undefined;
  /** Removes the lock file if it is still ours. Idempotent; never rejects. */
  release(): Promise<void>;
}

/** What a lock file says about its holder. */
interface Holder {
  pid: number;
  start: number | undefined;
  boot: string | undefined;
  host: string;
}

type HolderState = 'live' | 'elsewhere' | 'gone';

/** A lock held by a live holder (or one we cannot check): internal, turned into the ERR_SPILL message. */
class LockHeld extends Error {
  constructor(
    readonly file: string,
    readonly holder: Holder,
    readonly state: Exclude<HolderState, 'gone'>,
  ) {
    super(`${file} is held by pid ${holder.pid} on ${holder.host}`);
  }
}

/** Lock files (real paths) this process holds or is taking: a second lockSpillRoot on one of them is refused. */
const heldHere = new Set<string>();

/**
 * Takes the exclusive lock on the spill directory `dir` (which must exist) for this process, taking
 * over a stale one; rejects with RelayError('ERR_SPILL') naming the relay that holds it.
 */
export async function lockSpillRoot(dir: string): Promise<SpillLock> {
  const shown = JSON.stringify(dir);
  const cannot = (why: string, cause?: unknown): RelayError => new RelayError('ERR_SPILL', `cannot use --spill-dir ${shown}: ${why}`, { cause });
  let file: string;
  try {
    // One key per directory however it is spelled (relative, through a symlink).
    file = path.join(await realpath(dir), LOCK_FILE);
  } catch (error) {
    throw cannot((error as Error).message, error);
  }
  if (heldHere.has(file)) throw cannot(`this relay (pid ${process.pid}) is already using it; each relay needs its own spill directory`);
  heldHere.add(file);
  const me = await ownIdentity();
  const text = `${JSON.stringify({ pid: process.pid, start: me.start, boot: me.boot, host: me.host, token: randomBytes(8).toString('hex') })}\n`;
  let tookOver: string | undefined;
  try {
    tookOver = await acquire(file, text, me, 0);
  } catch (error) {
    heldHere.delete(file);
    if (error instanceof LockHeld) {
      const { pid, host } = error.holder;
      if (error.state === 'live') throw cannot(`another relay (pid ${pid}) is using it; each relay needs its own spill directory`, error);
      throw cannot(
        `a relay on host ${host} (pid ${pid}) holds its lock; each relay needs its own spill directory (if none runs there, remove ${error.file})`,
        error,
      );
    }
    throw cannot(`cannot take its lock ${file}: ${(error as Error).message}`, error);
  }
  // A process.exit() anywhere (a second signal, a dead thread) still removes the lock; only a
  // crash or SIGKILL leaves it, stale, for the next start to take over.
  const onExit = (): void => {
    try {
      if (readFileSync(file, 'utf8') === text) unlinkSync(file);
    } catch {
      // Gone already, or unreadable: a lock left behind is stale once we are gone.
    }
  };
  process.on('exit', onExit);
  let released: Promise<void> | undefined;
  return {
    file,
    tookOver: tookOver === undefined ? undefined : `--spill-dir ${shown}: took over ${tookOver}`,
    release: () => {
      released ??= (async () => {
        process.off('exit', onExit);
        await removeIfOurs(file, text);
        heldHere.delete(file);
      })();
      return released;
    },
  };
}

/**
 * Creates the lock `file` holding `text`, taking over a stale lock there (see the module comment).
 * Resolves with a description of the stale lock it removed, if any; rejects with
 * LockHeld for a live one.
 */
async function acquire(file: string, text: string, me: Identity, nesting: number): Promise<string | undefined> {
  let tookOver: string | undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (await createWhole(file, text)) return tookOver;
    const found = await readLock(file);
    if (found === undefined) continue; // released since: try again
    const holder = parseHolder(found.text);
    const state = holder === undefined ? 'gone' : await holderState(holder, me);
    if (state !== 'gone') throw new LockHeld(file, holder!, state);
    if (nesting >= MAX_NESTING) throw new Error(`stale takeover locks ${MAX_NESTING} deep; remove ${file}`);
    const guard = `${file}${TAKEOVER_SUFFIX}`;
    try {
      await acquire(guard, text, me, nesting + 1);
    } catch (error) {
      if (!(error instanceof LockHeld) || error.state !== 'live') throw error;
      // Another starter is taking this lock over: let it finish, then look again.
      await delay(TAKEOVER_BUSY_WAIT_MS);
      continue;
    }
    try {
      const again = await readLock(file);
      if (again !== undefined && again.ino === found.ino && again.text === found.text) {
        await unlink(file);
        tookOver = holder === undefined ? 'a damaged lock file (it does not parse)' : `the lock left by relay pid ${holder.pid}, which is not running any more`;
      }
    } finally {
      await removeIfOurs(guard, text);
    }
  }
  throw new Error(`${file} kept changing over ${MAX_ROUNDS} attempts`);
}

/** Makes `file` appear holding `text` whole (link of a private temp file); false if it exists. */
async function createWhole(file: string, text: string): Promise<boolean> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, text, { flag: 'wx' });
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/** The lock file's inode and text, read through one handle; undefined if there is none. */
async function readLock(file: string): Promise<{ ino: bigint; text: string } | undefined> {
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (handle === undefined) return undefined;
  try {
    const { ino } = await handle.stat({ bigint: true });
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(MAX_LOCK_BYTES + 1), 0, MAX_LOCK_BYTES + 1, 0);
    return { ino, text: buffer.toString('utf8', 0, bytesRead) };
  } finally {
    await handle.close();
  }
}

/** Removes `file` if it still holds `text` (ours). Failures are ignored: a lock left behind is stale once we are gone. */
async function removeIfOurs(file: string, text: string): Promise<void> {
  try {
    // No one else removes a live lock, so it cannot change between the read and the unlink.
    if ((await readLock(file))?.text === text) await unlink(file);
  } catch {
    // See above.
  }
}

/** The holder a lock file names; undefined if the text is not a lock. */
function parseHolder(text: string): Holder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, start, boot, host } = value as Record<string, unknown>;
  // kill(0, …) and kill(-n, …) signal process groups: only a positive pid is a holder.
  if (!Number.isSafeInteger(pid) || (pid as number) <= 0 || typeof host !== 'string') return undefined;
  if (start !== undefined && !Number.isFinite(start)) return undefined;
  if (boot !== undefined && typeof boot !== 'string') return undefined;
  return { pid: pid as number, start: start as number | undefined, boot: boot as string | undefined, host };
}

interface Identity {
  host: string;
  /** Our start time and boot id; undefined without /proc (the checks that need them are skipped). */
  start: number | undefined;
  boot: string | undefined;
}

async function ownIdentity(): Promise<Identity> {
  const stat = parseStatLine(await readFile('/proc/self/stat', 'utf8').catch(() => ''));
  const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim();
  return { host: os.hostname(), start: stat?.startTicks, boot: boot === '' ? undefined : boot };
}

/** Whether the lock's holder still runs (module comment: "Live or stale"). */
async function holderState(holder: Holder, me: Identity): Promise<HolderState> {
  if (holder.host !== me.host) return 'elsewhere';
  if (holder.boot !== undefined && me.boot !== undefined && holder.boot !== me.boot) return 'gone';
  if (holder.pid === process.pid) return 'gone';
  let signalled = true;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return 'gone';
    signalled = false; // it runs, as another user
  }
  const stat = parseStatLine(await readFile(`/proc/${holder.pid}/stat`, 'utf8').catch(() => ''));
  // Unreadable: it exited since kill() (when /proc works and it is ours to see), or we cannot
  // look (no /proc, or hidepid hides another user's processes): then believe kill().
  if (stat === undefined) return signalled && me.start !== undefined ? 'gone' : 'live';
  if (stat.state === 'Z' || stat.state === 'X') return 'gone';
  return holder.start === undefined || stat.startTicks === holder.start ? 'live' : 'gone';
}
