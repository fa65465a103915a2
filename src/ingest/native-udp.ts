/**
 * The native UDP addon (native/relay_udp.c, built by the install script into
 * build/Release/relay_udp.node): batched receive with recvmmsg on the calling thread's own event
 * loop, one JS call per batch instead of one per datagram, and batched sends with sendmmsg.
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
import { formatHostPort } from '../config/address.js';
import { findPackageRoot } from '../package-root.js';

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
  /** Stops receiving and closes the socket (the port is free when this returns); idempotent. */
  udpClose(handle: NativeHandle): void;
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

const ADDON_PATH = ['build', 'Release', 'relay_udp.node'];

interface LoadResult {
  native: NativeUdp | undefined;
  reason: string | undefined;
}

let loaded: LoadResult | undefined;

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

function load(): LoadResult {
  if (process.platform !== 'linux') {
    return { native: undefined, reason: `the native UDP addon is Linux only (this is ${process.platform})` };
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = findPackageRoot(here);
  if (root === undefined) return { native: undefined, reason: `no package.json above ${here}` };
  const file = path.join(root, ...ADDON_PATH);
  if (!existsSync(file)) {
    return { native: undefined, reason: `${file} not built (run: npm run build:native)` };
  }
  let native: NativeUdp;
  try {
    native = createRequire(import.meta.url)(file) as NativeUdp;
  } catch (error) {
    return { native: undefined, reason: `cannot load ${file}: ${firstLine(error)}` };
  }
  if (typeof native.udpOpen !== 'function' || native.META_FIELDS !== META_FIELDS) {
    return { native: undefined, reason: `${file} is not a compatible build (META_FIELDS ${String(native.META_FIELDS)})` };
  }
  return { native, reason: undefined };
}

/** The addon, or undefined when it is disabled, not built or not loadable (see nativeUdpUnavailableReason). Never throws. */
export function loadNativeUdp(): NativeUdp | undefined {
  if (process.env.RELAY_NATIVE_UDP === '0') return undefined;
  loaded ??= load();
  return loaded.native;
}

/** Why loadNativeUdp() returns undefined; undefined when it returns the addon. */
export function nativeUdpUnavailableReason(): string | undefined {
  if (process.env.RELAY_NATIVE_UDP === '0') return 'disabled by RELAY_NATIVE_UDP=0';
  loaded ??= load();
  return loaded.reason;
}

/** An Error like node's own system errors: `${syscall}: ${code}`, with code, errno and syscall. */
function systemError(syscall: string, errno: number): NodeJS.ErrnoException {
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

function ipv4Text(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/**
 * The text of a raw address as node reports senders: dotted quad, or RFC 5952 IPv6 (the longest
 * run of two or more zero groups compressed, the first one on a tie, lowercase hex), IPv4-mapped
 * and IPv4-compatible addresses ending in a dotted quad (::ffff:192.0.2.1), as libuv's inet_ntop.
 */
export function formatAddress(family: 4 | 6, bytes: Uint8Array, offset: number): string {
  if (family === 4) return ipv4Text(bytes, offset);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[offset + 2 * i]! << 8) | bytes[offset + 2 * i + 1]!);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) text += ':';
      continue;
    }
    if (i !== 0) text += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      return text + ipv4Text(bytes, offset + 12);
    }
    text += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) text += ':';
  return text;
}

export interface NativeUdpReceiverOptions {
  family: 4 | 6;
  /** Numeric address to bind: '0.0.0.0', '::', '127.0.0.1', 'fe80::1%eth0'. */
  host: string;
  /** 0: an ephemeral port. */
  port: number;
  /** SO_RCVBUF asked for (refusal is ignored: compare recvBufferSize() / 2 against it). */
  recvBufferBytes: number;
  /** Slot size: a longer datagram is reported truncated with its real length. */
  maxDatagramBytes: number;
  /** Datagrams per batch, 1..MAX_BATCH (default DEFAULT_BATCH_SIZE); the batch buffer is this many slots. */
  batchSize?: number;
  /**
   * Called once per batch of `count` (>= 1) datagrams, read with the receiver's accessors for
   * i in 0..count-1. The datagrams are valid only until it returns (the next batch overwrites them).
   * A throw is an uncaught exception, as from any event callback.
   */
  onBatch: (count: number, receiver: NativeUdpReceiver) => void;
  /** A receive error; the socket stays open (EFAULT: the buffers were detached, receiving stopped). Default: ignored. */
  onError?: (error: NodeJS.ErrnoException, receiver: NativeUdpReceiver) => void;
}

/** One UDP listening socket of the addon, with typed access to the current batch. */
export class NativeUdpReceiver {
  /** Datagram slots per batch. */
  readonly capacity: number;
  readonly maxDatagramBytes: number;
  /** The whole batch buffer: datagram i starts at offsetOf(i). For zero-allocation readers. */
  readonly bytes: Uint8Array;
  /** [length, flags, family, port, addr0..addr3] per datagram. */
  readonly meta: Int32Array;
  private readonly metaBytes: Uint8Array;
  private readonly handle: NativeHandle;
  private isClosed = false;
  // The last sender address computed, reused while the sender stays the same.
  private lastFamily = 0;
  private lastA0 = 0;
  private lastA1 = 0;
  private lastA2 = 0;
  private lastA3 = 0;
  private lastText = '';

