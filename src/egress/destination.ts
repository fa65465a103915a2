/**
 * One TCP destination in the egress thread: its connection, its cursor in the ring, the writes
 * the kernel has not yet taken, and (with --spill-dir) its spill directory.
 *
 * Positions (all u32 ring positions, see ring/layout.ts):
 *   released <= first unconfirmed ring write's start <= ... <= cursor <= TAIL
 * - `cursor`: the next ring item to hand to a write (or to the spill).
 * - `unconfirmed`: writes issued and not yet called back, in order. A ring write's bytes may still
 *   be read by the kernel straight out of the ring (a len32le write is a view, not a copy), so
 *   nothing at or above the first one's start may be reclaimed. If the connection breaks they are
 *   written again, whole, first thing on the next one: a frame is never torn and never skipped.
 * - `released` = first unconfirmed ring write's start, or `cursor` when none: published to the
 *   background thread, which reclaims below the lowest released of all destinations.
 *
 * Delivery order is: unconfirmed writes, then the spill directory (oldest first), then the ring
 * from `cursor`. While the spill has a backlog, nothing is sent from the ring.
 *
 * Isolation: when this destination lags more than 3/4 of the ring, its oldest items (down to 1/2)
 * are appended to its spill directory, or, without one (or while a whole ring's worth of spilled
 * data is still on its way to the disk), dropped and counted as overflow. If a write that never completes pins the ring past
 * 7/8, the peer is not reading: the connection is closed and, while down, the pinned writes are
 * dropped.
 */
import net from 'node:net';
import { framingFor, type Framing, type FramingName } from '../framing/index.js';
import { distance } from '../ring/layout.js';
import type { RingReader } from '../ring/ring.js';
import { DestinationField } from '../metrics/counters.js';
import type { SpillBatch, SpillStore } from '../spill/segment-store.js';
import { Backoff } from './backoff.js';
import type { RateLimitedLog } from '../logging.js';

export interface DestinationOptions {
  index: number;
  host: string;
  port: number;
  /** Canonical address text, for logs. */
  text: string;
  framing: FramingName;
  /** Largest single write, in ring bytes. */
  maxWriteBytes: number;
  connectTimeoutMs: number;
  /** A connection with writes pending and no progress for this long is reported stalled and closed. */
  stallTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

interface UnconfirmedWrite {
  chunk: Uint8Array;
  /** Messages carried (skipped ones excluded). */
  messages: number;
  /** A write from the ring: the positions of its first item and just past its last. */
  ring?: { start: number; end: number };
  /** A write replayed from the spill directory: confirmed there once written. */
  spill?: SpillBatch;
}

type State = 'down' | 'connecting' | 'up' | 'closed';

/** Connection and cursor of one destination; driven by the Egress pump. */
export class Destination {
  cursor = 0;
  released = 0;
  private state: State = 'down';
  private socket: net.Socket | undefined;
  /** Bumped on every new connection so callbacks of an old one are ignored. */
  private generation = 0;
  private readonly unconfirmed: UnconfirmedWrite[] = [];
  private readonly framing: Framing;
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly overflowHighBytes: number;
  private readonly overflowLowBytes: number;
  private readonly pinLimitBytes: number;
  /** Reused list of payload views for one batch (no allocation per message). */
  private readonly batch: Uint8Array[] = [];
  private spill: SpillStore | undefined;
  /** Bytes copied for the spill and not yet on disk: at most one ring's worth per destination. */
  private spillBytesInFlight = 0;
  private replaying = false;

  constructor(
    private readonly options: DestinationOptions,
    private readonly reader: RingReader,
    private readonly counters: Float64Array,
    private readonly counterBase: number,
    private readonly log: RateLimitedLog,
    /** Called when the destination can take data again (connected, drained, spill ready). */
    private readonly onWritable: (destination: Destination) => void,
  ) {
    this.framing = framingFor(options.framing);
    this.backoff = new Backoff(options.reconnectMinMs, options.reconnectMaxMs);
    const capacity = reader.v.capacity;
    this.overflowHighBytes = (capacity / 4) * 3;
    this.overflowLowBytes = capacity / 2;
    this.pinLimitBytes = (capacity / 8) * 7;
  }

  get index(): number {
    return this.options.index;
  }

  get isUp(): boolean {
    return this.state === 'up';
  }

  /** True when everything below `tail`, and everything spilled, has been handed to the kernel. */
  caughtUp(tail: number): boolean {
    return this.cursor === tail && this.unconfirmed.length === 0 && !this.replaying && !this.spill?.hasBacklog;
  }

