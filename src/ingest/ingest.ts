/**
 * The ingest side: owns every listening socket, appends each message as one ring item and
 * publishes. Never waits for a destination: a message the ring has no room for is counted
 * (droppedRingFull) and dropped. Oversize and malformed input is counted, never fatal. Each
 * listener kind is a module of its own behind ./listener.ts; what they hand over goes through
 * ./message-path.ts. This class holds the slots, the allow-list and the input limits, and applies reloads.
 */
import { resolveHost } from '../config/resolve.js';
import { AllowList } from '../config/cidr.js';
import { RelayError } from '../errors.js';
import type { RingWriter } from '../ring/ring.js';
import type { RateLimitedLog } from '../logging.js';
import type { Intake, Listener, OpenListener } from './listener.js';
import { openDgramUdpListener } from './udp-dgram-listener.js';
import { openNativeUdpListener } from './udp-native-listener.js';
import { openTcpListener } from './tcp-listener.js';
import { openUnixListener } from './unix-listener.js';
import { readUntilQuiet } from './stop-reading.js';
import { PORT_IN_USE_HINT, portInUseHint } from './reuse-port.js';
import { ListenerRateLimits } from './listener-rate-limits.js';
import { countLines, datagramBytes } from './line-split.js';
import { MessagePath } from './message-path.js';
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
  /** Where the listeners' messages go (appended, or counted and dropped). */
  private readonly path: MessagePath;
  /** The sockets systemd passed, and which listener took which. */
  private readonly activated: ActivatedSockets;

  constructor(
    private readonly writer: RingWriter,
    counters: Float64Array,
    private readonly options: IngestOptions,
    private readonly log: RateLimitedLog,
  ) {
    this.allowList = new AllowList(options.allow, options.deny);
    this.tls = options.tls;
    this.limits = options.limits;
    this.rateLimits = new ListenerRateLimits(options.limits.rateLimit, log, (l) => this.open.get(l)?.bound.text ?? `listener ${l}`);
    this.path = new MessagePath(writer, counters, options.maxMessageBytes, this.rateLimits, log);
    this.activated = new ActivatedSockets(options.activated ?? []);
  }

  /** Appends the relay's own messages (MessagePath.inject). */
  inject(messages: readonly string[]): void {
    this.path.inject(messages);
  }

  /** Names destinations by ring slot (those at start, then those each reload adds). */
  nameDestinations(names: DestinationName[]): void {
    this.path.nameDestinations(names);
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
      this.path.countersOf(listener.index).reset();
      this.rateLimits.forget(listener.index);
    }
    let opened: Listener;
    try {
      // On the socket systemd passed for it, if it did (src/service/activated-socket.ts).
      opened = await this.activated.open(listener, address, (where) => this.openerFor(listener)(listener, where, this.intakeOf(listener)));
    } catch (error) {
      const reason = (error as Error).message;
      throw new RelayError('ERR_BIND', `cannot listen on ${listener.text}: ${reason}${portInUseHint(listener.scheme, error)}`, { cause: error });
    }
    this.open.set(listener.index, { ...opened, options: listener });
    this.chooseGatherer();
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
        // The reload's own error carries the port-sharing hint already.
        const reason = (reopenError as Error).message.replace(`cannot listen on ${options.text}: `, '').replace(PORT_IN_USE_HINT, '');
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
    this.chooseGatherer();
  }

  /**
   * --max-delay: ingest gathers (holds its sockets after a small batch) when every listener is a
   * native datagram socket; otherwise egress does (ring/wake.ts). Told to egress through the ring.
   */
  private chooseGatherer(): void {
    const listeners = [...this.open.values()];
    const gathers = this.options.maxDelayMs > 0 && !this.closing && listeners.length > 0 && listeners.every((l) => l.gathers === true);
    this.holdMs = gathers ? this.options.maxDelayMs : 0;
    this.writer.setGathers(gathers);
  }

  /** Intake.holdMs of every listener now. */
  private holdMs = 0;
  private closing = false;

  /** Closes every listener and input connection; what was received stays in the ring. */
  async close(): Promise<void> {
    this.closing = true;
    this.chooseGatherer(); // no new holds; a listener's close reads what its hold left queued
    // A port shared with other relays (--reuse-port): they take its datagrams from now on, so the
    // reads below end, and what the kernel queued here is not lost at the close.
    for (const l of this.open.values()) {
      try {
        l.leaveSharedPort?.();
      } catch (error) {
        this.log.log('warn', `leave-port:${l.options.index}`, `${l.bound.text}: still given datagrams until closed: ${(error as Error).message}`);
      }
    }
    // What the kernel already queued on our sockets was sent to us: take it before closing.
    await readUntilQuiet(() => [...this.open.keys()].map((slot) => this.path.countersOf(slot)));
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
      reusePort: this.options.reusePort,
      counters: this.path.countersOf(l),
      log: this.log,
      allowList: () => this.allowList,
      tls: () => this.openingTls ?? this.tls,
      limits: () => this.limits,
      refuse: (address, why) => this.path.refuse(l, listener.text, address, why),
      refuseDatagram: (address, why, source, start, length) =>
        this.path.refuse(l, listener.text, address, why, listener.split === undefined ? 1 : countLines(source, start, length)),
      rateLimiter: () => this.rateLimits.of(l),
      accept: (source, start, length, from) => {
        this.path.accept(l, source, start, length, from);
      },
      acceptDatagram: this.path.datagramTaker(listener),
      datagramBytes: datagramBytes(listener.split, this.options.maxMessageBytes),
      publish: () => this.writer.publish(),
      publishSoon: () => this.path.publishSoon(),
      holdMs: () => this.holdMs,
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
