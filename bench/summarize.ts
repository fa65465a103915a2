/**
 * Medians of repeated `relay bench --json` runs, as a Markdown table per file:
 *
 *   node dist/bench/summarize.js runs-1dest.jsonl [runs-4dest.jsonl …]
 *
 * Rows are grouped by relay and offered rate; each cell is the median over the repetitions
 * (the machine is shared and noisy: one run proves little).
 */
import { readFile } from 'node:fs/promises';
import type { RunResult } from './run-one.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function table(runs: RunResult[]): string {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    const key = `${r.relay}\t${r.offered_rate}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows = [...groups.values()].sort((a, b) => a[0]!.offered_rate - b[0]!.offered_rate || a[0]!.relay.localeCompare(b[0]!.relay));
  const lines = [
    '| relay | offered/s | runs | sent/s (median) | loss % | p50 µs | p99 µs | CPU µs/msg | peak RSS MB | kernel drops |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const g of rows) {
    const m = (f: (r: RunResult) => number): number => median(g.map(f));
    const reached = g.every((r) => r.offered_rate_reached) ? '' : ' *';
    lines.push(
      `| ${g[0]!.relay} | ${g[0]!.offered_rate} | ${g.length} | ${Math.round(m((r) => r.send_rate))}${reached} | ${m((r) => r.loss_pct).toFixed(3)} | ${Math.round(m((r) => r.latency_us.p50))} | ${Math.round(m((r) => r.latency_us.p99))} | ${m((r) => r.cpu_us_per_msg).toFixed(1)} | ${m((r) => r.relay_peak_rss_mb).toFixed(0)} | ${Math.round(m((r) => r.kernel_drops))} |`,
    );
  }
  return lines.join('\n');
}

for (const file of process.argv.slice(2)) {
  const runs = (await readFile(file, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as RunResult);
  process.stdout.write(`${file} (${runs.length} runs)\n\n${table(runs)}\n\n`);
}