  /**
   * Starts connecting; the cursor starts at `tail` (a relay forwards what arrives from now on).
   * With a spill store, what it holds from an earlier run is sent first.
   */
  start(tail: number, spill: SpillStore | undefined): void {
    this.spill = spill;
    this.advanceCursor(tail, 0);
    this.counters[this.counterBase + DestinationField.sinceMs] = Date.now();
    this.updateReleased(true);
    this.connect();
  }

  /** Enforces the lag limits, then writes whatever the socket will take up to `tail`. */
  service(tail: number): void {
    if (this.state === 'closed') return;
    if (distance(tail, this.cursor) > this.overflowHighBytes) {
      if (this.spill && this.spillBytesInFlight < this.reader.v.capacity) this.spillOldest(tail);
      else this.dropOldest(tail);
    }
    if (this.unconfirmed.length > 0 && distance(tail, this.released) > this.pinLimitBytes) {
      this.releasePinnedWrites();
    }
    if (this.state !== 'up') return;
    // While a replay runs, a batch may be read from disk but not yet written: the ring waits
    // too, or its newer data would overtake that batch.
    if (this.replaying || this.spill?.hasBacklog) {
      this.replay();
      return;
    }
    const socket = this.socket!;
    while (!socket.writableNeedDrain && this.cursor !== tail) {
      if (!this.reader.scan(this.cursor, tail, this.options.maxWriteBytes)) break;
      const start = this.reader.segmentStart;
      const end = this.reader.segmentEnd;
      const v = this.reader.v;
      let chunk: Uint8Array;
      let messages: number;
      if (this.framing.name === 'len32le') {
        // The ring holds len32le frames already: send a view of it, no copy.
        chunk = Buffer.from(v.dataBuffer, start & v.mask, distance(end, start));
        messages = this.reader.segmentItems;
      } else {
        this.batch.length = 0;
        this.reader.payloads(start, end, this.batch);
        ({ chunk, messages } = this.frame(this.batch));
      }
      this.advanceCursor(end, this.reader.segmentItems);
      if (chunk.length === 0) {
        this.updateReleased();
        continue;
      }
      this.send(socket, { chunk, messages, ring: { start, end } });
    }
  }

  /**
   * Stops for good at shutdown: with a spill directory, what was not delivered is appended to it
   * (in order) for the next run; returns how many messages were not delivered nor kept.
   */
  async finish(tail: number): Promise<number> {
    const caughtUp = this.caughtUp(tail);
    this.state = 'closed';
    clearTimeout(this.reconnectTimer);
    let lost = 0;
    const ringWrites = this.unconfirmed.filter((w) => w.ring);
    this.batch.length = 0;
    // Unconfirmed ring writes may be older than spilled data (read for replay or not): keep them
    // only if nothing from the spill is outstanding, so the order on disk stays the order of arrival.
    if (this.spill && !this.spill.hasBacklog && !this.unconfirmed.some((w) => w.spill)) {
      for (const w of ringWrites) this.reader.payloads(w.ring!.start, w.ring!.end, this.batch);
    } else {
      for (const w of ringWrites) lost += w.messages;
    }
    const rest = this.reader.payloads(this.cursor, tail, this.batch);
    if (this.batch.length > 0) {
      const kept = this.spill ? await this.spill.append(this.batch) : false;
      if (kept) this.counters[this.counterBase + DestinationField.spilledMessages]! += this.batch.length;
      else lost += this.batch.length;
    }
    this.batch.length = 0;
    this.advanceCursor(tail, rest);
    this.counters[this.counterBase + DestinationField.droppedShutdown]! += lost;
    if (caughtUp) this.socket?.end();
    else this.socket?.destroy();
    await this.spill?.close();
    return lost;
  }

  /** Encodes payloads in this destination's framing, counting what the framing cannot carry intact. */
  private frame(payloads: readonly Uint8Array[]): { chunk: Buffer; messages: number } {
    let total = 0;
    let skipped = 0;
    let split = 0;
    for (const p of payloads) {
      const verdict = this.framing.verdict(p);
      if (verdict === 'skip') skipped++;
      else {
        if (verdict === 'split') split++;
        total += this.framing.frameLength(p);
      }
    }
    const chunk = Buffer.allocUnsafe(total);
    let written = 0;
    for (const p of payloads) if (this.framing.verdict(p) !== 'skip') written += this.framing.encodeInto(p, chunk, written);
    const c = this.counters;
    const b = this.counterBase;
    if (skipped > 0) {
      c[b + DestinationField.droppedUnframeable]! += skipped;
      this.log.log('warn', `unframeable:${this.options.index}`, `${this.options.text}: skipped ${skipped} empty message(s): framing ${this.framing.name} cannot carry an empty payload`);
    }
    if (split > 0) c[b + DestinationField.splitLf]! += split;
    return { chunk, messages: payloads.length - skipped };
  }

