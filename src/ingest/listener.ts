/**
 * What every listener kind is to Ingest: one module per kind (udp-dgram-listener.ts,
 * udp-native-listener.ts, tcp-listener.ts, unix-listener.ts) opens it with the Intake of its slot and returns a
 * Listener. Ingest owns the ring, the counters, the allow-list, the TLS material and the slots; a listener only
 * serves its socket and hands each message over.
 */
import type { AllowList, Refusal } from '../config/cidr.js';
import type { ListenerCounters } from '../metrics/counters.js';
import type { RateLimitedLog } from '../logging.js';
import { addressKey, type SourceBucket, type SourceRateLimiter } from './rate-limit.js';
import type { BoundListener, InputLimits, ListenerOptions, ListenerTls, UnixSocketFile } from '../thread-protocol.js';

/** A bound listener: what it reports, the port it took (from the socket) and how to close it with its input. */
export interface Listener {
  /** Plain data: it is posted to the main thread. */
  bound: BoundListener;
  port: number;
  close(): Promise<void>;
  /** tls@: serves new connections with these (a reload read the files again). */
  setTls?(tls: ListenerTls): void;
  /** TCP/TLS: applies new limits (a reload). */
  setLimits?(limits: InputLimits): void;
  /** TCP/TLS: closes (and counts) the open connections whose source the allow-list now refuses (a reload). */
  recheckSources?(): void;
  /**
   * A UDP listener sharing its port (--reuse-port), at a graceful stop: the kernel gives the
   * port's datagrams to the other sockets on it from now on, and what it queued here stays to be
   * read (src/ingest/reuse-port.ts).
   */
  leaveSharedPort?(): void;
  /** A native datagram socket, which --max-delay can hold after a small batch (Intake.holdMs). */
  gathers?: boolean;
}

/** What Ingest gives the listener in one slot. */
export interface Intake {
  maxMessageBytes: number;
  /** SO_RCVBUF to ask for (UDP, unix@). */
  recvBufferBytes: number;
  /** unix@: the mode and owner its socket file gets (--unix-mode, --unix-owner). */
  unixSocket: UnixSocketFile;
  /** udp@, tcp@, tls@: bind with SO_REUSEPORT (--reuse-port; the main thread checked the addon has it). */
  reusePort: boolean;
  counters: ListenerCounters;
  log: RateLimitedLog;
  /** The sources allowed now: a reload replaces it, so ask per datagram, batch or connection. */
  allowList(): AllowList;
  /** What a tls@ listener serves with now (--listen-tls-*). */
  tls(): ListenerTls | undefined;
  /** What one input connection may take now (--max-connections, --idle-timeout). */
  limits(): InputLimits;
  /** Counts and logs a source the allow-list refused, and why (its address as text: the cold path). */
  refuse(address: string | undefined, why: Refusal): void;
  /** refuse() for a datagram of `length` bytes of `source` from `start`: counted once per message it holds (each line with ?split=lf). */
  refuseDatagram(address: string | undefined, why: Refusal, source: Buffer, start: number, length: number): void;
  /**
   * With --rate-limit, this listener's limits per source (a reload may add, change or remove
   * them, so ask per batch or read); undefined without.
   */
  rateLimiter(): SourceRateLimiter | undefined;
  /**
   * Appends `length` bytes of `source` from `start` as one message (visible after a publish);
   * oversize and ring-full are counted, and with `from` (its source's bucket of rateLimiter()) a
   * message over the rate limit.
   */
  accept(source: Buffer, start?: number, length?: number, from?: SourceBucket): void;
  /**
   * Takes one datagram: as one message, or on a `?split=lf` listener each of its lines as one
   * (src/ingest/line-split.ts), counted as accept() counts them.
   */
  acceptDatagram(source: Buffer, start: number, length: number, from?: SourceBucket): void;
  /** Bytes to receive a datagram into: --max-message, or for a split listener (UDP, unix@) a whole UDP datagram. */
  datagramBytes: number;
  /** Makes what was appended visible to egress now. */
  publish(): void;
  /** How long a native datagram socket stops reading after a batch that emptied its queue: --max-delay while every listener can (ring/wake.ts), else 0. */
  holdMs(): number;
  /** Publishes once this event-loop turn is over: one publish for a burst of single datagrams. */
  publishSoon(): void;
}

/**
 * Opens one listener kind on the resolved `address`, or with `address.fd` on the socket systemd
 * passed (it adopts a duplicate: src/service/activated-socket.ts); rejects with the socket's error
 * (e.g. EADDRINUSE) when it cannot bind.
 */
export type OpenListener = (options: ListenerOptions, address: { host: string; family: 4 | 6; fd?: number }, intake: Intake) => Promise<Listener>;

/** Whether a source at `address` (as a socket reports it) may send; a refused one is counted and logged. */
export function admits(intake: Intake, address: string | undefined): boolean {
  const why = intake.allowList().refusal(address);
  if (why === undefined) return true;
  intake.refuse(address, why);
  return false;
}

/** The rate-limit bucket of a source as a socket reports it (node:dgram, TCP), or undefined without --rate-limit. */
export function bucketOfAddress(limiter: SourceRateLimiter | undefined, address: string | undefined): SourceBucket | undefined {
  if (limiter === undefined || address === undefined) return undefined;
  return limiter.bucketOf(addressKey(address), () => address);
}

/** Warns when the kernel granted a UDP socket less SO_RCVBUF than asked (Linux reports twice what it grants). */
export function checkRecvBuffer(options: ListenerOptions, intake: Intake, reportedBytes: number): void {
  if (reportedBytes / 2 < intake.recvBufferBytes) {
    intake.log.log(
      'warn',
      `rcvbuf:${options.index}`,
      `${options.text}: kernel granted SO_RCVBUF ${reportedBytes / 2} of ${intake.recvBufferBytes} bytes asked (limit net.core.rmem_max); bursts may be dropped by the kernel`,
    );
  }
}
