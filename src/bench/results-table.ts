/** Bench results as a text table: one row per run, relays compared side by side. */
import type { RunResult } from './run-one.js';

const COLUMNS: [string, (r: RunResult) => string][] = [
  ['relay', (r) => r.relay],
  ['offered/s', (r) => String(r.offered_rate)],
  ['sent/s', (r) => `${r.send_rate}${r.offered_rate_reached ? '' : '*'}`],
  ['sent', (r) => String(r.sent)],
  ['loss %', (r) => String(r.loss_pct)],
  ['gaps', (r) => r.destinations.map((d) => d.gaps).join('/')],
  ['dup/reord/torn', (r) => `${sum(r, 'duplicates')}/${sum(r, 'reordered')}/${sum(r, 'torn')}`],
  ['p50 µs', (r) => String(r.latency_us.p50)],
  ['p99 µs', (r) => String(r.latency_us.p99)],
  ['max µs', (r) => String(r.latency_us.max)],
  ['cpu µs/msg', (r) => String(r.cpu_us_per_msg)],
  ['rss MB', (r) => String(r.relay_peak_rss_mb)],
  ['kernel drops', (r) => String(r.kernel_drops)],
];

function sum(r: RunResult, key: 'duplicates' | 'reordered' | 'torn'): number {
  return r.destinations.reduce((total, d) => total + d[key], 0);
}

/** The table, with a note when some senders fell short of the offered rate. */
export function renderResultsTable(results: RunResult[]): string {
  const rows = [COLUMNS.map(([name]) => name), ...results.map((r) => COLUMNS.map(([, cell]) => cell(r)))];
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const lines = rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  if (results.some((r) => !r.offered_rate_reached)) lines.push('* the senders could not reach the offered rate: the relay was offered less than asked');
  return lines.join('\n');
}