  private send(socket: net.Socket, write: UnconfirmedWrite): void {
    this.unconfirmed.push(write);
    this.write(socket, write);
  }

  private write(socket: net.Socket, write: UnconfirmedWrite): void {
    const generation = this.generation;
    socket.write(write.chunk, (error) => {
      // Errors are handled once, by the 'close' handler; a callback from an older connection
      // must not move this one's positions.
      if (error || generation !== this.generation) return;
      this.confirm();
    });
  }

  /** The oldest unconfirmed write was handed to the kernel. */
  private confirm(): void {
    const done = this.unconfirmed.shift();
    if (!done) return;
    const c = this.counters;
    const b = this.counterBase;
    c[b + DestinationField.sentMessages]! += done.messages;
    c[b + DestinationField.sentBytes]! += done.chunk.length;
    if (done.spill) {
      c[b + DestinationField.replayedMessages]! += done.messages;
      void this.spill!.confirm(done.spill).catch((error: Error) =>
        this.log.log('warn', `spill-confirm:${this.options.index}`, `${this.options.text}: cannot record replay progress: ${error.message}`),
      );
    }
    this.backoff.reset();
    this.updateReleased();
  }

  /** Sends the spill directory's backlog, batch by batch, until it is empty or the socket is full. */
  private replay(): void {
    // A full socket resumes us through its 'drain' event; starting now would only spin.
    if (this.replaying || this.state !== 'up' || this.socket!.writableNeedDrain) return;
    this.replaying = true;
    void this.replayBatches().then((emptied) => {
      this.replaying = false;
      // Backlog sent: carry on from the ring (or with what was spilled meanwhile).
      if (emptied && this.state === 'up') this.onWritable(this);
    });
  }

  /** Resolves true when the spill had nothing more to read, false when it stopped for the socket or the connection. */
  private async replayBatches(): Promise<boolean> {
    const spill = this.spill!;
    while (this.state === 'up' && !this.socket!.writableNeedDrain) {
      const batch = await spill.readBatch(this.options.maxWriteBytes).catch((error: Error) => {
        this.log.log('warn', `spill-read:${this.options.index}`, `${this.options.text}: cannot read spill: ${error.message}`);
        return undefined;
      });
      if (!batch) return true;
      const { chunk, messages } = this.frame(batch.payloads);
      const write: UnconfirmedWrite = { chunk, messages, spill: batch };
      // Read means owed: if the connection went away meanwhile, it is resent on the next one.
      this.unconfirmed.push(write);
      if (this.state === 'up') this.write(this.socket!, write);
    }
    return false;
  }

  /** Moves the oldest items (down to half the ring) to the spill directory. */
  private spillOldest(tail: number): void {
    const spill = this.spill!;
    const from = this.cursor;
    this.advanceCursor(this.reader.dropUntil(from, tail, this.overflowLowBytes), this.reader.droppedItems);
    this.batch.length = 0;
    const messages = this.reader.payloads(from, this.cursor, this.batch);
    const bytes = distance(this.cursor, from);
    // append() copies the payloads before returning, so the range can be released right away.
    const appended = spill.append(this.batch);
    this.batch.length = 0;
    this.spillBytesInFlight += bytes;
    this.updateReleased();
    void appended.then((kept) => {
      this.spillBytesInFlight -= bytes;
      const c = this.counters;
      const b = this.counterBase;
      if (kept) c[b + DestinationField.spilledMessages]! += messages;
      else {
        c[b + DestinationField.droppedSpillFull]! += messages;
        this.log.log('warn', `spill-full:${this.options.index}`, `${this.options.text}: spill directory full or failing: dropped ${messages} message(s)`);
      }
      if (this.state === 'up') this.onWritable(this);
    });
  }

  private dropOldest(tail: number): void {
    this.advanceCursor(this.reader.dropUntil(this.cursor, tail, this.overflowLowBytes), this.reader.droppedItems);
    const dropped = this.reader.droppedItems;
    this.counters[this.counterBase + DestinationField.droppedOverflow]! += dropped;
    this.log.log('warn', `overflow:${this.options.index}`, `${this.options.text}: lagging ${this.state === 'up' ? 'behind' : 'while down'}, dropped its ${dropped} oldest message(s) (ring overflow)`);
    this.updateReleased();
  }

