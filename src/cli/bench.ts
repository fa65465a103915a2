/**
 * `relay bench`: offers paced UDP load to this relay (or any relay given by --relay-cmd), verifies
 * what every TCP (or, with --sink-tls, TLS; with --sink-relp, RELP) sink receives, and reports
 * loss, latency and the relay's CPU and memory.
 * `relay bench summarize`: medians of repeated `relay bench --json` runs.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFile } from 'node:fs/promises';
import { mulberry32, randomInt } from '../prng.js';
import { DEFAULTS } from '../config/config.js';
import { MIN_PAYLOAD_BYTES } from '../bench/payload.js';
import type { BenchOptions } from '../bench/bench-runs.js';
import { durationOption, framingOption } from './parsers.js';
import { GROUP_MODES } from '../group/group-spec.js';

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

/** `relay bench summarize`: the medians of repeated runs, as Markdown tables and optionally the HTML report. */
function summarizeCommand(): Command {
  return new Command('summarize')
    .description('medians of repeated `relay bench --json` runs, per relay and offered rate: a Markdown table per file')
    .argument('<runs.jsonl...>', 'files of `relay bench --json` output (one run per line)')
    .option('--html <file.html>', 'also write the medians as a self-contained HTML report (one line per relay and destination count)')
    .addHelpText('after', '\nExample:\n  relay bench summarize --html bench/report.html bench/runs-100B-1dest.jsonl bench/runs-100B-4dest.jsonl')
    .action(async (files: string[], options: { html?: string }) => {
      // Loaded when used: the relay's own start (the default command) never pays for the bench's modules.
      const { renderSummaryHtml, summarize } = await import('../bench/summarize.js');
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
      .addOption(
        new Option(
          '--input <how>',
          'how the load reaches this relay: udp datagrams, or len32le frames on one tcp (or tls, a throwaway certificate) connection per sender; its runs are labelled relay-in-tcp, relay-in-tls',
        )
          .choices(['udp', 'tcp', 'tls'])
          .default('udp'),
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
        // Loaded when used (piscina, the sinks, the histograms): the relay's own start never pays for them.
        const { bench } = await import('../bench/bench-runs.js');
        await bench(options);
      })
      .addCommand(summarizeCommand())
  );
}
