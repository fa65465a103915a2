/**
 * `relay bench`: offers paced UDP load to this relay (or any relay given by --relay-cmd), verifies
 * what every TCP (or, with --sink-tls, TLS; with --sink-relp, RELP) sink receives, and reports
 * loss, latency and the relay's CPU and memory.
 * `relay bench summarize`: medians of repeated `relay bench --json` runs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { mulberry32, randomInt } from '../prng.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { DEFAULTS } from '../config/config.js';
import { RelayError } from '../errors.js';
import type { FramingName } from '../framing/index.js';
import { renderHtmlReport } from '../bench/html-report.js';
import { MIN_PAYLOAD_BYTES } from '../bench/payload.js';
import { renderResultsTable } from '../bench/results-table.js';
import { runOnce, type RunResult } from '../bench/run-one.js';
import type { BenchTls } from '../bench/run-spec.js';
import { selfSigned } from '../bench/throwaway-certs.js';
import { renderSummaryHtml, summarize } from '../bench/summarize.js';
import { durationOption, framingOption } from './parsers.js';
import { GROUP_MODES, type GroupMode } from '../group/group-spec.js';

interface BenchOptions {
  rate: number;
  count: number | undefined;
  duration: number;
  size: number;
  sizes: number[] | undefined;
  dests: number;
  framing: FramingName;
  senders: number;
  sendWith: 'auto' | 'dgram';
  sigtermAfterSend: boolean;
  relayCmd: string[];
  json: boolean;
  sweep: number[] | undefined;
  report: string | undefined;
  settle: number;
  sinkTls: boolean;
  sinkRelp: boolean;
  group: GroupMode | undefined;
}

function positiveInteger(name: string, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max) throw new InvalidArgumentError(`${name} "${value}": expected an integer 1-${max}`);
    return n;
  };
}

function payloadSize(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < MIN_PAYLOAD_BYTES || n > 65507) {
    throw new InvalidArgumentError(`size "${value}": expected ${MIN_PAYLOAD_BYTES}-65507 bytes (a bench payload carries a sequence number and a timestamp)`);
  }
  return n;
}

/** `100,1400` cycles through the sizes; `64-1400` draws 1000 sizes uniformly (fixed seed, the same every run). */
function sizeDistribution(value: string): number[] {
  const range = /^(\d+)-(\d+)$/.exec(value);
  if (range) {
    const [min, max] = [payloadSize(range[1]!), payloadSize(range[2]!)];
    if (min > max) throw new InvalidArgumentError(`--sizes "${value}": the range must go from small to large`);
    const random = mulberry32(12345);
    return Array.from({ length: 1000 }, () => randomInt(random, min, max));
  }
  return value.split(',').map(payloadSize);
}

function rateList(value: string): number[] {
  return value.split(',').map(positiveInteger('--sweep rate', 10_000_000));
}

/** `NAME=COMMAND` names a relay in reports; a bare command is its own name. */
function labelled(value: string): { label: string; command: string } {
  const match = /^([A-Za-z][\w.-]*)=(.+)$/.exec(value);
  return match ? { label: match[1]!, command: match[2]! } : { label: value, command: value };
}

/** `relay bench summarize`: the medians of repeated runs, as Markdown tables and optionally the HTML report. */
function summarizeCommand(): Command {
  return new Command('summarize')
    .description('medians of repeated `relay bench --json` runs, per relay and offered rate: a Markdown table per file')
    .argument('<runs.jsonl...>', 'files of `relay bench --json` output (one run per line)')
    .option('--html <file.html>', 'also write the medians as a self-contained HTML report (one line per relay and destination count)')
    .addHelpText('after', '\nExample:\n  relay bench summarize --html bench/report.html bench/runs-100B-1dest.jsonl bench/runs-100B-4dest.jsonl')
    .action(async (files: string[], options: { html?: string }) => {
      const summary = await summarize(files);
      process.stdout.write(summary.markdown);
      if (options.html !== undefined) {
        await writeFile(options.html, renderSummaryHtml(summary, files));
        process.stderr.write(`relay bench summarize: wrote ${options.html}\n`);
      }
    });
}

