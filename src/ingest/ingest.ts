/**
 * The ingest side: owns every listening socket, appends each message as one ring item and
 * publishes. Never waits for a destination: a message the ring has no room for is counted
 * (droppedRingFull) and dropped. Oversize and malformed input is counted, never fatal.
 */
import dgram from 'node:dgram';
import { formatHostPort } from '../config/address.js';
import { resolveHost } from '../config/resolve.js';
import { AllowList } from '../config/cidr.js';
import { RelayError } from '../errors.js';
import { ListenerCounters, listenerBase } from '../metrics/counters.js';
import type { RingWriter } from '../ring/ring.js';
import type { RateLimitedLog } from '../logging.js';
import { loadNativeUdp, type NativeUdp } from './native-udp.js';
import { NativeUdpReceiver, type NativeUdpReceiverOptions } from './native-receiver.js';
import { listenTcp, type TcpIntake } from './tcp-listener.js';
import { readUntilQuiet } from './stop-reading.js';
import type { BoundListener, IngestOptions, ListenerChange, ListenerOptions } from '../thread-protocol.js';

/** NativeUdpReceiver.open, its errors worded as node:dgram words them (`bind EADDRINUSE 127.0.0.1:2008`). */
function openNative(native: NativeUdp, options: NativeUdpReceiverOptions): NativeUdpReceiver {
  try {
    return NativeUdpReceiver.open(native, options);
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    throw new Error(e.code ? `${e.syscall ?? 'bind'} ${e.code} ${formatHostPort(options.host, options.port)}` : e.message, { cause: error });
  }
}

/** A listener just bound: what it reports, the port it took, and how to close it (and, for TCP, its input connections). */
interface Opened {
  bound: BoundListener;
  port: number;
  close(): Promise<void>;
}

/** An open listener: what it was opened with, and what it bound. */
interface OpenListener extends Opened {
  options: ListenerOptions;
}

/** A reload that failed and could not re-open every listener it had closed: those (`closedSlots`) are closed now. */
export class ListenersClosedError extends RelayError {
  readonly closedSlots: number[];

  constructor(message: string, closedSlots: number[], options: { cause: Error }) {
    super('ERR_BIND', message, options);
    this.closedSlots = closedSlots;
  }
}

/** Every listener of the relay, feeding one RingWriter. One instance, in the ingest thread. */
export class Ingest {
  /** Open listeners by slot. */
  private readonly open = new Map<number, OpenListener>();
  private allowList: AllowList;
  /** Per listener index, its counters (created on first use). */
  private readonly listenerCounters: ListenerCounters[] = [];

  constructor(
    private readonly writer: RingWriter,
    private readonly counters: Float64Array,
    private readonly options: IngestOptions,
    private readonly log: RateLimitedLog,
  ) {
    this.allowList = new AllowList(options.allow);
  }

  private countersOf(l: number): ListenerCounters {
    let counters = this.listenerCounters[l];
    if (!counters) {
      counters = new ListenerCounters(this.counters, listenerBase(l));
      this.listenerCounters[l] = counters;
    }
    return counters;
  }

  /**
   * Publishes once per event-loop turn: libuv hands over up to 32 datagrams per poll, so one
   * TAIL store and at most one wake of egress (a futex syscall here, ~25 µs there) serve the batch.
   */
  private publishSoon(): void {
    if (this.publishScheduled) return;
    this.publishScheduled = true;
    setImmediate(() => {
      this.publishScheduled = false;
      this.writer.publish();
    });
  }

  private publishScheduled = false;

  /** Counts and logs a source outside --allow; true when `address` may send. */
  private admits(l: number, text: string, address: string | undefined): boolean {
    if (this.allowList.allows(address)) return true;
    this.countersOf(l).dropped('not_allowed');
    this.log.log('warn', `not-allowed:${l}`, `${text}: ignored ${address ?? 'an unknown source'}: not in --allow`);
    return false;
  }

