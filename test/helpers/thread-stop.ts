/**
 * Stops one thread of a running process, and only that thread, for as long as a test needs
 * (test/helpers/thread-stop.c, built with the system's `cc` into a temporary directory; ptrace).
 * Without `cc` the test skips (fails under CI=true); where ptrace is refused (no CAP_SYS_PTRACE
 * under Yama's ptrace_scope 1, or a seccomp profile) it skips with the reason.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { packageRoot } from '../../src/package-root.js';
import { findCc } from './ere-oracle.js';
import { RelayProcess } from './relay-process.js';
import { withTempDir } from './temp-dir.js';

/** A stopped thread: resume() lets it run again and waits for the stopper to detach. */
export interface StoppedThread {
  resume(): Promise<void>;
}

/** Stops thread `tid`; undefined (the test skipped) when ptrace is refused here. */
export type StopThread = (tid: number) => Promise<StoppedThread | undefined>;

/** Runs `body` with the stopper built; every stopper it started is gone afterwards (a dead tracer's thread runs on). */
export async function withThreadStopper(t: TestContext, body: (stop: StopThread) => Promise<void>): Promise<void> {
  const cc = findCc();
  if (cc === undefined) {
    const missing = 'no C compiler (cc) to build the thread stopper (apt-get install gcc)';
    if (process.env.CI === 'true') assert.fail(`${missing}, and CI=true requires it`);
    t.skip(missing);
    return;
  }
  await withTempDir('thread-stop-', async (dir) => {
    const binary = path.join(dir, 'thread-stop');
    const source = path.join(packageRoot(), 'test', 'helpers', 'thread-stop.c');
    const build = await new RelayProcess(spawn(cc, ['-O1', '-o', binary, source], { stdio: ['ignore', 'pipe', 'pipe'] })).exit(60_000);
    assert.equal(build.code, 0, `cc thread-stop.c: ${build.stderr}`);
    const started: RelayProcess[] = [];
    try {
      await body(async (tid) => {
        const stopper = new RelayProcess(spawn(binary, [String(tid)], { stdio: ['pipe', 'pipe', 'pipe'] }));
        started.push(stopper);
        const outcome = await Promise.race([stopper.waitForStdout(/^stopped$/m).then(() => 'stopped' as const), stopper.exit(10_000)]);
        if (outcome !== 'stopped') {
          if (outcome.code === 3) {
            t.skip(`ptrace is refused here: ${outcome.stderr.trim()}`);
            return undefined;
          }
          assert.fail(`thread-stop ${tid} exited with ${outcome.code ?? outcome.signal}: ${outcome.stderr}`);
        }
        return {
          resume: async () => {
            stopper.child.stdin!.end();
            const exit = await stopper.exit(10_000);
            assert.equal(exit.code, 0, `thread-stop ${tid}: ${exit.stderr}`);
          },
        };
      });
    } finally {
      await Promise.all(started.map((s) => s.stop('SIGKILL')));
    }
  });
}

/** The kernel id of the thread of process `pid` named `comm` (/proc/PID/task/TID/comm). */
export async function threadNamed(pid: number, comm: string): Promise<number> {
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const name = await readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8').catch(() => '');
    if (name.trim() === comm) return Number(tid);
  }
  assert.fail(`process ${pid} has no thread named ${comm}`);
}
