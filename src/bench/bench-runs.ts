/**
 * What `relay bench` does once its options are parsed (src/cli/bench.ts defines them): for each
 * offered rate and each relay, one run (./run-one.ts) with one pool of sender threads, printed as a
 * table or JSON lines, and optionally an HTML report. Imported only when the bench runs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import { DEFAULTS } from '../config/config.js';
import { RelayError } from '../errors.js';
import type { FramingName } from '../framing/index.js';
import type { GroupMode } from '../group/group-spec.js';
import { renderHtmlReport } from './html-report.js';
import { renderResultsTable } from './results-table.js';
import { runOnce, type RunResult } from './run-one.js';
import type { BenchInput, BenchTls } from './run-spec.js';
import { selfSigned } from './throwaway-certs.js';

export interface BenchOptions {
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
  input: BenchInput;
}

/** `NAME=COMMAND` names a relay in reports; a bare command is its own name. */
function labelled(value: string): { label: string; command: string } {
  const match = /^([A-Za-z][\w.-]*)=(.+)$/.exec(value);
  return match ? { label: match[1]!, command: match[2]! } : { label: value, command: value };
}

/** Runs `body` with a throwaway self-signed certificate for 127.0.0.1 (or none), deleted afterwards. */
async function withSinkCertificate(wanted: boolean, body: (tls: BenchTls | undefined) => Promise<void>): Promise<void> {
  if (!wanted) return body(undefined);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'relay-bench-tls-'));
  try {
    const { cert, key, certFile, keyFile } = await selfSigned(dir, 'relay-bench', ['IP:127.0.0.1']);
    await body({ cert, key, caFile: certFile, keyFile });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** --sink-relp excludes --sink-tls, and a framing (RELP frames each message itself); --input tcp/tls is for this relay. */
function checkSinkOptions(options: BenchOptions): void {
  if (options.input !== 'udp' && options.relayCmd.length > 0) {
    throw new RelayError(
      'ERR_BAD_OPTION',
      `--input ${options.input} and --relay-cmd: only this relay is measured with TCP or TLS input (a --relay-cmd gets a UDP address)`,
    );
  }
  if (!options.sinkRelp) return;
  if (options.sinkTls) throw new RelayError('ERR_BAD_OPTION', '--sink-relp and --sink-tls: choose one (the RELP sinks do not serve TLS)');
  if (options.framing !== DEFAULTS.framing) {
    throw new RelayError('ERR_BAD_OPTION', `--sink-relp and --framing ${options.framing}: RELP frames each message itself, it takes no framing`);
  }
}

export async function bench(options: BenchOptions): Promise<void> {
  checkSinkOptions(options);
  // One throwaway certificate serves TLS sinks and a TLS listener alike (both are 127.0.0.1).
  await withSinkCertificate(options.sinkTls || options.input === 'tls', (certificate) =>
    benchWith(options, options.sinkTls ? certificate : undefined, options.input === 'tls' ? certificate : undefined),
  );
}

async function benchWith(options: BenchOptions, tls: BenchTls | undefined, inputTls: BenchTls | undefined): Promise<void> {
  // This relay's TLS, RELP and stream-input runs get their own labels, so summaries never mix them with plain runs.
  const ownLabel = `${options.sinkRelp ? 'relay-relp' : tls ? 'relay-tls' : 'relay'}${options.input === 'udp' ? '' : `-in-${options.input}`}`;
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
            input: options.input,
            inputTls,
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