/** The bench subcommand (and its summarize subcommand). */
export function benchCommand(): Command {
  return (
    new Command('bench')
      .description('measure a relay: paced UDP load in, verifying TCP sinks out; loss, latency, CPU and memory')
      // Options after `summarize` belong to it, not to the bench run.
      .enablePositionalOptions()
      .option('--rate <pps>', 'offered datagrams per second (all senders together)', positiveInteger('--rate', 10_000_000), 10_000)
      .option('--count <n>', 'datagrams per run (default: rate × duration)', positiveInteger('--count', 1e9))
      .addOption(
        new Option('--duration <duration>', 'length of a run when --count is not given')
          .default(5000, '5s')
          .argParser(durationOption('--duration', { min: 100, max: 3_600_000 })),
      )
      .option('--size <bytes>', 'payload size', payloadSize, 100)
      .option('--sizes <dist>', 'payload sizes: a list (100,1400) cycled, or a range (64-1400) drawn uniformly', sizeDistribution)
      .option('--dests <k>', 'TCP destinations (verifying sinks)', positiveInteger('--dests', 64), 1)
      .addOption(
        new Option('--group <mode>', 'the sinks are the members of one group of this mode (each message to one of them), not destinations').choices(
          GROUP_MODES,
        ),
      )
      .addOption(new Option('--framing <name>', 'framing the sinks decode (and this relay is told to use)').default(DEFAULTS.framing).argParser(framingOption))
      .option('--senders <m>', 'sender threads (a piscina pool), each with its own source port', positiveInteger('--senders', 64), 1)
      .option(
        '--sigterm-after-send',
        'stop the relay with SIGTERM as soon as the senders are done: measures what its drain delivers (and its exit code)',
        false,
      )
      .addOption(
        new Option('--send-with <how>', 'auto: sendmmsg batches through the native addon when it is built; dgram: node:dgram')
          .choices(['auto', 'dgram'])
          .default('auto'),
      )
      .option(
        '--relay-cmd <cmd>',
        'relay to measure instead of this one: [NAME=]COMMAND with {udp} (HOST:PORT) and {tcp} (the destinations) placeholders; repeat to compare',
        (v: string, prev: string[]) => [...prev, v],
        [] as string[],
      )
      .option(
        '--sink-tls',
        'the sinks serve TLS with a throwaway self-signed certificate (made with openssl, removed after): this relay gets tls@ destinations and --tls-ca; a --relay-cmd gets them in {tcp} and the certificate file in {ca}',
        false,
      )
      .option(
        '--sink-relp',
        `the sinks speak RELP (as rsyslog imrelp; each syslog command a message, answered 200 once checked): this relay gets relp@ destinations (no framing) and its runs are labelled relay-relp; a --relay-cmd gets the relp@HOST:PORT addresses in {tcp}. Not with --sink-tls, nor with a --framing other than ${DEFAULTS.framing}`,
        false,
      )
      .option('--json', 'print one JSON object per run instead of a table', false)
      .option('--sweep <rates>', 'run at each of these rates, e.g. 10000,50000,100000', rateList)
      .option('--report <file.html>', 'write a self-contained HTML report (charts per relay over the rates)')
      .addOption(
        new Option('--settle <duration>', 'after sending, wait this long without progress for stragglers')
          .default(2000, '2s')
          .argParser(durationOption('--settle', { min: 100, max: 600_000 })),
      )
      .addHelpText(
        'after',
        `\nExamples:\n  relay bench --rate 50000 --duration 5s --dests 4\n  relay bench --sweep 20000,50000,100000 --report bench.html\n  relay bench --rate 100000 --relay-cmd 'lockless=relay-lockless/bin/relay udp@{udp} {tcp}' --relay-cmd 'this=./bin/relay udp@{udp} {tcp} -q'`,
      )
      .action(async (options: BenchOptions) => {
        await bench(options);
      })
      .addCommand(summarizeCommand())
  );
}

/** Runs `body` with a throwaway self-signed certificate for 127.0.0.1 (or none), deleted afterwards. */
async function withSinkCertificate(wanted: boolean, body: (tls: BenchTls | undefined) => Promise<void>): Promise<void> {
  if (!wanted) return body(undefined);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'relay-bench-tls-'));
  try {
    const { cert, key, certFile } = await selfSigned(dir, 'relay-bench', ['IP:127.0.0.1']);
    await body({ cert, key, caFile: certFile });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** --sink-relp excludes --sink-tls, and a framing (RELP frames each message itself). */
function checkSinkOptions(options: BenchOptions): void {
  if (!options.sinkRelp) return;
  if (options.sinkTls) throw new RelayError('ERR_BAD_OPTION', '--sink-relp and --sink-tls: choose one (the RELP sinks do not serve TLS)');
  if (options.framing !== DEFAULTS.framing) {
    throw new RelayError('ERR_BAD_OPTION', `--sink-relp and --framing ${options.framing}: RELP frames each message itself, it takes no framing`);
  }
}

async function bench(options: BenchOptions): Promise<void> {
  checkSinkOptions(options);
  await withSinkCertificate(options.sinkTls, (tls) => benchWith(options, tls));
}

async function benchWith(options: BenchOptions, tls: BenchTls | undefined): Promise<void> {
  // This relay's TLS and RELP runs get their own labels, so summaries never mix them with TCP runs.
  const ownLabel = options.sinkRelp ? 'relay-relp' : tls ? 'relay-tls' : 'relay';
  const relays: { label: string; command: string | undefined }[] =
    options.relayCmd.length > 0 ? options.relayCmd.map(labelled) : [{ label: ownLabel, command: undefined }];
  const rates = options.sweep ?? [options.rate];
  const pool = new Piscina({ filename: new URL('../bench/sender-task.js', import.meta.url).href, minThreads: options.senders, maxThreads: options.senders });
  const tty = process.stderr.isTTY;
  const results: RunResult[] = [];
  try {
    for (const rate of rates) {
      for (const relay of relays) {
        const count = options.count ?? Math.max(1, Math.round((rate * options.duration) / 1000));
        const started = Date.now();
        const result = await runOnce(
          {
            label: relay.label,
            relayCommand: relay.command,
            rate,
            count,
            sizes: options.sizes ?? [options.size],
            destinations: options.dests,
            framing: options.framing,
            senders: options.senders,
            sendWith: options.sendWith,
            sigtermAfterSend: options.sigtermAfterSend,
            settleMs: options.settle,
            tls,
            relp: options.sinkRelp,
            group: options.group,
          },
          pool,
          tty
            ? (_sent, delivered) =>
                process.stderr.write(`\r${relay.label} @ ${rate}/s: ${((Date.now() - started) / 1000).toFixed(1)} s, delivered ${delivered} of ${count}   `)
            : undefined,
        );
        if (tty) process.stderr.write('\r\x1b[K');
        results.push(result);
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      }
    }
  } finally {
    await pool.destroy();
  }
  if (!options.json) process.stdout.write(`${renderResultsTable(results)}\n`);
  if (options.report) {
    const context = `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.availableParallelism()}, Node ${process.version}\nrelay ${process.argv.slice(2).join(' ')}`;
    await writeFile(options.report, renderHtmlReport(results, context));
    process.stderr.write(`relay bench: wrote ${options.report}\n`);
  }
}