  /** Appends one message from listener `l`: `length` bytes of `source` from `start` (publish() makes it visible). */
  accept(l: number, source: Buffer, start = 0, length = source.length): void {
    const counters = this.countersOf(l);
    if (length > this.options.maxMessageBytes) {
      counters.dropped('oversize');
      this.log.log('warn', `oversize:${l}`, `dropped a ${length}-byte message: larger than --max-message ${this.options.maxMessageBytes}`);
      return;
    }
    if (!this.writer.appendFrom(source, start, length)) {
      counters.dropped('ring_full');
      this.log.log('warn', `ring-full:${l}`, 'ring full: dropped an incoming message (the background thread has not reclaimed space yet)');
      return;
    }
    counters.received(length);
  }

  /**
   * Binds a listener in its slot; rejects with RelayError('ERR_BIND') when it cannot (ERR_RESOLVE
   * when its host name does not resolve). Its counters are zeroed (the slot may have served another
   * listener) unless `keepCounters`: a listener re-opened after a failed reload counts on.
   */
  async listen(listener: ListenerOptions, { keepCounters = false } = {}): Promise<BoundListener> {
    const address = await resolveHost(listener.host, `cannot listen on ${listener.text}`);
    if (!keepCounters) this.countersOf(listener.index).reset();
    let opened: Opened;
    try {
      if (listener.scheme === 'tcp') opened = await listenTcp(listener, address, this.tcpIntake(listener));
      else opened = this.options.udpIngest === 'native' ? this.listenUdpNative(listener, address) : await this.listenUdp(listener, address);
    } catch (error) {
      const reason = (error as Error).message;
      throw new RelayError('ERR_BIND', `cannot listen on ${listener.text}: ${reason}`, { cause: error });
    }
    this.open.set(listener.index, { ...opened, options: listener });
    return opened.bound;
  }

  /**
   * Applies a reload; resolves with what each added listener bound. Listeners that stay are not
   * touched (no gap, nothing the kernel queued is lost). An added listener on the port of a removed
   * one (same port, another host or framing) can only bind once that one is closed, so the other
   * added ones bind first: if one cannot, those just bound close and this rejects, nothing changed.
   * Only then do the removed ones in the way close and the rest bind; if one cannot, those just
   * bound close, the closed ones re-open in their slots and this rejects with the bind's error — or,
   * when one could not re-open, with a ListenersClosedError that names it.
   */
  async reconfigure(change: ListenerChange): Promise<BoundListener[]> {
    const addedPorts = new Set(change.add.map((l) => l.port).filter((port) => port !== 0));
    const inTheWay = change.remove.flatMap((slot) => this.open.get(slot) ?? []).filter((l) => addedPorts.has(l.port));
    const blockedPorts = new Set(inTheWay.map((l) => l.port));
    const later = change.add.filter((l) => blockedPorts.has(l.port));
    const first = change.add.filter((l) => !later.includes(l));
    const bound = new Map<number, BoundListener>();
    try {
      for (const l of first) bound.set(l.index, await this.listen(l));
    } catch (error) {
      await this.closeListeners([...bound.keys()]);
      throw error;
    }
    await this.closeListeners(inTheWay.map((l) => l.options.index));
    try {
      for (const l of later) bound.set(l.index, await this.listen(l));
    } catch (error) {
      await this.closeListeners([...bound.keys()]);
      throw await this.reopen(inTheWay, error as Error);
    }
    this.allowList = new AllowList(change.allow);
    await this.closeListeners(change.remove); // those in the way are closed already
    this.writer.publish();
    return change.add.map((l) => bound.get(l.index)!);
  }

  /**
   * After a failed reload, opens the listeners it closed again, each in its slot, on the port it
   * had bound (it may have asked for 0), counters kept. Returns the reload's `error`, or if one
   * could not re-open (its port taken meanwhile), a ListenersClosedError naming it and its slot.
   */
  private async reopen(closed: OpenListener[], error: Error): Promise<Error> {
    const lost: { slot: number; why: string }[] = [];
    for (const { options, port, bound } of closed) {
      try {
        await this.listen({ ...options, port }, { keepCounters: true });
      } catch (reopenError) {
        const reason = (reopenError as Error).message.replace(`cannot listen on ${options.text}: `, '');
        lost.push({ slot: options.index, why: `${bound.text} could not be reopened and is closed: ${reason}` });
      }
    }
    if (lost.length === 0) return error;
    const slots = lost.map((l) => l.slot);
    return new ListenersClosedError([error.message, ...lost.map((l) => l.why)].join('; '), slots, { cause: error });
  }