  /** Binds and starts receiving; throws the addon's Error (code EADDRINUSE, EACCES...) when it cannot. */
  static open(native: NativeUdp, options: NativeUdpReceiverOptions): NativeUdpReceiver {
    return new NativeUdpReceiver(native, options);
  }

  private constructor(
    private readonly native: NativeUdp,
    options: NativeUdpReceiverOptions,
  ) {
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > native.MAX_BATCH) {
      throw new RangeError(`batchSize must be an integer from 1 to ${native.MAX_BATCH}, got ${batchSize}`);
    }
    if (!Number.isInteger(options.maxDatagramBytes) || options.maxDatagramBytes < 1) {
      throw new RangeError(`maxDatagramBytes must be a positive integer, got ${options.maxDatagramBytes}`);
    }
    this.capacity = batchSize;
    this.maxDatagramBytes = options.maxDatagramBytes;
    this.bytes = new Uint8Array(batchSize * options.maxDatagramBytes);
    this.meta = new Int32Array(batchSize * META_FIELDS);
    this.metaBytes = new Uint8Array(this.meta.buffer, this.meta.byteOffset, this.meta.byteLength);
    const { onBatch, onError } = options;
    this.handle = native.udpOpen(
      options.family,
      options.host,
      options.port,
      options.recvBufferBytes,
      this.bytes,
      this.meta,
      options.maxDatagramBytes,
      (count: number) => {
        if (count >= 0) onBatch(count, this);
        else onError?.(systemError('recvmmsg', count), this);
      },
    );
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The bound address (port 0 resolved). */
  address(): NativeUdpAddress {
    return this.native.udpAddress(this.handle);
  }

  /** `udp@HOST:PORT` of the bound socket, as BoundListener.text. */
  boundText(): string {
    const a = this.address();
    return `udp@${formatHostPort(a.address, a.port)}`;
  }

  /** SO_RCVBUF as the kernel reports it (Linux: twice what it grants), as dgram's getRecvBufferSize(). */
  recvBufferSize(): number {
    return this.native.udpRecvBufferSize(this.handle);
  }

  /** Stops receiving and closes the socket now; idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.native.udpClose(this.handle);
  }

  /** The real length of datagram i (larger than maxDatagramBytes when truncated). */
  length(i: number): number {
    return this.meta[i * META_FIELDS + META_LENGTH]!;
  }

  /** Whether datagram i was longer than maxDatagramBytes (only its first maxDatagramBytes were kept). */
  truncated(i: number): boolean {
    return (this.meta[i * META_FIELDS + META_FLAGS]! & FLAG_TRUNCATED) !== 0;
  }

  /** Where datagram i starts in `bytes`. */
  offsetOf(i: number): number {
    return i * this.maxDatagramBytes;
  }

  /** Datagram i as a view of the batch buffer (what was kept of it when truncated); valid until onBatch returns. */
  datagram(i: number): Uint8Array {
    const length = Math.min(this.length(i), this.maxDatagramBytes);
    return new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + i * this.maxDatagramBytes, length);
  }

  senderFamily(i: number): 4 | 6 {
    return this.meta[i * META_FIELDS + META_FAMILY] === 6 ? 6 : 4;
  }

  senderPort(i: number): number {
    return this.meta[i * META_FIELDS + META_PORT]!;
  }

  /** The sender of datagram i as text ('192.0.2.1', '::1', '::ffff:192.0.2.1'), for --allow; computed on demand. */
  senderAddress(i: number): string {
    const m = this.meta;
    const b = i * META_FIELDS;
    const family = m[b + META_FAMILY]!;
    const a0 = m[b + META_ADDR]!;
    const a1 = m[b + META_ADDR + 1]!;
    const a2 = m[b + META_ADDR + 2]!;
    const a3 = m[b + META_ADDR + 3]!;
    if (family !== this.lastFamily || a0 !== this.lastA0 || a1 !== this.lastA1 || a2 !== this.lastA2 || a3 !== this.lastA3) {
      this.lastText = formatAddress(family === 6 ? 6 : 4, this.metaBytes, (b + META_ADDR) * 4);
      this.lastFamily = family;
      this.lastA0 = a0;
      this.lastA1 = a1;
      this.lastA2 = a2;
      this.lastA3 = a3;
    }
    return this.lastText;
  }
}

/** A UDP socket connected to one destination, sending batches with sendmmsg. */
export class NativeUdpSender {
  private readonly handle: NativeHandle;
  private isClosed = false;

  /** Connects (no traffic) to host:port from a fresh ephemeral port; throws the addon's Error. */
  static open(native: NativeUdp, family: 4 | 6, host: string, port: number): NativeUdpSender {
    return new NativeUdpSender(native, native.udpSenderOpen(family, host, port));
  }

  private constructor(
    private readonly native: NativeUdp,
    handle: NativeHandle,
  ) {
    this.handle = handle;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The local (source) address and port. */
  address(): NativeUdpAddress {
    return this.native.udpAddress(this.handle);
  }

  /**
   * Sends datagrams 0..count-1 (lengths[i] bytes each, back to back in buffer) and returns how
   * many left: fewer than count when the socket buffer is full or the destination refuses.
   */
  sendBatch(buffer: Uint8Array, lengths: Int32Array, count: number = lengths.length): number {
    return this.native.udpSendBatch(this.handle, buffer, lengths, count);
  }

  /** Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.native.udpSenderClose(this.handle);
  }
}
