/**
 * Counters in shared memory: one Float64Array over a SharedArrayBuffer, one block per listener
 * and one per destination.
 *
 * | block            | first slot                                   | fields                 | written by | read by |
 * |------------------|----------------------------------------------|------------------------|------------|---------|
 * | listener l       | l * LISTENER_FIELD_COUNT                     | ListenerField          | ingest     | main    |
 * | destination d    | listenerSlots * LISTENER_FIELD_COUNT + d * DESTINATION_FIELD_COUNT | DestinationField | egress | main |
 * | routes           | after the last destination block (routeBase)  | RouteField, then one per rule (MAX_ROUTE_RULES) | egress | main |
 *
 * l and d are slots (MAX_LISTENERS and DESTINATION_SLOTS of them, src/config/config.ts), not
 * positions in the configuration: a reload gives an added listener or destination a free slot,
 * and its thread zeroes the block (`reset()`) before it counts anything there.
 *
 * Each block has exactly one writing thread, which does plain read-modify-write on its own slots:
 * no other thread writes them, so no update is lost. The main thread reads a snapshot that may
 * be a moment stale. Counters are never used to coordinate threads (the ring's positions are),
 * so a stale read is harmless; aligned 8-byte stores do not tear on the 64-bit platforms Node
 * runs on (the ECMAScript model promises tear-freedom only for integer element types, which
 * would overflow too soon for byte totals).
 */
import { MAX_ROUTE_RULES } from '../route/route-spec.js';
import type { ConnectionClose, DestinationDropReason, IngestDropReason } from './snapshot-types.js';

/** Slot offsets within a listener block. */
export const ListenerField = {
  receivedMessages: 0,
  receivedBytes: 1,
  droppedOversize: 2,
  droppedRingFull: 3,
  droppedFraming: 4,
  connectionsAccepted: 5,
  /** Datagrams or connections from a source outside --allow. */
  droppedNotAllowed: 6,
  /** tls@ input connections whose handshake failed (no or a wrong client certificate, not TLS, …). */
  closedTlsHandshake: 7,
  /** Input connections closed at once: the listener had --max-connections open. */
  closedMaxConnections: 8,
  /** Input connections closed after --idle-timeout without a whole message. */
  closedIdleTimeout: 9,
  /** Datagrams or connections from a source inside --deny. */
  droppedDenied: 10,
  /** Messages over --rate-limit from their source. */
  droppedRateLimited: 11,
  /** ?proxy= input connections without a valid PROXY header (none, a bad one, or not in time). */
  closedProxyHeader: 12,
} as const;
export const LISTENER_FIELD_COUNT = Object.keys(ListenerField).length;

/** Slot offsets within a destination block. */
export const DestinationField = {
  /** Messages whose write has called back (handed to the kernel). */
  sentMessages: 0,
  /** Bytes on the TCP stream, framing included, whose write has called back. */
  sentBytes: 1,
  /** Messages dropped for this destination because it lagged past the ring's limit. */
  droppedOverflow: 2,
  /** Messages this destination's framing cannot carry (empty payload on `octet`). */
  droppedUnframeable: 3,
  /** Messages forwarded on `lf` that contain a newline the receiver will split on. */
  splitLf: 4,
  /** Connections established (the first one included). */
  connects: 5,
  /** Connections lost or failed attempts. */
  disconnects: 6,
  /** 1 while connected. */
  up: 7,
  /** Messages handed to the kernel, not yet confirmed, that a lost connection makes us resend. */
  resentMessages: 8,
  /** Connections closed because the peer stopped reading. */
  stalls: 9,
  /** Messages written to the spill directory instead of being dropped. */
  spilledMessages: 10,
  /** Spilled messages sent to the destination. */
  replayedMessages: 11,
  /** Messages dropped because the spill directory was full (--spill-max) or failed. */
  droppedSpillFull: 12,
  /** Spill segments found damaged (bad checksum, truncated): their remainder was skipped. */
  spillCorruptSegments: 13,
  /** Bytes skipped in damaged spill segments. */
  spillCorruptBytes: 14,
  /** Messages not delivered nor spilled when the relay stopped. */
  droppedShutdown: 15,
  /** Ring items the cursor has passed (sent, spilled or dropped): lag = items published - this. */
  cursorItems: 16,
  /** The cursor's ring position (u32): lag in bytes = TAIL - this. */
  cursorPosition: 17,
  /** When `up` last changed, ms since the epoch (0: never). */
  sinceMs: 18,
  /** TLS attempts that reached the server but did not come up (verification, handshake), or were refused by a TLS alert right after. */
  tlsFailures: 19,
  /** Ring items the cursor passed that were not its to send: other members' (a group member), or routed elsewhere. */
  othersItems: 20,
  /** Group members: messages it owned and had not had confirmed when it went down, handed to the members that took its share. */
  handedOver: 21,
  /** Group members: messages another member handed it when that one went down. */
  takenOver: 22,
  /** relp@: messages the receiver refused (answered 500). */
  droppedRejected: 23,
  /** Messages written and not yet confirmed (for relp@: not yet acknowledged), a gauge. */
  unconfirmedMessages: 24,
} as const;
export const DESTINATION_FIELD_COUNT = Object.keys(DestinationField).length;

