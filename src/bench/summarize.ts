/**
 * Medians of repeated `relay bench --json` runs, as a Markdown table per file
 * (`relay bench summarize [--html report.html] runs-1dest.jsonl [runs-4dest.jsonl …]`).
 *
 * Rows are grouped by relay and offered rate; each cell is the median over the repetitions
 * (the machine is shared and noisy: one run proves little). The HTML renders the medians as the
 * bench's HTML report, one line per relay and destination count.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { RelayError } from '../errors.js';
import { renderHtmlReport } from './html-report.js';
import type { RunResult } from './run-one.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs grouped by relay and offered rate, ordered by rate then relay. */
function groups(runs: RunResult[]): RunResult[][] {
  const byKey = new Map<string, RunResult[]>();
  for (const r of runs) {
    const key = `${r.relay}\t${r.offered_rate}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  return [...byKey.values()].sort((a, b) => a[0]!.offered_rate - b[0]!.offered_rate || a[0]!.relay.localeCompare(b[0]!.relay));
}

/** One run whose every number is the median of the group's. */
function medianRun(g: RunResult[]): RunResult {
  const m = (f: (r: RunResult) => number): number => median(g.map(f));
  return {
    ...g[0]!,
    sent: m((r) => r.sent),
    send_rate: m((r) => r.send_rate),
    offered_rate_reached: g.every((r) => r.offered_rate_reached),
    loss_pct: m((r) => r.loss_pct),
    latency_us: {
      p50: m((r) => r.latency_us.p50),
      p90: m((r) => r.latency_us.p90),
      p99: m((r) => r.latency_us.p99),
      p999: m((r) => r.latency_us.p999),
      max: m((r) => r.latency_us.max),
    },
    relay_cpu_s: m((r) => r.relay_cpu_s),
    cpu_us_per_msg: m((r) => r.cpu_us_per_msg),
    relay_peak_rss_mb: m((r) => r.relay_peak_rss_mb),
    kernel_drops: m((r) => r.kernel_drops),
    bench_cpu_s: m((r) => r.bench_cpu_s),
  };
}

function table(medians: { runs: number; result: RunResult }[]): string {
  const lines = [
    '| relay | offered/s | runs | sent/s | loss % | p50 µs | p99 µs | CPU µs/msg | peak RSS MB | kernel drops |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { runs, result: r } of medians) {
    lines.push(
      `| ${r.relay} | ${r.offered_rate} | ${runs} | ${Math.round(r.send_rate)}${r.offered_rate_reached ? '' : ' *'} | ${r.loss_pct.toFixed(3)} | ${Math.round(r.latency_us.p50)} | ${Math.round(r.latency_us.p99)} | ${r.cpu_us_per_msg.toFixed(1)} | ${r.relay_peak_rss_mb.toFixed(0)} | ${Math.round(r.kernel_drops)} |`,
    );
  }
  return lines.join('\n');
}

export interface Summary {
  /** One Markdown table per file, each headed by the file's name and run count. */
  markdown: string;
  /** Every file's medians, relays named with their destination count: the rows of the HTML report. */
  medians: RunResult[];
}

async function readRuns(file: string): Promise<RunResult[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new RelayError('ERR_BAD_OPTION', `cannot read ${file}: ${(error as Error).message}`);
  }
  return text
    .trim()
    .split('\n')
    .map((line, i) => {
      try {
        return JSON.parse(line) as RunResult;
      } catch {
        throw new RelayError('ERR_BAD_OPTION', `${file}:${i + 1}: not a line of relay bench --json output`);
      }
    });
}

/** Reads `relay bench --json` output files (one run per line) and takes the medians per relay and rate. */
export async function summarize(files: readonly string[]): Promise<Summary> {
  let markdown = '';
  const medians: RunResult[] = [];
  for (const file of files) {
    const runs = await readRuns(file);
    const fileMedians = groups(runs).map((g) => ({ runs: g.length, result: medianRun(g) }));
    medians.push(...fileMedians.map((m) => ({ ...m.result, relay: `${m.result.relay} (${m.result.destinations.length} dest)` })));
    markdown += `${file} (${runs.length} runs; medians)\n\n${table(fileMedians)}\n\n`;
  }
  return { markdown, medians };
}

/** The summary's medians as the bench's self-contained HTML report. */
export function renderSummaryHtml(summary: Summary, files: readonly string[]): string {
  const context = `medians of ${files.join(', ')}\n${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism()}, Node ${process.version}`;
  return renderHtmlReport(summary.medians, context);
}
