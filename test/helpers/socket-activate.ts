/**
 * bin/relay started the way systemd's socket activation starts it, by systemd-socket-activate(1)
 * (Debian's `systemd` package; .ci/run installs it): it binds the sockets, waits for the first
 * datagram or connection, then execs the relay (same pid) with LISTEN_FDS, LISTEN_PID and
 * LISTEN_FDNAMES. It passes on only TERM, PATH, USER, HOME, LISTEN_* and what `-E` names, so
 * RELAY_NATIVE_UDP (npm test's second pass) and NOTIFY_SOCKET are passed with -E.
 */
import type { TestContext } from 'node:test';
import { spawn } from 'node:child_process';
import { findExecutable, missingServer } from './haproxy.js';
import { freePort, freeUdpPort } from './numbered.js';
import { RELAY_BIN, RelayProcess } from './relay-process.js';

/** True when systemd-socket-activate is missing: skips the test, or fails it when CI=true. */
export function missingSocketActivate(t: TestContext): boolean {
  return missingServer(t, 'systemd-socket-activate', 'SYSTEMD_SOCKET_ACTIVATE', 'apt-get install systemd');
}

export interface Activation {
  /** Datagram sockets (--datagram) instead of stream ones. */
  datagram: boolean;
  /** How many sockets to bind, each on a free port of 127.0.0.1. */
  sockets: number;
  /** --fdname=A:B… */
  fdnames?: string[];
  /** Variables passed to the relay (-E), beside RELAY_NATIVE_UDP when this process has it. */
  env?: Record<string, string>;
  /** The relay's arguments for the ports systemd-socket-activate bound. */
  args: (ports: number[]) => string[];
}

/**
 * Starts `systemd-socket-activate … bin/relay ARGS` and resolves once every socket is bound (the
 * relay starts at the first datagram or connection). A few tries, in case another process took a
 * free port first.
 */
export async function socketActivate(a: Activation): Promise<{ process: RelayProcess; ports: number[] }> {
  const binary = findExecutable('systemd-socket-activate', 'SYSTEMD_SOCKET_ACTIVATE')!;
  const env = { ...a.env, ...(process.env.RELAY_NATIVE_UDP === undefined ? {} : { RELAY_NATIVE_UDP: process.env.RELAY_NATIVE_UDP }) };
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < a.sockets; i++) ports.push(a.datagram ? await freeUdpPort() : await freePort());
    const args = [
      ...(a.datagram ? ['--datagram'] : []),
      ...ports.flatMap((port) => ['-l', `127.0.0.1:${port}`]),
      ...(a.fdnames ? [`--fdname=${a.fdnames.join(':')}`] : []),
      ...Object.entries(env).flatMap(([name, value]) => ['-E', `${name}=${value}`]),
      process.execPath,
      RELAY_BIN,
      ...a.args(ports),
    ];
    const activator = new RelayProcess(spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      const last = `Listening on 127.0.0.1:${ports.at(-1)} as ${2 + ports.length}.`;
      await activator.waitForStderr(new RegExp(last.replace(/\./g, '\\.')));
      return { process: activator, ports };
    } catch (error) {
      await activator.stop('SIGKILL');
      if (attempt >= 3 || !/Address already in use/.test(activator.stderr)) throw error;
    }
  }
}
