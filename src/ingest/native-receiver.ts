/**
 * One listening datagram socket of the native addon (src/native/addon.ts), UDP or Unix (unix@,
 * which node:dgram cannot open), with typed access to each batch.
 */
import { formatHostPort } from '../config/address.js';
import { formatAddress } from './native-address.js';
import {
  DEFAULT_BATCH_SIZE,
  FLAG_TRUNCATED,
  META_ADDR,
  META_FAMILY,
  META_FIELDS,
  META_FLAGS,
  META_LENGTH,
  META_PORT,
  systemError,
  type NativeHandle,
  type NativeSystemd,
  type NativeUdp,
  type NativeUdpAddress,
} from '../native/addon.js';
import type { ReusePortNative } from './reuse-port.js';

/** A UDP address to bind. */
export interface NativeUdpSocket {
  family: 4 | 6;
  /** Numeric address to bind: '0.0.0.0', '::', '127.0.0.1', 'fe80::1%eth0'. */
  host: string;
  /** 0: an ephemeral port. */
  port: number;
  /** Bind with SO_REUSEPORT (--reuse-port): the addon's udpOpenReusePort, which the caller checked it has. */
  reusePort?: boolean;
}

/** A Unix datagram socket to bind. */
export interface NativeUnixSocket {
  /** Absolute; a stale socket file there is replaced, anything else refused (NativeUdp.unixOpen). Senders are unnamed: meta family 0. */
  path: string;
}

/** A bound datagram socket systemd passed (socket activation): the receiver reads a duplicate of it (NativeSystemd.udpAdopt). */
export interface NativeAdoptedSocket {
  fd: number;
  /** A Unix socket's path (its senders are unnamed, as on unixOpen's); undefined for UDP. */
  path: string | undefined;
}

export type NativeUdpReceiverOptions = (NativeUdpSocket | NativeUnixSocket | NativeAdoptedSocket) & NativeReceiveOptions;

export interface NativeReceiveOptions {
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
  /**
   * After a batch that emptied the socket's queue (fewer than `capacity`), how long to stop
   * reading so that datagrams gather in the kernel (--max-delay); 0 or absent: never.
   */
  holdMs?: () => number;
  /** A receive error; the socket stays open (EFAULT: the buffers were detached, receiving stopped). Default: ignored. */
  onError?: (error: NodeJS.ErrnoException, receiver: NativeUdpReceiver) => void;
}

/** One listening socket of the addon, with typed access to the current batch. */
export class NativeUdpReceiver {
  /** A Unix datagram socket's path; undefined for UDP. */
  readonly path: string | undefined;
  /** Datagram slots per batch. */
  readonly capacity: number;
  readonly maxDatagramBytes: number;
  /** The whole batch buffer: datagram i starts at offsetOf(i). For zero-allocation readers. */
  readonly bytes: Uint8Array;
  /** [length, flags, family, port, addr0..addr3] per datagram. */
  readonly meta: Int32Array;
  /** `meta` as bytes: the sender of datagram i is at senderAddressOffset(i). For zero-allocation readers. */
  readonly metaBytes: Uint8Array;
  private readonly handle: NativeHandle;
  private isClosed = false;
  /** Set while a hold keeps the socket unwatched. */
  private holdTimer: NodeJS.Timeout | undefined;
  // The last sender address computed, reused while the sender stays the same.
  private lastFamily = 0;
  private lastA0 = 0;
  private lastA1 = 0;
  private lastA2 = 0;
  private lastA3 = 0;
  private lastText = '';

