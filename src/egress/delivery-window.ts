/**
 * The writes of one destination that the kernel has not confirmed yet, oldest first. Pure: no
 * I/O, no timers; the destination feeds it events and asks it what follows.
 *
 * Invariants (checked by the simulation in test/sim/ after every step):
 * - writes are in arrival order of what they carry; a connection's callbacks confirm them oldest
 *   first, so confirm() always takes the head;
 * - a ring write's bytes may still be read by the kernel straight out of the ring (a len32le
 *   write is a view), so nothing at or above the first ring write's start may be released;
 * - a write the connection lost unconfirmed stays here and is written again, whole and in the
 *   same order, first thing on the next connection (resend), or is counted by whoever removes it.
 */
import type { SpillBatch } from '../spill/segment-store.js';
import type { WriteOutcome } from './attempt.js';

export interface PendingWrite {
  chunk: Uint8Array;
  /** Messages carried (those the framing skipped are not counted here). */
  messages: number;
  /** A write from the ring: the positions of its first item and just past its last. */
  ring?: { start: number; end: number };
  /** A write replayed from the spill directory: confirmed there once written. */
  spill?: SpillBatch;
  /**
   * A group member's write: the payloads it carries (views of the ring for a ring write, copies
   * for messages another member handed over) and their item ids, for handing them over in turn.
   */
  owned?: { payloads: Uint8Array[]; ids: number[] };
  /**
   * A ring write copied out of the ring (./overflow.ts: pinned while its connection was down, and
   * older than what was spilled since): its payloads, still owed and resent first like any write.
   */
  copies?: Uint8Array[];
  /** Of its messages, how many went out on the connection that lost it (a RELP session tells; else all): what its resend sends again. */
  wentOut?: number;
  /** How many spill appends this destination had issued when the write was made (shutdown keeps order with it). */
  spillAppendsBefore: number;
}

/** What a write's callback confirmed: messages and bytes, of them refused by the receiver (and why), and whether the whole write. */
export interface Settled {
  messages: number;
  bytes: number;
  rejected: number;
  reasons: string[];
  whole: boolean;
}

/** Unconfirmed writes in order; see the module comment. */
export class DeliveryWindow {
  private readonly writes: PendingWrite[] = [];
  /** Bytes of the writes held (least-loaded groups compare members by it). */
  bytes = 0;
  /** Messages of the writes held. */
  messageCount = 0;

  get size(): number {
    return this.writes.length;
  }

  get isEmpty(): boolean {
    return this.writes.length === 0;
  }

  /** Records a write as issued (or owed: written once a connection is up). */
  add(write: PendingWrite): void {
    this.writes.push(write);
    this.bytes += write.chunk.length;
    this.messageCount += write.messages;
  }

  /** Removes and returns the oldest write, which its connection has just confirmed. */
  confirm(write: PendingWrite): void {
    // A connection confirms in order; anything else is a bug that would count the wrong messages.
    if (this.writes[0] !== write) throw new Error('delivery window: a write was confirmed out of order');
    this.writes.shift();
    this.bytes -= write.chunk.length;
    this.messageCount -= write.messages;
  }

  /**
   * What a write's callback settles (`confirmed`, and what a RELP session adds: src/egress/attempt.ts
   * WriteOutcome): the write leaves the window, or only the first messages its receiver answered
   * before the session ended; undefined when nothing is confirmed (it stays whole, to be resent;
   * a replayed batch is confirmed on disk only whole). Notes how much of it went out, for the resend count.
   */
  settle(write: PendingWrite, confirmed: boolean, outcome?: WriteOutcome): Settled | undefined {
    const rejected = outcome?.rejected ?? 0;
    const reasons = outcome?.reasons ?? [];
    // A write whose every message was answered is confirmed whole, whatever the transport said of the session after.
    if (confirmed || (outcome !== undefined && outcome.acked >= write.messages && !write.spill)) {
      this.confirm(write);
      return { messages: write.messages, bytes: write.chunk.length, rejected, reasons, whole: true };
    }
    const partly = outcome !== undefined && outcome.acked > 0 && !write.spill;
    if (partly) this.confirmPart(write, outcome.acked, outcome.ackedBytes);
    if (outcome?.issued !== undefined) write.wentOut = outcome.issued - (partly ? outcome.acked : 0);
    return partly ? { messages: outcome.acked, bytes: outcome.ackedBytes, rejected, reasons, whole: false } : undefined;
  }

  /**
   * The first `messages` messages (`bytes` of its chunk) of the oldest write were confirmed (a
   * RELP receiver answered them before the session ended): the write keeps only the rest, to be
   * resent. Its ring run and its own payloads (a group member's) shrink alike.
   */
  confirmPart(write: PendingWrite, messages: number, bytes: number): void {
    if (this.writes[0] !== write) throw new Error('delivery window: a write was confirmed out of order');
    write.chunk = write.chunk.subarray(bytes);
    write.messages -= messages;
    this.bytes -= bytes;
    this.messageCount -= messages;
    if (write.ring) write.ring = { start: (write.ring.start + bytes) >>> 0, end: write.ring.end };
    if (write.owned) write.owned = { payloads: write.owned.payloads.slice(messages), ids: write.owned.ids.slice(messages) };
    if (write.copies) write.copies = write.copies.slice(messages);
  }

  /**
   * Copies ring write `write` (its payloads `payloads`, views of the ring) out of the ring: it stays
   * owed, in its place, and no longer pins the ring (releasedPosition passes it).
   */
  detach(write: PendingWrite, payloads: readonly Uint8Array[]): void {
    // Buffer.from copies (a Buffer's slice() would still be a view of the ring).
    write.chunk = Buffer.from(write.chunk);
    write.ring = undefined;
    if (write.owned) write.owned = { payloads: write.owned.payloads.map((p) => Buffer.from(p)), ids: write.owned.ids };
    else write.copies = payloads.map((p) => Buffer.from(p));
  }

  /** Every write, oldest first: what to resend on a new connection. */
  all(): readonly PendingWrite[] {
    return this.writes;
  }

  /** True while some ring write is unconfirmed (it pins the ring from its start). */
  hasRingWrites(): boolean {
    return this.writes.some((w) => w.ring);
  }

  /** The lowest ring position still needed: the first ring write's start, else `cursor`. */
  releasedPosition(cursor: number): number {
    for (const w of this.writes) if (w.ring) return w.ring.start;
    return cursor;
  }

  /** Messages in ring writes / in spill writes. */
  messages(): { ring: number; spill: number } {
    let ring = 0;
    let spill = 0;
    for (const w of this.writes) {
      if (w.ring) ring += w.messages;
      else spill += w.messages;
    }
    return { ring, spill };
  }

  /** Removes every ring write (spill writes stay owed: they live on disk) and returns them. */
  takeRingWrites(): PendingWrite[] {
    return this.takeWhere((w) => w.ring !== undefined);
  }

  /** Removes the writes `which` picks and returns them, oldest first. */
  takeWhere(which: (w: PendingWrite) => boolean): PendingWrite[] {
    const taken = this.writes.filter(which);
    const rest = this.writes.filter((w) => !which(w));
    this.writes.length = 0;
    this.writes.push(...rest);
    for (const w of taken) {
      this.bytes -= w.chunk.length;
      this.messageCount -= w.messages;
    }
    return taken;
  }

  /** Removes everything (shutdown) and returns it, oldest first. */
  takeAll(): PendingWrite[] {
    this.bytes = 0;
    this.messageCount = 0;
    return this.writes.splice(0);
  }
}
