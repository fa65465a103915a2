/**
 * Which socket systemd passed (socket activation, ./socket-activation.ts) a listener takes: the
 * ingest thread asks ActivatedSockets when it opens a listener, at start and at each reload.
 *
 * The rule (README "Running under systemd"):
 * - a listener with `?fdname=NAME` takes the passed socket of its kind named NAME
 *   (FileDescriptorName=); several of that name (one .socket unit with several Listen lines): the
 *   one bound to the listener's address. None: the listener fails to open (ERR_BIND), it does not
 *   bind by itself what the configuration said systemd passes.
 * - any other listener takes the passed socket of its kind bound to its address: the same address
 *   and port (unix@: the same path), or both wildcards (0.0.0.0 and ::) on the same port — systemd's
 *   `ListenDatagram=514` is `[::]:514`, dual-stack. None: it binds its address itself, as without systemd.
 * Kinds: udp@ takes an IP datagram socket, tcp@ and tls@ a listening IP stream socket, unix@ a
 * Unix datagram socket. One listener per passed socket at a time.
 *
 * The socket is used as it is: never closed, never bound again. Its opener gets a duplicate
 * (adoptedFd), which Node or the addon closes when the listener closes; the passed fd stays open,
 * so a reload that removes the listener and adds it back takes the same socket again.
 */
import net from 'node:net';
import { loadNativeSystemd } from '../native/addon.js';
import type { Listener } from '../ingest/listener.js';
import type { ActivatedSocket, ListenerOptions } from '../thread-protocol.js';

export type { ActivatedSocket };

/** A passed socket a listener took: the fd to hand its opener a duplicate of, and its family. */
export interface Taken {
  socket: ActivatedSocket;
  family: 4 | 6;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** The kind of passed socket `listener` can take. */
function kindOf(listener: Pick<ListenerOptions, 'scheme'>): ActivatedSocket['kind'] {
  return listener.scheme === 'tls' ? 'tcp' : listener.scheme;
}

/** Whether `socket` is bound where `listener` (its host resolved to `host`) would bind. */
export function boundAt(socket: ActivatedSocket, listener: Pick<ListenerOptions, 'scheme' | 'host' | 'port'>, host: string): boolean {
  if (socket.kind !== kindOf(listener)) return false;
  if (socket.kind === 'unix') return socket.path === listener.host;
  if (listener.port === 0 || socket.port !== listener.port || socket.host === undefined) return false;
  return socket.host === host || (WILDCARDS.has(socket.host) && WILDCARDS.has(host));
}

/** The passed sockets of one relay, and which listener slot took which. One instance, in the ingest thread. */
export class ActivatedSockets {
  /** fd -> the listener slot that took it. */
  private readonly takenBy = new Map<number, number>();

  constructor(private readonly sockets: readonly ActivatedSocket[]) {}

  /**
   * The passed socket `listener` takes (its host resolved to `host`), now marked taken; undefined
   * when it binds by itself. Throws one line when it names a socket that is not there, or one
   * another listener holds.
   */
  take(listener: ListenerOptions, host: string): Taken | undefined {
    if (this.sockets.length === 0) return undefined;
    const socket = listener.fdname === undefined ? this.byAddress(listener, host) : this.byName(listener, listener.fdname, host);
    if (socket === undefined) return undefined;
    const holder = this.takenBy.get(socket.fd);
    if (holder !== undefined && holder !== listener.index) throw new Error(`the socket systemd passed, ${socket.text}, is already used by another listener`);
    this.takenBy.set(socket.fd, listener.index);
    const family = socket.kind === 'unix' || net.isIPv4(socket.host ?? '') ? 4 : 6;
    return { socket, family };
  }

  /**
   * Opens `listener` (its host resolved to `address`) with `open`: on the passed socket it takes —
   * `open` gets its fd, and its family and, for unix@, its path — or as given. The listener's bound
   * text says which socket it took; closing it (or failing to open) gives the socket back.
   */
  async open(
    listener: ListenerOptions,
    address: { host: string; family: 4 | 6 },
    open: (where: { host: string; family: 4 | 6; fd?: number }) => Promise<Listener>,
  ): Promise<Listener> {
    const taken = this.take(listener, address.host);
    if (taken === undefined) return open(address);
    const { socket, family } = taken;
    let opened: Listener;
    try {
      opened = await open({ host: socket.path ?? address.host, family, fd: socket.fd });
    } catch (error) {
      this.release(taken, listener.index);
      throw error;
    }
    return {
      ...opened,
      bound: { ...opened.bound, activated: { fd: socket.fd, name: socket.name } },
      close: () => opened.close().finally(() => this.release(taken, listener.index)),
    };
  }

  /** Gives back what `listener` took (it closed, or failed to open). */
  release(taken: Taken | undefined, slot: number): void {
    if (taken !== undefined && this.takenBy.get(taken.socket.fd) === slot) this.takenBy.delete(taken.socket.fd);
  }

  private byAddress(listener: ListenerOptions, host: string): ActivatedSocket | undefined {
    return this.sockets.find((s) => boundAt(s, listener, host));
  }

  private byName(listener: ListenerOptions, name: string, host: string): ActivatedSocket {
    const kind = kindOf(listener);
    const named = this.sockets.filter((s) => s.name === name && s.kind === kind);
    if (named.length === 1) return named[0]!;
    const passed = this.sockets.map((s) => s.text).join(', ');
    if (named.length === 0) throw new Error(`systemd passed no ${kind} socket named "${name}" (it passed ${passed})`);
    const at = named.find((s) => boundAt(s, listener, host));
    if (at === undefined) throw new Error(`systemd passed ${named.length} ${kind} sockets named "${name}" and none is bound to ${listener.text}`);
    return at;
  }
}

/**
 * A duplicate of the passed socket `fd` for a server to own: Node closes the fd of a server it
 * adopted when the server closes, and the passed one must stay open (see the header). The main
 * thread checked that the addon is there before passing any socket on.
 */
export function adoptedFd(fd: number): number {
  return loadNativeSystemd()!.fdDuplicate(fd);
}