  /** A write that never completes pins the ring: cut the connection, then let the data go. */
  private releasePinnedWrites(): void {
    if (this.state === 'up') {
      this.log.log('warn', `stalled:${this.options.index}`, `${this.options.text}: not reading (a write has pinned the ring for 7/8 of its size); reconnecting`);
      this.counters[this.counterBase + DestinationField.stalls]! += 1;
      this.socket!.destroy();
      return;
    }
    let dropped = 0;
    for (const w of this.unconfirmed) if (w.ring) dropped += w.messages;
    // Replayed batches stay owed: they live on disk, not in the ring.
    const kept = this.unconfirmed.filter((w) => !w.ring);
    this.unconfirmed.length = 0;
    this.unconfirmed.push(...kept);
    this.counters[this.counterBase + DestinationField.droppedOverflow]! += dropped;
    this.updateReleased();
  }

  /** Moves the cursor past `items` ring items ending at `position`, and publishes both for metrics. */
  private advanceCursor(position: number, items: number): void {
    this.cursor = position;
    const c = this.counters;
    const b = this.counterBase;
    c[b + DestinationField.cursorItems]! += items;
    c[b + DestinationField.cursorPosition] = position;
  }

  /** Publishes `up` and when it changed. */
  private markUp(up: boolean): void {
    const c = this.counters;
    const b = this.counterBase;
    c[b + DestinationField.up] = up ? 1 : 0;
    c[b + DestinationField.sinceMs] = Date.now();
  }

  private updateReleased(force = false): void {
    const firstRingWrite = this.unconfirmed.find((w) => w.ring);
    const released = firstRingWrite ? firstRingWrite.ring!.start : this.cursor;
    if (force || released !== this.released) {
      this.released = released;
      this.reader.release(this.options.index, released);
    }
  }

  private connect(): void {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    const socket = net.connect({ host: this.options.host, port: this.options.port });
    this.socket = socket;
    this.generation++;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    // One inactivity timer serves both limits: while connecting it is the connect timeout, once up
    // it is the stall timeout (Node restarts it on every write issued and every byte read).
    socket.setTimeout(this.options.connectTimeoutMs);
    socket.on('timeout', () => {
      if (this.state === 'connecting') {
        socket.destroy(new Error(`connect timed out after ${this.options.connectTimeoutMs} ms`));
      } else if (this.state === 'up' && this.unconfirmed.length > 0) {
        this.log.log('warn', `stalled:${this.options.index}`, `${this.options.text}: stalled: no write completed for ${this.options.stallTimeoutMs} ms; reconnecting`);
        this.counters[this.counterBase + DestinationField.stalls]! += 1;
        socket.destroy();
      }
    });
    socket.on('connect', () => this.onConnect(socket));
    // Read and discard: reading is how a peer's FIN is noticed while we have nothing to send.
    socket.on('data', () => {});
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const what = this.state === 'up' ? 'connection lost' : 'cannot connect';
      this.log.log('warn', `error:${this.options.index}:${error.code ?? error.message}`, `${this.options.text}: ${what}: ${error.message}`);
    });
    socket.on('close', () => this.onClose(socket));
  }

  private onConnect(socket: net.Socket): void {
    if (socket !== this.socket || this.state !== 'connecting') return;
    socket.setTimeout(this.options.stallTimeoutMs);
    this.state = 'up';
    const c = this.counters;
    const b = this.counterBase;
    c[b + DestinationField.connects]! += 1;
    this.markUp(true);
    this.log.log('info', `up:${this.options.index}`, `${this.options.text}: connected`);
    // Writes the last connection never confirmed go first, whole, in their original order.
    for (const w of this.unconfirmed) {
      c[b + DestinationField.resentMessages]! += w.messages;
      this.write(socket, w);
    }
    this.onWritable(this);
    socket.on('drain', () => this.onWritable(this));
  }

  private onClose(socket: net.Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.generation++;
    const wasUp = this.state === 'up';
    if (wasUp) this.markUp(false);
    this.counters[this.counterBase + DestinationField.disconnects]! += 1;
    if (this.state === 'closed') return;
    this.state = 'down';
    if (wasUp) this.log.log('warn', `down:${this.options.index}`, `${this.options.text}: disconnected; ${this.unconfirmed.length} unconfirmed write(s) will be resent`);
    const delayMs = this.backoff.nextDelayMs();
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }
}