/** Slot offsets within the routes block; the rules' counters (messages each matched) follow. */
export const RouteField = {
  /** Messages no rule sent anywhere. */
  unrouted: 0,
  /** Messages a rule dropped (`blackhole`). */
  blackholed: 1,
  /** Messages dropped by a failed `validate` (or that carbon-c-relay's cleansing drops). */
  invalid: 2,
} as const;
export const ROUTE_FIELD_COUNT = Object.keys(RouteField).length;
const ROUTE_BLOCK_SLOTS = ROUTE_FIELD_COUNT + MAX_ROUTE_RULES;

/** Allocates the counters for a relay of this shape. */
export function allocateCounters(listenerSlots: number, destinationSlots: number): SharedArrayBuffer {
  const slots = routeBase(listenerSlots, destinationSlots) + ROUTE_BLOCK_SLOTS;
  return new SharedArrayBuffer(slots * Float64Array.BYTES_PER_ELEMENT);
}

/** First slot of the routes block. */
function routeBase(listenerSlots: number, destinationSlots: number): number {
  return listenerSlots * LISTENER_FIELD_COUNT + destinationSlots * DESTINATION_FIELD_COUNT;
}

/** First slot of the routes block of `slots` (the last block, whatever the relay's shape). */
export function routeBlockBase(slots: Float64Array): number {
  return slots.length - ROUTE_BLOCK_SLOTS;
}

/** First slot of listener `l`'s block. */
export function listenerBase(l: number): number {
  return l * LISTENER_FIELD_COUNT;
}

/** First slot of destination `d`'s block. */
export function destinationBase(listenerSlots: number, d: number): number {
  return listenerSlots * LISTENER_FIELD_COUNT + d * DESTINATION_FIELD_COUNT;
}

/** Why a destination did not get a message, and the field that counts it (writers and the snapshot both go through it). */
export const DESTINATION_DROP_FIELD = {
  overflow: DestinationField.droppedOverflow,
  spill_full: DestinationField.droppedSpillFull,
  unframeable: DestinationField.droppedUnframeable,
  shutdown: DestinationField.droppedShutdown,
  rejected: DestinationField.droppedRejected,
} as const satisfies Record<DestinationDropReason, number>;

/** One block of counter slots, written by one thread through the named methods of a subclass. */
export abstract class CounterBlock {
  constructor(
    protected readonly slots: Float64Array,
    protected readonly base: number,
    private readonly fieldCount: number,
  ) {}

  /** Zeroes the block: a slot given to a new listener or destination starts from nothing. */
  reset(): void {
    this.slots.fill(0, this.base, this.base + this.fieldCount);
  }

  protected add(field: number, n: number): void {
    this.slots[this.base + field]! += n;
  }
}

/**
 * The egress thread's typed view of one destination's block: every write goes through a named
 * method, so no caller does slot arithmetic and every field has one place that writes it.
 */
export class DestinationCounters extends CounterBlock {
  constructor(slots: Float64Array, base: number) {
    super(slots, base, DESTINATION_FIELD_COUNT);
  }

  /** A write of `messages` messages, `bytes` bytes on the wire, was handed to the kernel. */
  sent(messages: number, bytes: number): void {
    this.add(DestinationField.sentMessages, messages);
    this.add(DestinationField.sentBytes, bytes);
  }

  /** Of what was just counted sent, `messages` came from the spill directory. */
  replayed(messages: number): void {
    this.add(DestinationField.replayedMessages, messages);
  }

  /** `messages` unconfirmed by a lost connection are written again on a new one. */
  resent(messages: number): void {
    this.add(DestinationField.resentMessages, messages);
  }

  dropped(reason: DestinationDropReason, messages: number): void {
    this.add(DESTINATION_DROP_FIELD[reason], messages);
  }

  spilled(messages: number): void {
    this.add(DestinationField.spilledMessages, messages);
  }

  /** `messages` were forwarded on `lf` although they contain a newline. */
  split(messages: number): void {
    this.add(DestinationField.splitLf, messages);
  }

  /** A damaged spill segment: `bytes` of it were skipped. */
  spillCorrupt(bytes: number): void {
    this.add(DestinationField.spillCorruptSegments, 1);
    this.add(DestinationField.spillCorruptBytes, bytes);
  }

  /** A peer that stopped reading had its connection closed. */
  stalled(): void {
    this.add(DestinationField.stalls, 1);
  }