  private async closeListeners(slots: number[]): Promise<void> {
    await Promise.all(
      slots.map((slot) => {
        const listener = this.open.get(slot);
        this.open.delete(slot);
        return listener?.close();
      }),
    );
  }

  /** Closes every listener and input connection; what was received stays in the ring. */
  async close(): Promise<void> {
    // What the kernel already queued on our sockets was sent to us: take it before closing.
    await readUntilQuiet(() => [...this.open.keys()].map((slot) => this.countersOf(slot)));
    await this.closeListeners([...this.open.keys()]);
    this.writer.publish();
  }

  private async listenUdp(listener: ListenerOptions, address: { host: string; family: 4 | 6 }): Promise<Opened> {
    const socket = dgram.createSocket({ type: address.family === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (error) => {
        socket.close();
        reject(error);
      });
      socket.bind(listener.port, address.host, () => {
        socket.removeAllListeners('error');
        resolve();
      });
    });
    try {
      socket.setRecvBufferSize(this.options.recvBufferBytes);
    } catch {
      // Refused outright: keep the kernel default, reported below.
    }
    const granted = socket.getRecvBufferSize();
    this.checkRecvBuffer(listener, granted);
    socket.on('error', (error) => this.log.log('warn', `udp-error:${listener.index}`, `${listener.text}: ${error.message}`));
    const l = listener.index;
    socket.on('message', (payload, sender) => {
      if (!this.admits(l, listener.text, sender.address)) return;
      this.accept(l, payload);
      this.publishSoon();
    });
    const bound = socket.address();
    return {
      bound: { text: `udp@${formatHostPort(bound.address, bound.port)}`, recvBufferBytes: granted },
      port: bound.port,
      close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
    };
  }

  /**
   * A UDP listener on the native addon: recvmmsg batches straight from this thread's event loop,
   * one JS call per batch; each datagram is copied once, from the batch buffer into the ring,
   * and the batch is published at once (one TAIL store, at most one wake of egress).
   */
  private listenUdpNative(listener: ListenerOptions, address: { host: string; family: 4 | 6 }): Opened {
    const l = listener.index;
    let batch: Buffer | undefined;
    const receiver = openNative(loadNativeUdp()!, {
      family: address.family,
      host: address.host,
      port: listener.port,
      recvBufferBytes: this.options.recvBufferBytes,
      maxDatagramBytes: this.options.maxMessageBytes,
      onBatch: (count, r) => {
        batch ??= Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
        const checkSource = !this.allowList.allowsEveryone;
        for (let i = 0; i < count; i++) {
          if (checkSource && !this.admits(l, listener.text, r.senderAddress(i))) continue;
          // A slot holds --max-message bytes, so a truncated datagram reports a longer real length:
          // accept() drops it as oversize before copying anything.
          this.accept(l, batch, r.offsetOf(i), r.length(i));
        }
        this.writer.publish();
      },
      onError: (error) => this.log.log('warn', `udp-error:${l}`, `${listener.text}: ${error.message}`),
    });
    const granted = receiver.recvBufferSize();
    this.checkRecvBuffer(listener, granted);
    const text = receiver.boundText();
    return { bound: { text, recvBufferBytes: granted }, port: Number(text.slice(text.lastIndexOf(':') + 1)), close: async () => receiver.close() };
  }

  /** Warns when the kernel granted less SO_RCVBUF than asked (Linux reports twice what it grants). */
  private checkRecvBuffer(listener: ListenerOptions, reportedBytes: number): void {
    if (reportedBytes / 2 < this.options.recvBufferBytes) {
      this.log.log(
        'warn',
        `rcvbuf:${listener.index}`,
        `${listener.text}: kernel granted SO_RCVBUF ${reportedBytes / 2} of ${this.options.recvBufferBytes} bytes asked (limit net.core.rmem_max); bursts may be dropped by the kernel`,
      );
    }
  }

  /** What a TCP listener in `listener`'s slot hands its input to. */
  private tcpIntake(listener: ListenerOptions): TcpIntake {
    const l = listener.index;
    return {
      maxMessageBytes: this.options.maxMessageBytes,
      counters: this.countersOf(l),
      log: this.log,
      admits: (address) => this.admits(l, listener.text, address),
      accept: (payload) => this.accept(l, payload),
      publish: () => this.writer.publish(),
    };
  }
}
