/**
 * Runs the real `bin/relay` as a child process, as a user would, and waits on what it prints
 * (never on sleeps). Every process started here is killed by stop()/kill() or at the deadline.
 */
import type { TestContext } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { findPackageRoot } from '../../src/package-root.js';

/** The launcher users run (bin/relay, which runs the product build in dist/), in the package root above this compiled file (dist-test/test/helpers). */
export const RELAY_BIN = path.join(findPackageRoot(path.dirname(fileURLToPath(import.meta.url))) ?? '.', 'bin', 'relay');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running relay (or sink/send) process. */
export class RelayProcess {
  stdout = '';
  stderr = '';
  private readonly exited: Promise<Exit>;
  private waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      this.notify();
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
      this.notify();
    });
    this.exited = once(child, 'close').then(([code, signal]) => {
      this.notify();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null, stdout: this.stdout, stderr: this.stderr };
    });
  }

  /** Resolves with the first match of `pattern` in stderr; rejects at the deadline or if the process exits first. */
  waitForStderr(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return this.waitFor('stderr', pattern, timeoutMs);
  }

  /** The same for stdout. */
  waitForStdout(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return this.waitFor('stdout', pattern, timeoutMs);
  }

  private async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this[stream].match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`process exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern} on ${stream}; stderr:\n${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`no ${pattern} on ${stream} within ${timeoutMs} ms; stderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves when the process exits; kills it with SIGKILL if it has not within `timeoutMs`. */
  async exit(timeoutMs = 15_000): Promise<Exit> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Peak resident memory of the process so far (VmHWM), in MB. */
  async peakRssMb(): Promise<number> {
    const status = await readFile(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
  }

  /** Sends `signal` and waits for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exit(timeoutMs);
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** Starts `bin/relay ARGS…` (with `env` over this process's environment). */
export function spawnRelay(args: string[], options: { stdin?: 'pipe' | 'ignore'; env?: NodeJS.ProcessEnv } = {}): RelayProcess {
  const child = spawn(process.execPath, [RELAY_BIN, ...args], { stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  return new RelayProcess(child);
}

/** Starts a relay and waits until every listener is bound; returns the bound listener addresses in order. */
export async function startRelay(args: string[], listenerCount = 1): Promise<{ relay: RelayProcess; listeners: string[] }> {
  const relay = spawnRelay(args);
  try {
    const pattern = new RegExp(`(?:listening on \\S+[^\\n]*\\n[\\s\\S]*?){${listenerCount}}`);
    await relay.waitForStderr(pattern);
    const listeners = [...relay.stderr.matchAll(/listening on (\S+)/g)].map((m) => m[1]!);
    return { relay, listeners };
  } catch (error) {
    await relay.stop('SIGKILL');
    throw error;
  }
}

/** `udp@127.0.0.1:41234` -> { host: '127.0.0.1', port: 41234 }; brackets of IPv6 removed. */
export function hostPortOf(address: string): { host: string; port: number } {
  const match = address.match(/^\w+@\[?([^\]]*?)\]?:(\d+)$/);
  if (!match) throw new Error(`not an address: ${address}`);
  return { host: match[1]!, port: Number(match[2]) };
}

/** The port of a bound address as the relay logs it (`tcp@127.0.0.1:41234`). */
export function portOf(address: string): number {
  return hostPortOf(address).port;
}

/**
 * npm test runs the end-to-end files twice, the second time with RELAY_NATIVE_UDP=0 for the
 * node:dgram receive path. A test that takes no UDP input gains nothing there: it skips that pass
 * (with this one line) and so keeps npm test within its time.
 */
export function noUdpSecondPass(t: TestContext): boolean {
  if (process.env.RELAY_NATIVE_UDP !== '0') return false;
  t.skip('no UDP input: it ran on the first pass (RELAY_NATIVE_UDP=0 changes only how UDP is received)');
  return true;
}