  /** A TLS attempt failed (its disconnect is counted by disconnected()). */
  tlsFailed(): void {
    this.add(DestinationField.tlsFailures, 1);
  }

  /** A connection came up at `nowMs`. */
  connected(nowMs: number): void {
    this.add(DestinationField.connects, 1);
    this.setUp(true, nowMs);
  }

  /** A connection went down, or an attempt failed, at `nowMs`. */
  disconnected(wasUp: boolean, nowMs: number): void {
    this.add(DestinationField.disconnects, 1);
    if (wasUp) this.setUp(false, nowMs);
  }

  /** The destination exists from `nowMs` on (down until it connects). */
  started(nowMs: number): void {
    this.slots[this.base + DestinationField.sinceMs] = nowMs;
  }

  /** `messages` are written and not yet confirmed (the window's count now). */
  unconfirmed(messages: number): void {
    this.slots[this.base + DestinationField.unconfirmedMessages] = messages;
  }

  /** The cursor moved to ring `position`, past `items` more items. */
  cursorMoved(position: number, items: number): void {
    this.add(DestinationField.cursorItems, items);
    this.slots[this.base + DestinationField.cursorPosition] = position;
  }

  /** Its cursor passed `items` ring items that were not its to send: other members', or routed elsewhere. */
  others(items: number): void {
    this.add(DestinationField.othersItems, items);
  }

  /** A group member that went down handed `messages` to the members taking its share. */
  handed(messages: number): void {
    this.add(DestinationField.handedOver, messages);
  }

  /** A group member took `messages` from one that went down. */
  took(messages: number): void {
    this.add(DestinationField.takenOver, messages);
  }

  /** Totals of a whole run, for the line a removed destination leaves: sent, dropped by reason (non-zero ones), spilled, handed over. */
  tally(): { sent: number; dropped: Partial<Record<DestinationDropReason, number>>; spilled: number; handedOver: number } {
    const dropped: Partial<Record<DestinationDropReason, number>> = {};
    for (const reason of Object.keys(DESTINATION_DROP_FIELD) as DestinationDropReason[]) {
      const n = this.droppedFor(reason);
      if (n > 0) dropped[reason] = n;
    }
    return { sent: this.read('sentMessages'), dropped, spilled: this.read('spilledMessages'), handedOver: this.read('handedOver') };
  }

  /** Messages dropped for `reason` so far. */
  droppedFor(reason: DestinationDropReason): number {
    return this.slots[this.base + DESTINATION_DROP_FIELD[reason]]!;
  }

  read(field: DestinationFieldName): number {
    return this.slots[this.base + DestinationField[field]]!;
  }

  private setUp(up: boolean, nowMs: number): void {
    this.slots[this.base + DestinationField.up] = up ? 1 : 0;
    this.slots[this.base + DestinationField.sinceMs] = nowMs;
  }
}
export type DestinationFieldName = keyof typeof DestinationField;

/** The ingest thread's typed view of one listener's block. */
export class ListenerCounters extends CounterBlock {
  constructor(slots: Float64Array, base: number) {
    super(slots, base, LISTENER_FIELD_COUNT);
  }

  /** A message of `bytes` bytes went into the ring. */
  received(bytes: number): void {
    this.add(ListenerField.receivedMessages, 1);
    this.add(ListenerField.receivedBytes, bytes);
  }

  /** `messages` (default 1) were dropped for `reason`. */
  dropped(reason: IngestDropReason, messages = 1): void {
    this.add(INGEST_DROP_FIELD[reason], messages);
  }

  /** A TCP input connection was accepted. */
  accepted(): void {
    this.add(ListenerField.connectionsAccepted, 1);
  }

  /** An input connection was refused or closed by the relay, for `reason`. */
  refused(reason: ConnectionClose): void {
    this.add(CONNECTION_CLOSE_FIELD[reason], 1);
  }

  read(field: keyof typeof ListenerField): number {
    return this.slots[this.base + ListenerField[field]]!;
  }
}

/** Why ingest refused or closed an input connection, and the field that counts it. */
export const CONNECTION_CLOSE_FIELD = {
  tls_handshake: ListenerField.closedTlsHandshake,
  max_connections: ListenerField.closedMaxConnections,
  idle_timeout: ListenerField.closedIdleTimeout,
  proxy_header: ListenerField.closedProxyHeader,
} as const satisfies Record<ConnectionClose, number>;

/** Why ingest dropped a message, and the field that counts it. */
export const INGEST_DROP_FIELD = {
  oversize: ListenerField.droppedOversize,
  ring_full: ListenerField.droppedRingFull,
  framing: ListenerField.droppedFraming,
  not_allowed: ListenerField.droppedNotAllowed,
  denied: ListenerField.droppedDenied,
  rate_limited: ListenerField.droppedRateLimited,
} as const satisfies Record<IngestDropReason, number>;
