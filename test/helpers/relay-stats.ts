/** Reading a running relay's /stats (it was started with --metrics 127.0.0.1:0). */
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
