/**
 * The real carbon-c-relay (Debian's package) for tests: where it is, skipping (or, under CI=true,
 * failing) a test without it, starting it on a free port, and clean metric names to feed it.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { mulberry32, randomInt } from './prng.js';
import { RelayProcess } from './relay-process.js';

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

export const CARBON_RELAY = findCarbonRelay();
const MISSING = 'carbon-c-relay is not installed (apt-get install carbon-c-relay)';

/** True when the test cannot run: skips it, or fails it when CI=true. */
export function missingOracle(t: TestContext): boolean {
  if (CARBON_RELAY !== undefined) return false;
  if (process.env.CI === 'true') assert.fail(`${MISSING}, and CI=true requires it`);
  t.skip(MISSING);
  return true;
}

/** Clean metric names: 1 to 6 segments of [A-Za-z0-9_-], no empty segment. */
export function metricNames(seed: number, count: number): string[] {
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
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once 127.0.0.1:port accepts a connection; rejects if `relay` (a `name` process) exits or at the deadline. */
export async function waitAccepting(relay: RelayProcess, port: number, timeoutMs = 10_000, name = 'carbon-c-relay'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (relay.child.exitCode !== null || relay.child.signalCode !== null) throw new Error(`${name} exited: ${relay.stdout}${relay.stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} does not accept on port ${port} within ${timeoutMs} ms: ${relay.stdout}${relay.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts carbon-c-relay on a free port (a few tries, in case another process took the port first), with `args` after its own. */
export async function startCarbon(dir: string, config: (listenPort: number) => string, args: string[] = []): Promise<{ relay: RelayProcess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, `carbon-${attempt}.conf`);
    await writeFile(conf, config(port));
    const relay = new RelayProcess(spawn(CARBON_RELAY!, ['-f', conf, '-w', '1', '-H', 'oracle', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await waitAccepting(relay, port);
      return { relay, port };
    } catch (error) {
      await relay.stop('SIGKILL');
      if (attempt >= 3) throw error;
    }
  }
}
