/**
 * The real rsyslogd with imrelp (Debian's rsyslog and rsyslog-relp, 8.2302) for tests: where it is,
 * skipping (or, under CI=true, failing) a test without it, and starting a private one: its own
 * config, work directory and pid file in a temp dir, imrelp on a free port of 127.0.0.1, no other
 * input (no imuxsock, no imklog), in the foreground. It never touches a system rsyslog.
 *
 * What 8.2302 does with the config below (checked by hand and by test/e2e/relp-rsyslog.test.ts):
 * each message received over RELP is one line of the output file, `%rawmsg%` then LF, holding the
 * payload byte for byte (TAB and bytes >= 0x80 included; an empty payload is an empty line), except
 * that a NUL is written as `#000` whatever the parser settings, and a payload's own LF stays (so it
 * reads as two lines). `main_queue(queue.type="Direct")` and a Direct ruleset queue: the 200 is
 * sent after the action ran. rsyslog's own messages (start, stop) go to another file.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { waitAccepting } from './carbon-relay.js';
import { freePort } from './numbered.js';
import { type Exit, RelayProcess } from './relay-process.js';

/** $RSYSLOGD when set (a path; one that is not there tests the skip), else rsyslogd on PATH or in /usr/sbin, /sbin. */
function findRsyslogd(): string | undefined {
  const override = process.env.RSYSLOGD;
  const dirs = override ? [] : [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const candidate of override ? [override] : dirs.filter((d) => d !== '').map((d) => path.join(d, 'rsyslogd'))) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Whether rsyslogd's module `name` (imrelp.so: Debian's rsyslog-relp; lmnsd_gtls.so: rsyslog-gnutls) is installed. */
function hasModule(name: string): boolean {
  for (const dir of ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog', '/usr/lib64/rsyslog']) {
    try {
      accessSync(path.join(dir, name), constants.R_OK);
      return true;
    } catch {}
  }
  return false;
}

export const RSYSLOGD = findRsyslogd();
/** Why rsyslog tests cannot run here, or undefined when rsyslogd and imrelp are installed. */
export const RSYSLOG_MISSING =
  RSYSLOGD === undefined
    ? 'rsyslogd is not installed (apt-get install rsyslog rsyslog-relp)'
    : hasModule('imrelp.so')
      ? undefined
      : 'rsyslog imrelp is not installed (apt-get install rsyslog-relp)';
/** Why rsyslog cannot send over TLS here (its GnuTLS stream driver), or undefined. */
export const RSYSLOG_GTLS_MISSING =
  RSYSLOGD === undefined
    ? 'rsyslogd is not installed (apt-get install rsyslog rsyslog-gnutls)'
    : hasModule('lmnsd_gtls.so')
      ? undefined
      : 'rsyslog-gnutls is not installed';

/** True when rsyslog's TLS driver is missing: skips the test, or fails it when CI=true. */
export function missingRsyslogTls(t: TestContext): boolean {
  if (RSYSLOG_GTLS_MISSING === undefined) return false;
  if (process.env.CI === 'true') assert.fail(`${RSYSLOG_GTLS_MISSING}, and CI=true requires it`);
  t.skip(RSYSLOG_GTLS_MISSING);
  return true;
}

/** True when the test cannot run (no rsyslogd or no imrelp): skips it, or fails it when CI=true. */
export function missingRsyslog(t: TestContext): boolean {
  if (RSYSLOG_MISSING === undefined) return false;
  if (process.env.CI === 'true') assert.fail(`${RSYSLOG_MISSING}, and CI=true requires it`);
  t.skip(RSYSLOG_MISSING);
  return true;
}

export interface RsyslogOptions {
  /** imrelp's maxDataSize and the global maxMessageSize (default 64 KiB); longer messages are cut (and still answered 200). */
  maxDataBytes?: number;
  /** Listen on this port (a restart on the port a relay sends to), else a free one. */
  port?: number;
  /** Names its files (default rsyslog): a second rsyslogd in the same dir writes its own. */
  name?: string;
}

