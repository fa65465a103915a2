/**
 * Socket activation, the main thread's side: the sockets systemd (or systemd-socket-activate)
 * passed in LISTEN_FDS, as sd_listen_fds(3) reads them — fds 3 .. 3+LISTEN_FDS-1, for this process
 * only when LISTEN_PID is its pid, named by LISTEN_FDNAMES (FileDescriptorName=) — each inspected
 * with the addon (socketInfo: type, family, bound address) and handed to the ingest thread, which
 * gives them to listeners (./activated-socket.ts has the matching rule).
 *
 * Without the addon the relay cannot use them: Node can adopt a socket (server.listen({ fd }),
 * dgram's bind({ fd })) but cannot tell what a bare fd is, nor duplicate it, so it could neither
 * match a socket to its listener nor keep it across a reload that closes the listener. A relay
 * started with sockets and without the addon refuses to start, in one line.
 */
import { RelayError } from '../errors.js';
import { formatHostPort } from '../config/address.js';
import { loadNativeSystemd, nativeSystemdUnavailableReason, type NativeSocketInfo } from '../native/addon.js';
import type { BoundListener } from '../thread-protocol.js';
import type { ActivatedSocket } from './activated-socket.js';

/** sd_listen_fds(3): the first passed fd. */
const SD_LISTEN_FDS_START = 3;

/** The environment variables of socket activation. */
const LISTEN_VARIABLES = ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'] as const;

/** What LISTEN_* say, before looking at the fds. */
export interface ListenFds {
  fds: number[];
  names: (string | undefined)[];
}

/**
 * The fds and names LISTEN_* pass to process `pid`; undefined when there are none for it (no
 * LISTEN_FDS, or LISTEN_PID another process's: variables inherited from a parent, as sd_listen_fds
 * ignores them). Throws RelayError('ERR_BAD_OPTION') for values that do not parse.
 */
export function parseListenFds(env: NodeJS.ProcessEnv, pid: number): ListenFds | undefined {
  const count = env.LISTEN_FDS;
  if (count === undefined || count === '') return undefined;
  if (env.LISTEN_PID !== String(pid)) return undefined;
  if (!/^[0-9]{1,6}$/.test(count)) throw new RelayError('ERR_BAD_OPTION', `LISTEN_FDS="${count}" is not a number of file descriptors`);
  const fds = Array.from({ length: Number(count) }, (_, i) => SD_LISTEN_FDS_START + i);
  // Names are optional; a count that differs from LISTEN_FDS makes them unusable, as in sd_listen_fds_with_names.
  const given = env.LISTEN_FDNAMES === undefined ? [] : env.LISTEN_FDNAMES.split(':');
  const names = fds.map((_, i) => (given.length === fds.length && given[i] !== '' ? given[i] : undefined));
  return { fds, names };
}

/** Which listener a socket can serve: udp@ an IP datagram socket, tcp@/tls@ a listening IP stream socket, unix@ a Unix datagram socket. */
function kindOf(info: NativeSocketInfo): ActivatedSocket['kind'] {
  const ip = info.family === 'ipv4' || info.family === 'ipv6';
  if (ip && info.type === 'dgram') return 'udp';
  if (ip && info.type === 'stream' && info.listening) return 'tcp';
  if (info.family === 'unix' && info.type === 'dgram') return 'unix';
  return 'other';
}

/** What a passed socket can serve, and its text for logs, from what socketInfo found. */
export function describeSocket(fd: number, name: string | undefined, info: NativeSocketInfo): ActivatedSocket {
  const ip = info.family === 'ipv4' || info.family === 'ipv6';
  const kind = kindOf(info);
  const where = ip ? formatHostPort(info.address ?? '?', info.port ?? 0) : info.family === 'unix' ? info.path || '(unnamed)' : '(unknown family)';
  const what = kind === 'other' ? `${info.family} ${info.type}${info.type === 'stream' && !info.listening ? ' (not listening)' : ''}` : kind;
  const socket: ActivatedSocket = { fd, name, kind, text: `${what} ${where} (fd ${fd}${name === undefined ? '' : `, "${name}"`})` };
  if (ip) {
    socket.host = info.address;
    socket.port = info.port;
  } else if (info.family === 'unix') {
    socket.path = info.path;
  }
  return socket;
}

/**
 * The sockets systemd passed this process, inspected; [] when it passed none. Removes LISTEN_* from
 * `env` (process.env: worker threads and children must not take them for theirs). Throws
 * RelayError('ERR_BAD_OPTION') when it passed some and the addon is not available, or one is not a socket.
 */
export function takeActivatedSockets(env: NodeJS.ProcessEnv, pid: number): ActivatedSocket[] {
  const passed = parseListenFds(env, pid);
  for (const name of LISTEN_VARIABLES) delete env[name];
  if (passed === undefined || passed.fds.length === 0) return [];
  const native = loadNativeSystemd();
  if (native === undefined) {
    const how = process.env.RELAY_NATIVE_UDP === '0' ? 'unset RELAY_NATIVE_UDP' : 'build it with "npm run build:native"';
    throw new RelayError(
      'ERR_BAD_OPTION',
      `systemd passed ${passed.fds.length} socket(s) (LISTEN_FDS), and using them needs the native addon, which is not available: ${nativeSystemdUnavailableReason()}; ${how}, or start the relay without its .socket unit`,
    );
  }
  return passed.fds.map((fd, i) => {
    try {
      return describeSocket(fd, passed.names[i], native.socketInfo(fd));
    } catch (error) {
      throw new RelayError('ERR_BAD_OPTION', `systemd passed fd ${fd} (LISTEN_FDS), which is not a socket: ${(error as Error).message}`, { cause: error });
    }
  });
}

/** What a listening line adds for a listener on a passed socket: ` on the socket systemd passed (fd 3, "relay.socket")`; '' for one it bound. */
export function passedSocketNote(bound: BoundListener): string {
  const a = bound.activated;
  return a === undefined ? '' : ` on the socket systemd passed (fd ${a.fd}${a.name === undefined ? '' : `, "${a.name}"`})`;
}

/** The passed sockets no bound listener took, for a warning each. */
export function unusedSockets(sockets: readonly ActivatedSocket[], listening: readonly BoundListener[]): ActivatedSocket[] {
  const used = new Set(listening.flatMap((l) => (l.activated ? [l.activated.fd] : [])));
  return sockets.filter((s) => !used.has(s.fd));
}
