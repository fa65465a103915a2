/**
 * The native addon (native/*.c; prebuilt in the package, or built in a clone by native/build.mjs,
 * at the place src/native/prebuild.ts names), its loader and the types of its UDP side: batched receive with recvmmsg on the calling thread's
 * own event loop, one JS call per batch instead of one per datagram (src/ingest/), on UDP and on
 * Unix datagram sockets (which node:dgram does not have), and batched sends with sendmmsg (src/bench/). Its background thread (native/relay_reclaimer.c) is typed
 * where it is started, src/background/background.ts; its systemd side (sd_notify, sockets systemd
 * passes) is NativeSystemd, used by src/service/. Here, not in one of its users' folders,
 * because three threads' code loads it.
 *
 * Optional: loadNativeUdp() returns undefined (never throws) when the addon was not built or
 * does not load, and nativeUdpUnavailableReason() says why; the caller then uses node:dgram.
 * RELAY_NATIVE_UDP=0 forces that fallback.
 *
 * Works in any thread (worker_threads included): sockets belong to the thread that opened them,
 * and a thread that ends closes its sockets.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getSystemErrorName } from 'node:util';
import { findPackageRoot } from '../package-root.js';
import { platformTag, prebuildFile, runningLibc } from './prebuild.js';

/** Int32 slots per datagram in the meta array. */
export const META_FIELDS = 8;
/** Meta slot i*META_FIELDS + ...: */
export const META_LENGTH = 0;
export const META_FLAGS = 1;
export const META_FAMILY = 2;
export const META_PORT = 3;
/** addr0..addr3: the sender address as raw bytes (IPv4: 4 bytes in addr0, IPv6: 16 bytes). */
export const META_ADDR = 4;
/** META_FLAGS bit: the datagram was longer than maxDatagramBytes (META_LENGTH is its real length). */
export const FLAG_TRUNCATED = 1;
/** Datagrams per batch used when not given. */
export const DEFAULT_BATCH_SIZE = 64;

/**
 * The meta layout as this code reads it. native/relay_udp.c defines the same constants and
 * exports them as `layout`: an addon whose values differ is refused on load (addonMismatch).
 */
const LAYOUT = { META_FIELDS, META_LENGTH, META_FLAGS, META_FAMILY, META_PORT, META_ADDR, FLAG_TRUNCATED } as const;

/** The addon's `layout` export: every meta constant by name. */
export type NativeLayout = { readonly [name in keyof typeof LAYOUT]: number };

/** An opaque socket handle of the addon (a JS external). */
export type NativeHandle = object & { readonly __relayUdpHandle: true };

export interface NativeUdpAddress {
  family: 4 | 6;
  address: string;
  port: number;
}

