/**
 * The ingest side: owns every listening socket, appends each message as one ring item and
 * publishes. Never waits for a destination: a message the ring has no room for is counted
 * (droppedRingFull) and dropped. Oversize and malformed input is counted, never fatal. Each
 * listener kind is a module of its own behind ./listener.ts; this class holds the slots, the
 * counters and the allow-list, and applies reloads.
 */
import { resolveHost } from '../config/resolve.js';
import { AllowList, type Refusal } from '../config/cidr.js';
import { RelayError } from '../errors.js';
import { ListenerCounters, listenerBase } from '../metrics/counters.js';
import type { RingWriter } from '../ring/ring.js';
import type { RateLimitedLog } from '../logging.js';
import type { Intake, Listener, OpenListener } from './listener.js';
import { openDgramUdpListener } from './udp-dgram-listener.js';
import { openNativeUdpListener } from './udp-native-listener.js';
import { openTcpListener } from './tcp-listener.js';
import { openUnixListener } from './unix-listener.js';
import { readUntilQuiet } from './stop-reading.js';
import type { SourceBucket } from './rate-limit.js';
import { ListenerRateLimits } from './listener-rate-limits.js';
import { countLines, datagramBytes, splitLines, type AppendLine, type DropLine } from './line-split.js';
import { ActivatedSockets } from '../service/activated-socket.js';
import type { BoundListener, DestinationName, IngestOptions, ListenerChange, InputLimits, ListenerOptions, ListenerTls } from '../thread-protocol.js';

/** A listener in its slot: what it was opened with, and what it bound. */
interface SlotListener extends Listener {
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
  private readonly open = new Map<number, SlotListener>();
  private allowList: AllowList;
  private tls: ListenerTls | undefined;
  /** During a reload, what the listeners it adds open with (the reload's TLS material). */
  private openingTls: ListenerTls | undefined;
  private limits: InputLimits;
  /** Per listener slot, its sources' rate limits. */
  private readonly rateLimits: ListenerRateLimits;
  /** Per listener index, its counters (created on first use). */
  private readonly listenerCounters: ListenerCounters[] = [];
  /**
   * Destination names by ring slot, for the ring-full line. A removed destination keeps its name
   * while it drains (it may still hold the ring); a reload adds to free slots only, which overwrites it.
   */
  private readonly destinationNames = new Map<number, string>();
  /** The sockets systemd passed, and which listener took which. */
  private readonly activated: ActivatedSockets;

