/**
 * One benchmark run: K verifying sinks, the relay under test as its own process, M paced senders;
 * then what arrived, how late, and what the relay cost.
 */
import { once } from 'node:events';
import dgram from 'node:dgram';
import net from 'node:net';
import * as hdr from 'hdr-histogram-js';
import type { Piscina } from 'piscina';
import { cpuSeconds, kernelDropsOnPort, peakRssBytes, processTree, udpPortBound } from './proc-usage.js';
import type { SenderResult, SenderTask, SinkReport } from './protocol.js';
import { startRelay, stopProcess } from './relay-under-test.js';
import { startSink } from './sink-handle.js';
import type { RunSpec } from './run-spec.js';

export interface DestinationResult {
  delivered: number;
  gaps: number;
  duplicates: number;
  reordered: number;
  torn: number;
}

export interface RunResult {
  relay: string;
  offered_rate: number;
  sent: number;
  send_rate: number;
  /** False when the senders could not keep up with the offered rate (the run measured less). */
  offered_rate_reached: boolean;
  destinations: DestinationResult[];
  loss_pct: number;
  latency_us: { p50: number; p90: number; p99: number; p999: number; max: number };
  relay_cpu_s: number;
  cpu_us_per_msg: number;
  relay_peak_rss_mb: number;
  kernel_drops: number;
  bench_cpu_s: number;
  /** How the senders sent: 'sendmmsg' or 'dgram'. */
  send_with: string;
  /** With sigtermAfterSend: the relay's exit code (null: killed by a signal, or SIGKILLed after 60 s). */
  relay_exit_code?: number | null;
}

/** Runs `spec` once against a fresh relay process. `progress` is told the running totals. */
export async function runOnce(spec: RunSpec, pool: Piscina, progress?: (sent: number, delivered: number) => void): Promise<RunResult> {
  const sinks = await Promise.all(Array.from({ length: spec.destinations }, () => startSink(spec)));
  // The relay's input port (UDP, or TCP for --input tcp/tls; kernel drops are a UDP socket's only).
  const udpPort = spec.input === 'udp' ? await freeUdpPort() : await freeTcpPort();
  const relay = startRelay(
    spec,
    udpPort,
    sinks.map((s) => s.port),
  );
  try {
    await waitUntil(
      async () => (await Promise.all(sinks.map((s) => s.report()))).every((r) => r.connections > 0),
      15_000,
      () => `${spec.label} did not connect to every sink`,
    );
    await waitUntil(
      () => (spec.input === 'udp' ? udpPortBound(udpPort) : tcpAccepts(udpPort)),
      15_000,
      () => `${spec.label} did not bind ${spec.input} 127.0.0.1:${udpPort}`,
    );
    const tree = await processTree(relay.pid!);
    const cpuBefore = await cpuSeconds(tree);
    const dropsBefore = await kernelDropsOnPort(udpPort);
    const benchCpuBefore = process.cpuUsage();

    const perSender = Math.ceil(spec.count / spec.senders);
    const tasks: SenderTask[] = Array.from({ length: spec.senders }, (_, sender) => ({
      host: '127.0.0.1',
      port: udpPort,
      sender,
      rate: spec.rate / spec.senders,
      count: Math.min(perSender, spec.count - sender * perSender),
      sizes: spec.sizes,
      sendWith: spec.sendWith,
      input: spec.input,
      ...(spec.inputTls && { ca: spec.inputTls.cert }),
    }));
    let sentSoFar = 0;
    const ticker = progress && setInterval(() => void sinks[0]!.report().then((r) => progress(sentSoFar, r.delivered)), 1000);
    const results = await Promise.all(tasks.map((t) => pool.run(t) as Promise<SenderResult>));
    const sent = results.reduce((sum, r) => sum + r.sent, 0);
    sentSoFar = sent;
    const sendSeconds = Math.max(...results.map((r) => r.elapsedS));
    // Stopped at once: the relay's own drain decides what arrives; its CPU is read before it exits.
    let relayExit: { code: number | null; cpuS: number; rss: number; kernelDrops: number } | undefined;
    if (spec.sigtermAfterSend) {
      const [cpuS, rss, kernelDrops] = [await cpuSeconds(tree), await peakRssBytes(tree), await kernelDropsOnPort(udpPort)];
      relayExit = { code: await stopProcess(relay, 60_000), cpuS, rss, kernelDrops };
    }
    const reports = await stragglers(sinks, sent, spec.settleMs, spec.group !== undefined);
    if (ticker) clearInterval(ticker);
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const relayCpu = (relayExit?.cpuS ?? (await cpuSeconds(tree))) - cpuBefore;
    const rss = relayExit?.rss ?? (await peakRssBytes(tree));
    const kernelDrops = (relayExit?.kernelDrops ?? (await kernelDropsOnPort(udpPort))) - dropsBefore;

    const measured = { relayCpu, rss, kernelDrops, benchCpuS: (benchCpu.user + benchCpu.system) / 1e6 };
    return resultOf(spec, sent, sendSeconds, results, reports, measured, relayExit?.code);
  } finally {
    await stopProcess(relay);
    await Promise.all(sinks.map((s) => s.close()));
  }
}