/** What the addon exports. Its functions throw Errors with `code` ('EADDRINUSE'...) and `syscall`. */
export interface NativeUdp {
  readonly META_FIELDS: number;
  /** The meta constants as the C code has them (checked against this file's on load). */
  readonly layout: NativeLayout;
  /** Most datagrams one recvmmsg call reads (more slots than this are not used). */
  readonly MAX_BATCH: number;
  /** Batches (onBatch calls) per readable event at most, so one busy socket cannot starve the loop. */
  readonly MAX_BATCHES_PER_EVENT: number;
  /**
   * Binds a UDP socket (host: numeric address; IPv6 sockets keep the kernel's IPV6_V6ONLY
   * default) and starts receiving. Datagram i of a batch lands in batchBuffer at
   * i*maxDatagramBytes, its [length, flags, family, port, addr0..addr3] in meta at i*META_FIELDS.
   * onBatch(count) is called once per batch; a negative count is a receive error (-errno).
   */
  udpOpen(
    family: 4 | 6,
    host: string,
    port: number,
    recvBufferBytes: number,
    batchBuffer: ArrayBuffer | Uint8Array,
    meta: Int32Array,
    maxDatagramBytes: number,
    onBatch: (count: number) => void,
  ): NativeHandle;
  /**
   * Binds a Unix datagram socket at `path` (absolute) and receives on it as udpOpen does (the
   * sender's family, port and address in meta are 0). A stale socket file at the path (nobody bound
   * to it) is replaced; a bound one throws EADDRINUSE, anything else there ENOTSOCK (left alone).
   */
  unixOpen(
    path: string,
    recvBufferBytes: number,
    batchBuffer: ArrayBuffer | Uint8Array,
    meta: Int32Array,
    maxDatagramBytes: number,
    onBatch: (count: number) => void,
  ): NativeHandle;
  /** The uid of a user name (every NSS source), or null when there is none. */
  unixUserId(name: string): number | null;
  /** The gid of a group name, or null when there is none. */
  unixGroupId(name: string): number | null;
  /** Stops receiving and closes the socket (the port is free when this returns); idempotent. */
  udpClose(handle: NativeHandle): void;
  /** Stops watching a receiver's socket: datagrams wait in the kernel's queue (no-op when closing). */
  udpPause(handle: NativeHandle): void;
  /** Watches it again; what queued meanwhile is reported at once. */
  udpResume(handle: NativeHandle): void;
  /** getsockname of a receiver or a sender. */
  udpAddress(handle: NativeHandle): NativeUdpAddress;
  /** SO_RCVBUF as the kernel reports it (Linux: twice what it grants). */
  udpRecvBufferSize(handle: NativeHandle): number;
  /** A UDP socket connected to host:port, on its own ephemeral source port. */
  udpSenderOpen(family: 4 | 6, host: string, port: number): NativeHandle;
  /**
   * Sends datagrams 0..count-1, lengths[i] bytes each, packed back to back in buffer. Returns how
   * many were sent: fewer when the socket buffer is full or the peer refuses (ICMP); other errors throw.
   */
  udpSendBatch(handle: NativeHandle, buffer: Uint8Array, lengths: Int32Array, count: number): number;
  /** Idempotent. */
  udpSenderClose(handle: NativeHandle): void;
}

/** What socketInfo reports of a file descriptor: a socket's type, family and where it is bound. */
export interface NativeSocketInfo {
  type: 'dgram' | 'stream' | 'seqpacket' | 'other';
  family: 'ipv4' | 'ipv6' | 'unix' | 'other';
  /** IP: the bound address and port. */
  address?: string;
  port?: number;
  /** Unix: the bound path, '@name' for an abstract one, '' when unnamed. */
  path?: string;
  /** A stream socket that listen() was called on. */
  listening: boolean;
}

/**
 * The addon's systemd functions (native/relay_notify.c): optional, so that a build older than them
 * still loads for everything else; loadNativeSystemd() returns the addon only when it has them.
 */
export interface NativeSystemd {
  /** One datagram to $NOTIFY_SOCKET (an absolute path, or '@name' for an abstract one); throws the errno (EAGAIN when its queue is full). */
  notifySend(socket: string, message: string): void;
  /** getsockopt(SO_TYPE, SO_ACCEPTCONN) and getsockname of `fd`; throws ENOTSOCK, EBADF. */
  socketInfo(fd: number): NativeSocketInfo;
  /** A close-on-exec duplicate of `fd`, owned by the caller. */
  fdDuplicate(fd: number): number;
  /** Receives on a duplicate of the bound datagram socket `fd` (UDP or Unix) as udpOpen does; the handle closes the duplicate only. */
  udpAdopt(
    fd: number,
    recvBufferBytes: number,
    batchBuffer: ArrayBuffer | Uint8Array,
    meta: Int32Array,
    maxDatagramBytes: number,
    onBatch: (count: number) => void,
  ): NativeHandle;
}

interface LoadResult {
  native: NativeUdp | undefined;
  reason: string | undefined;
}

let loaded: LoadResult | undefined;

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

/**
 * Why a loaded addon cannot be used by this code: udpOpen or unixOpen missing (a build older than
 * unix@ listeners), no `layout` export (a build older than the check), or a meta constant whose
 * value differs from this file's. Undefined when it can be used.
 */
