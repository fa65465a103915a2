/**
 * A private HAProxy for the tests that need the real one (Debian's package; .ci/run installs
 * it): found on PATH or in /usr/sbin (or $HAPROXY), run in the foreground with a config the
 * test writes, on free ports, stopped by the test.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitAccepting } from './carbon-relay.js';
import { freePort } from './numbered.js';
import { RelayProcess } from './relay-process.js';

/** The executable `binary` on PATH, in /usr/sbin or /sbin, or at $envName; undefined when there is none. */
export function findExecutable(binary: string, envName: string): string | undefined {
  const override = process.env[envName];
  const dirs = override ? [] : [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'];
  for (const candidate of override ? [override] : dirs.filter((d) => d !== '').map((d) => path.join(d, binary))) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** True when `binary` is missing: skips the test with one line, or fails it when CI=true. */
export function missingServer(t: TestContext, binary: string, envName: string, install: string): boolean {
  if (findExecutable(binary, envName) !== undefined) return false;
  const why = `${binary} is not installed (${install})`;
  if (process.env.CI === 'true') assert.fail(`${why}, and CI=true requires it`);
  t.skip(why);
  return true;
}

/** True when HAProxy is missing: skips the test, or fails it when CI=true. */
export function missingHaproxy(t: TestContext): boolean {
  return missingServer(t, 'haproxy', 'HAPROXY', 'apt-get install haproxy');
}

/**
 * Starts haproxy with `config(ports)` (`count` free ports for its frontends; a few tries, in case
 * another process took one first); resolves once it accepts. It is probed on a port of its own
 * that rejects every connection, so that no probe reaches the test's frontends and what is behind them.
 */
export async function startHaproxy(dir: string, count: number, config: (ports: number[]) => string): Promise<{ ports: number[]; process: RelayProcess }> {
  const binary = findExecutable('haproxy', 'HAPROXY')!;
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    const probePort = await freePort();
    const conf = path.join(dir, `haproxy-${attempt}.cfg`);
    const probe = ['listen probe', '  mode tcp', `  bind 127.0.0.1:${probePort}`, '  tcp-request connection reject', ''].join('\n');
    await writeFile(conf, `${config(ports)}\n${probe}`);
    const haproxy = new RelayProcess(spawn(binary, ['-db', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      // HAProxy binds every frontend before it accepts on any.
      await waitAccepting(haproxy, probePort, 10_000, 'haproxy');
      return { ports, process: haproxy };
    } catch (error) {
      await haproxy.stop('SIGKILL');
      if (attempt >= 3) throw error;
    }
  }
}
