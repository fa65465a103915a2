/**
 * A self-contained HTML report of a sweep (inline SVG, no scripts, no network): delivered rate,
 * p50/p99 latency and CPU per message against the offered rate, one line per relay.
 */
import type { RunResult } from './run-one.js';

interface Series {
  name: string;
  points: [number, number][];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** One line chart as an SVG element. */
function chart(title: string, yLabel: string, series: Series[], logY = false): string {
  const width = 640;
  const height = 360;
  const pad = { left: 70, right: 20, top: 30, bottom: 50 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs);
  const transform = (y: number): number => (logY ? Math.log10(Math.max(1, y)) : y);
  const yMax = Math.max(1e-9, ...ys.map(transform)) * 1.1;
  const px = (x: number): number => pad.left + (x / xMax) * (width - pad.left - pad.right);
  const py = (y: number): number => height - pad.bottom - (transform(y) / yMax) * (height - pad.top - pad.bottom);
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const grid = ticks
    .map((t) => {
      const y = height - pad.bottom - t * (height - pad.top - pad.bottom);
      const value = logY ? 10 ** (t * yMax) : t * yMax;
      return `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${pad.left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${formatNumber(value)}</text>`;
    })
    .join('');
  const xTicks = ticks
    .map((t) => `<text x="${px(t * xMax)}" y="${height - pad.bottom + 16}" text-anchor="middle" font-size="11">${formatNumber(t * xMax)}</text>`)
    .join('');
  const lines = series
    .map((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      const path = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      const dots = s.points
        .map(
          ([x, y]) =>
            `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"><title>${escapeHtml(s.name)}: ${formatNumber(x)} → ${formatNumber(y)}</title></circle>`,
        )
        .join('');
      return `<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>${dots}<text x="${width - pad.right - 4}" y="${pad.top + 14 * (i + 1)}" text-anchor="end" font-size="12" fill="${color}">${escapeHtml(s.name)}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">
<text x="${width / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">${escapeHtml(title)}</text>${grid}${xTicks}
<text x="${width / 2}" y="${height - 12}" text-anchor="middle" font-size="12">offered rate (datagrams/s)</text>
<text x="16" y="${height / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${height / 2})">${escapeHtml(yLabel)}</text>${lines}</svg>`;
}

function formatNumber(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(n >= 1e4 ? 0 : 1)}k`;
  return n >= 10 || n === 0 ? n.toFixed(0) : n.toFixed(2);
}

function seriesOf(results: RunResult[], y: (r: RunResult) => number): Series[] {
  const byRelay = new Map<string, [number, number][]>();
  for (const r of results) {
    const points = byRelay.get(r.relay) ?? [];
    points.push([r.offered_rate, y(r)]);
    byRelay.set(r.relay, points);
  }
  return [...byRelay].map(([name, points]) => ({ name, points: points.sort((a, b) => a[0] - b[0]) }));
}

/** The whole report page. `context` is shown at the top (machine, command line). */
export function renderHtmlReport(results: RunResult[], context: string): string {
  const delivered = (r: RunResult): number => (r.send_rate * (100 - r.loss_pct)) / 100;
  const rows = results
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.relay)}</td><td>${r.offered_rate}</td><td>${r.send_rate}</td><td>${r.loss_pct}</td><td>${r.latency_us.p50}</td><td>${r.latency_us.p99}</td><td>${r.cpu_us_per_msg}</td><td>${r.relay_peak_rss_mb}</td><td>${r.kernel_drops}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>relay bench report</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}pre{background:#f6f6f6;padding:1em}svg{margin:0 1em 1em 0}</style>
</head><body>
<h1>relay bench</h1>
<pre>${escapeHtml(context)}</pre>
${chart('Delivered vs offered rate', 'delivered datagrams/s per destination', seriesOf(results, delivered))}
${chart(
  'Latency p50',
  'µs (log scale)',
  seriesOf(results, (r) => r.latency_us.p50),
  true,
)}
${chart(
  'Latency p99',
  'µs (log scale)',
  seriesOf(results, (r) => r.latency_us.p99),
  true,
)}
${chart(
  'Relay CPU per message',
  'CPU µs per delivered message',
  seriesOf(results, (r) => r.cpu_us_per_msg),
)}
<table><tr><th>relay</th><th>offered/s</th><th>sent/s</th><th>loss %</th><th>p50 µs</th><th>p99 µs</th><th>CPU µs/msg</th><th>RSS MB</th><th>kernel drops</th></tr>
${rows}
</table>
</body></html>
`;
}