export function addonMismatch(addon: unknown): string | undefined {
  const candidate = addon as Partial<NativeUdp> | undefined;
  if (typeof candidate?.udpOpen !== 'function') return 'it exports no udpOpen function';
  if (typeof candidate.unixOpen !== 'function') return 'it exports no unixOpen function';
  if (typeof candidate.udpPause !== 'function') return 'it exports no udpPause function (a build older than --max-delay)';
  const layout: Partial<Record<string, unknown>> | undefined = candidate.layout;
  if (typeof layout !== 'object' || layout === null) return 'it exports no meta layout';
  const differences = Object.entries(LAYOUT)
    .filter(([name, value]) => layout[name] !== value)
    .map(([name, value]) => `${name} is ${String(layout[name])} in the addon, ${value} here`);
  return differences.length === 0 ? undefined : `its meta layout differs: ${differences.join(', ')}`;
}

function load(): LoadResult {
  if (process.platform !== 'linux') {
    return { native: undefined, reason: `the native UDP addon is Linux only (this is ${process.platform})` };
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = findPackageRoot(here);
  if (root === undefined) return { native: undefined, reason: `no package.json above ${here}` };
  const file = prebuildFile(root);
  if (!existsSync(file)) {
    const libc = runningLibc();
    return { native: undefined, reason: `no native addon for ${platformTag()}${libc ? ` (${libc})` : ''} at ${file}` };
  }
  let native: NativeUdp;
  try {
    native = createRequire(import.meta.url)(file) as NativeUdp;
  } catch (error) {
    return { native: undefined, reason: `cannot load ${file}: ${firstLine(error)}` };
  }
  const mismatch = addonMismatch(native);
  if (mismatch !== undefined) {
    return { native: undefined, reason: `${file} is not a compatible build: ${mismatch}; rebuild it with npm run build:native` };
  }
  return { native, reason: undefined };
}

/** The addon, or undefined when it is disabled, not built or not loadable (see nativeUdpUnavailableReason). Never throws. */
export function loadNativeUdp(): NativeUdp | undefined {
  if (process.env.RELAY_NATIVE_UDP === '0') return undefined;
  loaded ??= load();
  return loaded.native;
}

/** The addon with its systemd functions, or undefined (not available, or a build older than them: see nativeSystemdUnavailableReason). */
export function loadNativeSystemd(): (NativeUdp & NativeSystemd) | undefined {
  const addon = loadNativeUdp() as (NativeUdp & Partial<NativeSystemd>) | undefined;
  return typeof addon?.notifySend === 'function' && typeof addon.udpAdopt === 'function' ? (addon as NativeUdp & NativeSystemd) : undefined;
}

/** Why loadNativeSystemd() returns undefined; undefined when it returns the addon. */
export function nativeSystemdUnavailableReason(): string | undefined {
  if (loadNativeSystemd() !== undefined) return undefined;
  return nativeUdpUnavailableReason() ?? 'the addon is a build older than its systemd functions (rebuild it with npm run build:native)';
}

/** Why loadNativeUdp() returns undefined; undefined when it returns the addon. */
export function nativeUdpUnavailableReason(): string | undefined {
  if (process.env.RELAY_NATIVE_UDP === '0') return 'disabled by RELAY_NATIVE_UDP=0';
  loaded ??= load();
  return loaded.reason;
}

/**
 * How to get the addon, said after the reason it is not there: in a clone (native/build.mjs is
 * there), build it; in an installed package, which ships prebuilt addons only, from a clone.
 */
export function addonBuildHint(): string {
  const root = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  if (root !== undefined && existsSync(path.join(root, 'native', 'build.mjs'))) {
    return 'build it with "npm run build:native" (needs Linux, python3, make and a C compiler)';
  }
  return 'this package carries prebuilt addons for linux-x64 (glibc and musl) only; for another platform build one in a clone of the source (git clone, then npm install)';
}

/** An Error like node's own system errors: `${syscall}: ${code}`, with code, errno and syscall. */
export function systemError(syscall: string, errno: number): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(errno);
  } catch {
    code = `errno ${-errno}`;
  }
  const error: NodeJS.ErrnoException = new Error(`${syscall}: ${code}`);
  error.code = code;
  error.errno = errno;
  error.syscall = syscall;
  return error;
}