/** Stragglers: waits until every sink has all `sent` messages, or nothing moved for `settleMs`; their last reports. */
async function stragglers(sinks: { report(): Promise<SinkReport> }[], sent: number, settleMs: number, grouped: boolean): Promise<SinkReport[]> {
  let reports = await Promise.all(sinks.map((s) => s.report()));
  for (let last = -1, idleSince = Date.now(); Date.now() - idleSince < settleMs; ) {
    const total = reports.reduce((sum, r) => sum + r.delivered, 0);
    const distinct = reports.reduce((sum, r) => sum + r.delivered - r.duplicates, 0);
    if (grouped ? distinct >= sent : reports.every((r) => r.delivered - r.duplicates >= sent)) break;
    if (total !== last) idleSince = Date.now();
    last = total;
    await new Promise((resolve) => setTimeout(resolve, 50));
    reports = await Promise.all(sinks.map((s) => s.report()));
  }
  return reports;
}

/** One run's result from what the senders, the sinks and /proc reported. */
function resultOf(
  spec: RunSpec,
  sent: number,
  sendSeconds: number,
  results: SenderResult[],
  reports: SinkReport[],
  measured: { relayCpu: number; rss: number; kernelDrops: number; benchCpuS: number },
  exitCode: number | null | undefined,
): RunResult {
  const latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  for (const r of reports) latency.add(hdr.decodeFromCompressedBase64(r.latencyHistogram));
  // A group's members share the messages: a member's "gaps" are the others' messages, not losses.
  const targets = spec.group ? 1 : reports.length;
  const destinations = reports.map((r) => ({
    delivered: r.delivered,
    gaps: spec.group ? 0 : Math.max(0, sent - (r.delivered - r.duplicates)),
    duplicates: r.duplicates,
    reordered: r.reordered,
    torn: r.torn,
  }));
  const deliveredTotal = destinations.reduce((sum, d) => sum + d.delivered - d.duplicates, 0);
  const expectedTotal = sent * targets;
  return {
    relay: spec.label,
    offered_rate: spec.rate,
    sent,
    send_rate: Math.round(sent / sendSeconds),
    offered_rate_reached: sent / sendSeconds >= spec.rate * 0.95,
    destinations,
    loss_pct: expectedTotal === 0 ? 0 : round(((expectedTotal - deliveredTotal) / expectedTotal) * 100, 4),
    latency_us: {
      p50: latency.getValueAtPercentile(50),
      p90: latency.getValueAtPercentile(90),
      p99: latency.getValueAtPercentile(99),
      p999: latency.getValueAtPercentile(99.9),
      max: latency.maxValue,
    },
    relay_cpu_s: round(measured.relayCpu, 3),
    cpu_us_per_msg: deliveredTotal === 0 ? 0 : round((measured.relayCpu * 1e6) / (deliveredTotal / targets), 3),
    relay_peak_rss_mb: round(measured.rss / (1024 * 1024), 1),
    kernel_drops: measured.kernelDrops,
    bench_cpu_s: round(measured.benchCpuS, 3),
    send_with: [...new Set(results.map((r) => r.sendWith))].join('+'),
    ...(exitCode !== undefined && { relay_exit_code: exitCode }),
  };
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

/** A UDP port free right now on 127.0.0.1 (the relay under test binds it next). */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A TCP port free right now on 127.0.0.1. */
async function freeTcpPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port (the probe closes at once). */
function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, why: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
