/** Reading a running relay's metrics endpoint (it was started with --metrics 127.0.0.1:0), and waiting on what it says. */
import assert from 'node:assert/strict';
import type { RelayProcess } from './relay-process.js';
import type { Snapshot } from '../../src/metrics/snapshot-types.js';

/** The relay's metrics base URL, from its "metrics on" line. */
export async function metricsBase(relay: RelayProcess): Promise<string> {
  return (await relay.waitForStderr(/metrics on (http:\/\/\S+)\/metrics/))[1]!;
}

/** The relay's snapshot now. */
export async function stats(base: string): Promise<Snapshot> {
  return (await fetch(`${base}/stats`)).json() as Promise<Snapshot>;
}

/** Polls `check` every 50 ms until it returns true (bounded); fails with its last complaint if it never does. */
export async function eventually(check: () => Promise<true | string>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: true | string = 'never checked';
  while (Date.now() < deadline) {
    last = await check();
    if (last === true) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(last);
}
