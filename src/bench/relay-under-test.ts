/** The relay under test as its own process: started with the bench's addresses, stopped with SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { packageRoot } from '../package-root.js';
import type { RunSpec } from './run-spec.js';

/** This relay's launcher: bin/relay in the package root (it runs the compiled dist/). */
const RELAY_BIN = path.join(packageRoot(), 'bin', 'relay');

/** The sinks' addresses as the relay is given them: relp@ with RELP sinks, tls@ with TLS ones, else tcp@. */
function sinkAddresses(spec: RunSpec, sinkPorts: number[]): string[] {
  const scheme = spec.relp ? 'relp' : spec.tls ? 'tls' : 'tcp';
  return sinkPorts.map((p) => `${scheme}@127.0.0.1:${p}`);
}

/** This relay's listener on `port`: udp@, or tcp@/tls@ taking len32le frames (with the listener certificate). */
function listenerArgs(spec: RunSpec, port: number): string[] {
  if (spec.input === 'udp') return [`udp@127.0.0.1:${port}`];
  const certificate = spec.inputTls ? ['--listen-tls-cert', spec.inputTls.caFile, '--listen-tls-key', spec.inputTls.keyFile] : [];
  return [`${spec.input}@127.0.0.1:${port}?framing=len32le`, ...certificate];
}

/**
 * Starts the relay under test: this relay (bin/relay) listening on `inputPort` as `spec.input`
 * says, or `spec.relayCommand` with its placeholders filled in ({udp} is 127.0.0.1:inputPort).
 */
export function startRelay(spec: RunSpec, inputPort: number, sinkPorts: number[]): ChildProcess {
  const destinations = sinkAddresses(spec, sinkPorts);
  const tlsArgs = spec.tls ? ['--tls-ca', spec.tls.caFile] : [];
  const child =
    spec.relayCommand === undefined
      ? spawn(process.execPath, [RELAY_BIN, ...listenerArgs(spec, inputPort), ...targets(spec, destinations), ...tlsArgs, '--quiet', '--stats-interval', '0'], {
          stdio: ['ignore', 'ignore', 'pipe'],
        })
      : spawn(
          '/bin/sh',
          [
            '-c',
            spec.relayCommand
              .replaceAll('{udp}', `127.0.0.1:${inputPort}`)
              .replaceAll('{tcp}', destinations.join(' '))
              .replaceAll('{ca}', spec.tls?.caFile ?? ''),
          ],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
            detached: true,
          },
        );
  child.stderr!.resume();
  return child;
}

/**
 * This relay's destinations (with `?framing=`, except relp@: RELP frames each message itself),
 * or with `spec.group` one group of them (instances m0, m1…: they share a host).
 */
function targets(spec: RunSpec, destinations: string[]): string[] {
  const framed = spec.relp ? destinations : destinations.map((d) => `${d}?framing=${spec.framing}`);
  if (!spec.group) return framed;
  return ['--group', `name=bench mode=${spec.group} members=${framed.map((d, i) => `${d}#m${i}`).join(',')}`];
}

/** SIGTERM (SIGKILL after `graceMs`); resolves with the exit code, null when a signal ended it. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  // A --relay-cmd runs in its own process group: end the shell and what it started.
  const kill = (signal: NodeJS.Signals): void => {
    try {
      if (child.spawnargs[0] === '/bin/sh') process.kill(-child.pid!, signal);
      else child.kill(signal);
    } catch {
      // already gone
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), graceMs);
  const [code] = (await exited) as [number | null];
  clearTimeout(timer);
  return code;
}