/** A running private rsyslogd. */
export interface Rsyslog {
  /** imrelp's port on 127.0.0.1. */
  port: number;
  process: RelayProcess;
  /** Where each received message is written, `%rawmsg%` and LF. */
  file: string;
  /** rsyslog's own messages (start, stop, errors). */
  internalFile: string;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** The config of a private rsyslogd: imrelp on 127.0.0.1:port into `file`, everything else into `internalFile`. */
function rsyslogConfig(dir: string, port: number, file: string, internalFile: string, maxDataBytes: number): string {
  return `# written by test/helpers/rsyslog.ts
global(workDirectory="${dir}" maxMessageSize="${maxDataBytes}"
       parser.escapeControlCharactersOnReceive="off" parser.dropTrailingLFOnReception="off")
main_queue(queue.type="Direct")
module(load="imrelp")
template(name="payload" type="string" string="%rawmsg%\\n")
ruleset(name="relp" queue.type="Direct") {
  action(type="omfile" file="${file}" template="payload")
}
input(type="imrelp" address="127.0.0.1" port="${port}" maxDataSize="${maxDataBytes}" ruleset="relp")
*.* action(type="omfile" file="${internalFile}")
`;
}

/** Starts rsyslogd with imrelp on a free port (a few tries, in case another process took the port first); resolves once it accepts. */
export async function startRsyslog(dir: string, options: RsyslogOptions = {}): Promise<Rsyslog> {
  const maxDataBytes = options.maxDataBytes ?? 64 * 1024;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    const base = `${options.name ?? 'rsyslog'}-${attempt}`;
    const file = path.join(dir, `${base}.out`);
    const internalFile = path.join(dir, `${base}.internal`);
    const conf = path.join(dir, `${base}.conf`);
    await writeFile(conf, rsyslogConfig(dir, port, file, internalFile, maxDataBytes));
    const args = ['-n', '-f', conf, '-i', path.join(dir, `${base}.pid`)];
    const rsyslog = new RelayProcess(spawn(RSYSLOGD!, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      await waitAccepting(rsyslog, port, 10_000, 'rsyslogd');
      return { port, process: rsyslog, file, internalFile, stop: (signal = 'SIGTERM') => rsyslog.stop(signal) };
    } catch (error) {
      await rsyslog.stop('SIGKILL');
      if (attempt >= 3) throw error;
    }
  }
}

/**
 * Starts rsyslogd with `config(port)` (a config whose TCP input listens on 127.0.0.1:port, a free
 * port; a few tries, in case another process took it first); resolves once it accepts there.
 */
export async function startRsyslogWith(dir: string, name: string, config: (port: number) => string): Promise<{ port: number; process: RelayProcess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = path.join(dir, `${name}-${attempt}.conf`);
    await writeFile(conf, config(port));
    const rsyslog = new RelayProcess(
      spawn(RSYSLOGD!, ['-n', '-f', conf, '-i', path.join(dir, `${name}-${attempt}.pid`)], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    try {
      await waitAccepting(rsyslog, port, 10_000, 'rsyslogd');
      return { port, process: rsyslog };
    } catch (error) {
      await rsyslog.stop('SIGKILL');
      if (attempt >= 3) throw error;
    }
  }
}

/** The lines of an rsyslog output file (split at LF, the last LF ending the last line), as bytes; none if the file is not there yet. */
export async function readRsyslogFile(file: string): Promise<Buffer[]> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines: Buffer[] = [];
  let start = 0;
  for (let lf = bytes.indexOf(0x0a); lf !== -1; lf = bytes.indexOf(0x0a, start)) {
    lines.push(bytes.subarray(start, lf));
    start = lf + 1;
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  return lines;
}

/** Polls `file` until it holds at least `count` lines; resolves with them, rejects at the deadline. */
export async function waitRsyslogLines(file: string, count: number, timeoutMs = 10_000): Promise<Buffer[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await readRsyslogFile(file);
    if (lines.length >= count) return lines;
    if (Date.now() > deadline) throw new Error(`${file}: ${lines.length} lines within ${timeoutMs} ms, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
