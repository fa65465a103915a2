import { writeFile } from 'node:fs/promises';
import { type GroupMode, isHashMode } from '../../src/group/group-spec.js';
import type { DestinationSnapshot, Snapshot } from '../../src/metrics/snapshot-types.js';
import { type RelayProcess, spawnRelay } from '../helpers/relay-process.js';
import { metricsBase, stats } from '../helpers/relay-stats.js';
import type { InputState } from './schedule.js';

/** A removed destination's last line (src/main/relay.ts retiredLine): its whole run. */
export interface Retired {
  name: string;
  sent: number;
  dropped: Record<string, number>;
  spilled: number;
  /** A group member's messages another member took over (its successor after a reload, or the members up). */
  handedOver: number;
}

const RETIRED =
  /^(\S+): removed(?:; \d+ message\(s\) undelivered \(not spilled\)|, nothing left undelivered); its run: sent (\d+), dropped \d+(?: \(([^)]*)\))?, spilled (\d+)(?:, handed over (\d+))?$/;

interface LogLine {
  msg: string;
  received?: number;
  destinations?: DestinationSnapshot[];
}

/** The JSON log lines the relay wrote so far. */
function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

export class RelayRun {
  private constructor(
    readonly process: RelayProcess,
    readonly listener: { host: string; port: number },
    private readonly base: string,
  ) {}

  /** Starts `bin/relay --config file` and waits for its listener and metrics lines. */
  static async start(configFile: string): Promise<RelayRun> {
    const relay = spawnRelay(['--config', configFile]);
    try {
      const port = Number((await relay.waitForStderr(/listening on udp@127\.0\.0\.1:(\d+)/))[1]);
      return new RelayRun(relay, { host: '127.0.0.1', port }, await metricsBase(relay));
    } catch (error) {
      await relay.stop('SIGKILL');
      throw error;
    }
  }

  get alive(): boolean {
    return this.process.child.exitCode === null && this.process.child.signalCode === null;
  }

  stats(): Promise<Snapshot> {
    return stats(this.base);
  }

  /** Messages ingest put in the ring so far. */
  async ingested(): Promise<number> {
    return (await this.stats()).listeners.reduce((sum, l) => sum + l.receivedMessages, 0);
  }

  /**
   * Writes `toml` to `file`, sends SIGHUP and waits for the reload's result line; returns how many
   * messages ingest had taken just before and just after (where the changed destinations start and stop).
   */
  async reload(file: string, toml: string): Promise<{ before: number; after: number }> {
    await writeFile(file, toml);
    const done = (): number => logLines(this.process.stderr).filter((l) => /^reloaded |^reload failed/.test(l.msg)).length;
    const results = done();
    const before = await this.ingested();
    this.process.child.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (done() === results) {
      if (!this.alive) throw new Error('the relay exited during a reload');
      if (Date.now() > deadline) throw new Error('no reload result line within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const failed = logLines(this.process.stderr).filter((l) => l.msg.startsWith('reload failed'));
    if (failed.length > 0) throw new Error(`the relay refused a reload: ${failed.at(-1)!.msg}`);
    return { before, after: await this.ingested() };
  }

  /** The retired tally lines so far, in order. */
  retired(): Retired[] {
    const out: Retired[] = [];
    for (const { msg } of logLines(this.process.stderr)) {
      const m = RETIRED.exec(msg);
      if (!m) continue;
      const dropped: Record<string, number> = {};
      for (const part of m[3]?.split(', ') ?? []) {
        const [reason, n] = part.split(' ');
        dropped[reason!] = Number(n);
      }
      out.push({ name: m[1]!, sent: Number(m[2]), dropped, spilled: Number(m[4]), handedOver: Number(m[5] ?? 0) });
    }
    return out;
  }

  /** Waits until `count` retired lines were logged (a removed destination finishes within its drain timeout). */
  async waitRetired(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.retired().length < count) {
      if (!this.alive) throw new Error('the relay exited while destinations were retiring');
      if (Date.now() > deadline) throw new Error(`${this.retired().length} retired lines within ${timeoutMs} ms, expected ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** SIGTERM, then the exit: it must exit 0; returns what the `stopped` line says (messages ingested, every running destination's counters). */
  async stop(): Promise<{ received: number; destinations: DestinationSnapshot[] }> {
    if (!this.alive) throw new Error(`the relay exited before it was stopped (${this.exitText()})`);
    const exit = await this.process.stop('SIGTERM', 20_000);
    if (exit.code !== 0) throw new Error(`the relay exited ${exit.code ?? exit.signal} on SIGTERM (${this.exitText()})`);
    const stopped = logLines(exit.stderr).find((l) => l.msg.startsWith('stopped:'));
    if (!stopped?.destinations) throw new Error('no stopped line with the final counters');
    return { received: stopped.received!, destinations: stopped.destinations };
  }

  /** The relay's last log lines (for a failure). */
  exitText(): string {
    return this.process.stderr.trim().split('\n').slice(-4).join(' | ');
  }

  async kill(): Promise<void> {
    await this.process.stop('SIGKILL');
  }
}

/** The relay.toml of a chaos run: the listener, small timeouts, JSON logs, metrics, and `destinations` / `group` tables. */
export function chaosToml(
  settings: { listen: string; bufferBytes: number; spillDir: string | undefined; inputs: InputState },
  destinations: string[],
  group: { mode: GroupMode; dynamic: boolean; members: string[] } | undefined,
): string {
  const lines = [
    `listen = ["${settings.listen}"]`,
    `buffer = "${settings.bufferBytes}B"`,
    'max-message = "1024B"',
    'recv-buffer = "4MiB"',
    'drain-timeout = "2s"',
    'connect-timeout = "1s"',
    'stall-timeout = "2s"',
    'reconnect-min = "50ms"',
    'reconnect-max = "500ms"',
    'stats-interval = "0"',
    'log-format = "json"',
    'metrics = "127.0.0.1:0"',
    ...(settings.spillDir ? [`spill-dir = ${JSON.stringify(settings.spillDir)}`] : []),
    // A burst of 3,000 from the one source stays inside any burst drawn here (at least 100,000).
    `rate-limit = ${settings.inputs.rateLimit}`,
    `max-connections = ${settings.inputs.maxConnections}`,
    `idle-timeout = "${settings.inputs.idleTimeoutMs}ms"`,
    `deny = ${JSON.stringify(settings.inputs.deny)}`,
    '',
    ...destinations.flatMap((d) => ['[[destination]]', `address = "${d}"`, '']),
  ];
  if (group) {
    lines.push(
      '[[group]]',
      'name = "g"',
      `mode = "${group.mode}"`,
      ...(isHashMode(group.mode) ? [`dynamic = ${group.dynamic}`] : []),
      `members = ${JSON.stringify(group.members)}`,
      '',
    );
  }
  return lines.join('\n');
}