  constructor(
    private readonly writer: RingWriter,
    private readonly counters: Float64Array,
    private readonly options: IngestOptions,
    private readonly log: RateLimitedLog,
  ) {
    this.allowList = new AllowList(options.allow, options.deny);
    this.tls = options.tls;
    this.limits = options.limits;
    this.rateLimits = new ListenerRateLimits(options.limits.rateLimit, log, (l) => this.open.get(l)?.bound.text ?? `listener ${l}`);
    this.activated = new ActivatedSockets(options.activated ?? []);
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

  /** Counts (`messages` of them) and logs a source outside --allow, or inside --deny, that tried listener `l`. */
  private refuse(l: number, text: string, address: string | undefined, why: Refusal, messages = 1): void {
    this.countersOf(l).dropped(why, messages);
    const rule = why === 'denied' ? 'in --deny' : 'not in --allow';
    this.log.log('warn', `${why}:${l}`, `${text}: ignored ${address ?? 'an unknown source'}: ${rule}`);
  }

  /**
   * Appends one message from listener `l`: `length` bytes of `source` from `start` (publish() makes
   * it visible); with `from`, only if its source has a token left. Returns false only when the ring
   * had no room (a message dropped as oversize or over the rate limit leaves the ring room).
   */
  private accept(l: number, source: Buffer, start = 0, length = source.length, from?: SourceBucket): boolean {
    if (from !== undefined && !this.rateLimits.admits(l, from)) {
      this.countersOf(l).dropped('rate_limited');
      return true;
    }
    if (length > this.options.maxMessageBytes) {
      this.dropOversize(l, length);
      return true;
    }
    if (!this.writer.appendFrom(source, start, length)) {
      this.dropRingFull(l);
      return false;
    }
    this.countersOf(l).received(length);
    return true;
  }

  private dropOversize(l: number, length: number): void {
    this.countersOf(l).dropped('oversize');
    this.log.log('warn', `oversize:${l}`, `dropped a ${length}-byte message: larger than --max-message ${this.options.maxMessageBytes}`);
  }

  private dropRingFull(l: number): void {
    this.countersOf(l).dropped('ring_full');
    // Ingest computed HEAD itself before giving up (RingWriter.reserve): the destination it came
    // from, the one furthest behind, holds the ring. Named only when the line is logged.
    this.log.log('warn', `ring-full:${l}`, () => {
      const slot = this.writer.heldBy;
      const name = slot === undefined ? undefined : (this.destinationNames.get(slot) ?? `the destination in slot ${slot}`);
      return `ring full: dropped an incoming message${name === undefined ? '' : `: ${name} is the destination furthest behind, the ring waits for it`}`;
    });
  }

  /**
   * Appends the relay's own messages (latin1 text; carbon-c-relay's statistics lines) as if they
   * had arrived: no listener counts them. Those the ring has no room for are dropped and logged.
   */
  inject(messages: readonly string[]): void {
    let dropped = 0;
    for (const m of messages) {
      const bytes = Buffer.from(m, 'latin1');
      if (bytes.length > this.options.maxMessageBytes || !this.writer.appendFrom(bytes, 0, bytes.length)) dropped++;
    }
    if (dropped > 0) this.log.log('warn', 'inject', `dropped ${dropped} of the relay's own ${messages.length} statistics line(s): the ring is full`);
    this.publishSoon();
  }

  /** Names destinations by ring slot (those at start, then those each reload adds). */
  nameDestinations(names: DestinationName[]): void {
    for (const { index, text } of names) this.destinationNames.set(index, text);
  }

  /**
   * How listener `listener` takes one datagram: as one message, or with `?split=lf` one per line;
   * once the ring is full, the datagram's remaining lines are dropped as ring-full (oversize ones
   * as oversize) without trying the ring again. The closures are made once per listener.
   */
  private datagramTaker(listener: ListenerOptions): Intake['acceptDatagram'] {
    const l = listener.index;
    if (listener.split === undefined) {
      return (source, start, length, from) => {
        this.accept(l, source, start, length, from);
      };
    }
    // Each line is a message: each takes a token of the datagram's source.
    let lineSource: SourceBucket | undefined;
    const append: AppendLine = (bytes, lineStart, lineLength) => this.accept(l, bytes, lineStart, lineLength, lineSource);
    const drop: DropLine = (lineLength) => (lineLength > this.options.maxMessageBytes ? this.dropOversize(l, lineLength) : this.dropRingFull(l));
    return (source, start, length, from) => {
      lineSource = from;
      splitLines(source, start, length, append, drop);
      lineSource = undefined;
    };
  }

  /**
   * Binds a listener in its slot; rejects with RelayError('ERR_BIND') when it cannot (ERR_RESOLVE
   * when its host name does not resolve). Its counters are zeroed (the slot may have served another
   * listener) unless `keepCounters`: a listener re-opened after a failed reload counts on.
   */
  async listen(listener: ListenerOptions, { keepCounters = false } = {}): Promise<BoundListener> {
    // A unix@ listener's host is its socket path: nothing to resolve (its opener does not read `address`).
    const address =
      listener.scheme === 'unix' ? { host: listener.host, family: 4 as const } : await resolveHost(listener.host, `cannot listen on ${listener.text}`);
    if (!keepCounters) {
      this.countersOf(listener.index).reset();
      this.rateLimits.forget(listener.index);
    }
    let opened: Listener;
    try {
      // On the socket systemd passed for it, if it did (src/service/activated-socket.ts).
      opened = await this.activated.open(listener, address, (where) => this.openerFor(listener)(listener, where, this.intakeOf(listener)));
    } catch (error) {
      const reason = (error as Error).message;
      throw new RelayError('ERR_BIND', `cannot listen on ${listener.text}: ${reason}`, { cause: error });
    }
    this.open.set(listener.index, { ...opened, options: listener });
    return opened.bound;
  }

  /**
   * Applies a reload; resolves with what each added listener bound. Listeners that stay are not
   * touched (no gap, nothing the kernel queued is lost). An added listener on the port (or unix@
   * path) of a removed one (another host, framing or split) can only bind once that one is closed,
   * so the other added ones bind first: if one cannot, those just bound close and this rejects, nothing changed.
   * Only then do the removed ones in the way close and the rest bind; if one cannot, those just
   * bound close, the closed ones re-open in their slots and this rejects with the bind's error — or,
   * when one could not re-open, with a ListenersClosedError that names it.
   */
  async reconfigure(change: ListenerChange): Promise<BoundListener[]> {
    const addedPlaces = new Set(change.add.flatMap(placeOf));
    // An open listener's place is where it bound (the port it took, had it asked for 0).
    const boundPlace = (l: SlotListener): string[] => placeOf({ ...l.options, port: l.port });
    const inTheWay = change.remove.flatMap((slot) => this.open.get(slot) ?? []).filter((l) => boundPlace(l).some((p) => addedPlaces.has(p)));
    const blockedPlaces = new Set(inTheWay.flatMap(boundPlace));
    const later = change.add.filter((l) => placeOf(l).some((p) => blockedPlaces.has(p)));
    const first = change.add.filter((l) => !later.includes(l));
    const bound = new Map<number, BoundListener>();
    // Added tls@ listeners open with the reload's certificate (and CA: client certificates asked for or not).
    this.openingTls = change.tls;
    try {
      for (const l of first) bound.set(l.index, await this.listen(l));
    } catch (error) {
      this.openingTls = undefined;
      await this.closeListeners([...bound.keys()]);
      throw error;
    }
    await this.closeListeners(inTheWay.map((l) => l.options.index));
    try {
      for (const l of later) bound.set(l.index, await this.listen(l));
    } catch (error) {
      this.openingTls = undefined;
      await this.closeListeners([...bound.keys()]);
      throw await this.reopen(inTheWay, error as Error);
    }
    this.openingTls = undefined;
    this.allowList = new AllowList(change.allow, change.deny);
    this.tls = change.tls;
    this.limits = change.limits;
    this.rateLimits.set(change.limits.rateLimit);
    for (const l of this.open.values()) {
      if (change.tls) l.setTls?.(change.tls);
      l.setLimits?.(change.limits);
      l.recheckSources?.();
    }
    await this.closeListeners(change.remove); // those in the way are closed already
    this.writer.publish();
    return change.add.map((l) => bound.get(l.index)!);
  }

  /**
   * After a failed reload, opens the listeners it closed again, each in its slot, on the port it
   * had bound (it may have asked for 0), counters kept. Returns the reload's `error`, or if one
   * could not re-open (its port taken meanwhile), a ListenersClosedError naming it and its slot.
   */
  private async reopen(closed: SlotListener[], error: Error): Promise<Error> {
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

  /** The module that opens `listener`'s kind. */
  private openerFor(listener: ListenerOptions): OpenListener {
    if (listener.scheme === 'unix') return openUnixListener;
    if (listener.scheme !== 'udp') return openTcpListener;
    return this.options.udpIngest === 'native' ? openNativeUdpListener : openDgramUdpListener;
  }

  /** What the listener in `listener`'s slot hands its input to. */
  private intakeOf(listener: ListenerOptions): Intake {
    const l = listener.index;
    return {
      maxMessageBytes: this.options.maxMessageBytes,
      recvBufferBytes: this.options.recvBufferBytes,
      unixSocket: this.options.unixSocket,
      counters: this.countersOf(l),
      log: this.log,
      allowList: () => this.allowList,
      tls: () => this.openingTls ?? this.tls,
      limits: () => this.limits,
      refuse: (address, why) => this.refuse(l, listener.text, address, why),
      refuseDatagram: (address, why, source, start, length) =>
        this.refuse(l, listener.text, address, why, listener.split === undefined ? 1 : countLines(source, start, length)),
      rateLimiter: () => this.rateLimits.of(l),
      accept: (source, start, length, from) => {
        this.accept(l, source, start, length, from);
      },
      acceptDatagram: this.datagramTaker(listener),
      datagramBytes: datagramBytes(listener.split, this.options.maxMessageBytes),
      publish: () => this.writer.publish(),
      publishSoon: () => this.publishSoon(),
    };
  }
}

/**
 * What a listener binds that another cannot bind while it is open: its port (any host, any
 * protocol: the conservative choice) or a unix@ socket path; nothing for port 0 (ephemeral). And
 * the passed socket it names (?fdname=), which one listener holds at a time.
 */
function placeOf(l: Pick<ListenerOptions, 'scheme' | 'host' | 'port' | 'fdname'>): string[] {
  const named = l.fdname === undefined ? [] : [`socket ${l.fdname}`];
  if (l.scheme === 'unix') return [`path ${l.host}`, ...named];
  return [...(l.port === 0 ? [] : [`port ${l.port}`]), ...named];
}