  /** Binds (or adopts) and starts receiving; throws the addon's Error (code EADDRINUSE, EACCES...) when it cannot. */
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
    const { onBatch, onError, holdMs } = options;
    const onCount = (count: number): void => {
      if (count < 0) {
        onError?.(systemError('recvmmsg', count), this);
        return;
      }
      onBatch(count, this);
      // A short batch ends its readable event (the addon stops at an empty queue).
      const hold = count < this.capacity && holdMs !== undefined ? holdMs() : 0;
      if (hold > 0) this.holdFor(hold);
    };
    const { recvBufferBytes, maxDatagramBytes } = options;
    this.path = 'path' in options ? options.path : undefined;
    if ('fd' in options) {
      const adopting = native as NativeUdp & Partial<NativeSystemd>;
      if (adopting.udpAdopt === undefined) throw new Error('this build of the addon cannot adopt a socket (rebuild it with npm run build:native)');
      this.handle = adopting.udpAdopt(options.fd, recvBufferBytes, this.bytes, this.meta, maxDatagramBytes, onCount);
      return;
    }
    this.handle =
      'path' in options
        ? native.unixOpen(options.path, recvBufferBytes, this.bytes, this.meta, maxDatagramBytes, onCount)
        : (options.reusePort ? (native as NativeUdp & ReusePortNative).udpOpenReusePort : native.udpOpen)(
            options.family,
            options.host,
            options.port,
            recvBufferBytes,
            this.bytes,
            this.meta,
            maxDatagramBytes,
            onCount,
          );
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The bound address (port 0 resolved); UDP only. */
  address(): NativeUdpAddress {
    return this.native.udpAddress(this.handle);
  }

  /** `udp@HOST:PORT` of the bound socket, or `unix@PATH`, as BoundListener.text. */
  boundText(): string {
    if (this.path !== undefined) return `unix@${this.path}`;
    const a = this.address();
    return `udp@${formatHostPort(a.address, a.port)}`;
  }

  /** SO_RCVBUF as the kernel reports it (Linux: twice what it grants), as dgram's getRecvBufferSize(). */
  recvBufferSize(): number {
    return this.native.udpRecvBufferSize(this.handle);
  }

  /**
   * A socket bound with reusePort: from now on the kernel gives the port's datagrams to the other
   * sockets sharing it; what it queued here is still read. Throws the addon's error (connect).
   */
  leavePortGroup(): void {
    if (!this.isClosed) (this.native as NativeUdp & ReusePortNative).udpLeavePortGroup(this.handle);
  }

  /** Stops watching the socket for `ms` (datagrams wait in the kernel's queue), then watches it again. */
  private holdFor(ms: number): void {
    if (this.isClosed || this.holdTimer !== undefined) return;
    this.native.udpPause(this.handle);
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      if (!this.isClosed) this.native.udpResume(this.handle);
    }, ms);
  }

  /** Ends a hold now and resolves once the event loop has read what queued meanwhile. */
  private async endHold(): Promise<void> {
    if (this.holdTimer === undefined) return;
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.isClosed) return;
    this.native.udpResume(this.handle);
    // The loop's poll phase (which reads) runs before its check phase (setImmediate).
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** How a listener closes: ends a hold first, so that what it left in the kernel's queue is read, not lost; then close(). */
  async finish(): Promise<void> {
    await this.endHold();
    this.close();
  }

  /** Stops receiving and closes the socket now (what a hold left queued is lost: see finish()); idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
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

  /** 4 or 6; a Unix socket's senders (family 0 in meta) read as 4 with port and address 0: allow-lists do not apply to them. */
  senderFamily(i: number): 4 | 6 {
    return this.meta[i * META_FIELDS + META_FAMILY] === 6 ? 6 : 4;
  }

  senderPort(i: number): number {
    return this.meta[i * META_FIELDS + META_PORT]!;
  }

  /** Where the raw address of datagram i's sender starts in `metaBytes`: 4 bytes (family 4) or 16 (family 6), network order. */
  senderAddressOffset(i: number): number {
    return (i * META_FIELDS + META_ADDR) * 4;
  }

  /** The sender of datagram i as text ('192.0.2.1', '::1', '::ffff:192.0.2.1'), for logs; computed on demand. */
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
