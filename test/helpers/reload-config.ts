/** What the reload tests share: a relay.toml to rewrite, one /metrics value, and an exact run of sequence numbers. */
import assert from 'node:assert/strict';
import type { RelayProcess } from './relay-process.js';
import { metricsBase } from './relay-stats.js';

/** A relay.toml with these listeners and destinations, a 2 s drain unless `extra` sets one, a metrics port, no stats lines. */
export function relayToml(listen: string[], destinations: string[], extra = ''): string {
  const tables = destinations.map((d) => `[[destination]]\naddress = "${d}"\n`).join('\n');
  const drain = /drain-timeout/.test(extra) ? '' : 'drain-timeout = "2s"\n';
  return `listen = ${JSON.stringify(listen)}\n${drain}stats-interval = "0"\nmetrics = "127.0.0.1:0"\n${extra}\n${tables}`;
}

/** The first value of the /metrics line `line` matches (its first group). */
export async function metric(relay: RelayProcess, line: RegExp): Promise<number> {
  const body = await (await fetch(`${await metricsBase(relay)}/metrics`)).text();
  const match = body.match(line);
  assert.ok(match, `no ${line} in /metrics`);
  return Number(match[1]);
}

/** Asserts `got` is exactly from..to-1, in order. */
export function assertRun(name: string, got: number[], from: number, to: number): void {
  assert.equal(got.length, to - from, `${name}: ${got.length} messages, expected ${to - from} (${from}..${to - 1})`);
  for (let i = 0; i < got.length; i++) if (got[i] !== from + i) assert.fail(`${name}: message ${i} is ${got[i]}, expected ${from + i}`);
}
