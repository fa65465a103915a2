/**
 * One TCP destination in the egress thread: its connection, its cursor in the ring, and the
 * writes the kernel has not yet taken.
 *
 * Positions (all u32 ring positions, see ring/layout.ts):
 *   released <= first unconfirmed write's start <= ... <= cursor <= TAIL
 * - `cursor`: the next item to hand to a write.
 * - `unconfirmed`: writes issued and not yet called back, in order. Their bytes may still be read
 *   by the kernel straight out of the ring (a len32le write is a view, not a copy), so nothing at
 *   or above the first one's start may be reclaimed. If the connection breaks they are written
 *   again, whole, on the next one: a frame is never torn and never skipped.
 * - `released` = first unconfirmed start, or `cursor` when none: published to the background
 *   thread, which reclaims below the lowest released of all destinations.
 *
 * Isolation: when this destination lags more than 3/4 of the ring it drops its own oldest items
 * (counted as overflow) down to 1/2. If a write that never completes pins the ring past 7/8, the
 * peer is not reading: the connection is closed and, while down, the pinned writes are dropped.
 */
import net from 'node:net';
import { framingFor, type Framing, type FramingName } from '../framing/index.js';
import { ITEM_HEADER_BYTES, distance } from '../ring/layout.js';
import type { RingReader } from '../ring/ring.js';
import { DestinationField } from '../metrics/counters.js';
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
  /** Ring position of the first item carried. */
  start: number;
  chunk: Uint8Array;
  /** Messages carried (skipped ones excluded). */
  messages: number;
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

  constructor(
    private readonly options: DestinationOptions,
    private readonly reader: RingReader,
    private readonly counters: Float64Array,
    private readonly counterBase: number,
    private readonly log: RateLimitedLog,
    /** Called when the destination can take data again (connected, or its socket drained). */
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

  /** True when everything below `tail` has been handed to the kernel. */
  caughtUp(tail: number): boolean {
    return this.cursor === tail && this.unconfirmed.length === 0;
  }

  /** Starts connecting; the cursor starts at `tail` (a relay forwards what arrives from now on). */
  start(tail: number): void {
    this.cursor = tail;
    this.updateReleased(true);
    this.connect();
  }

  /** Enforces the lag limits, then writes whatever the socket will take up to `tail`. */
  service(tail: number): void {
    if (this.state === 'closed') return;
    if (distance(tail, this.cursor) > this.overflowHighBytes) this.dropOldest(tail);
    if (this.unconfirmed.length > 0 && distance(tail, this.released) > this.pinLimitBytes) {
      this.releasePinnedWrites();
    }
    if (this.state !== 'up') return;
    const socket = this.socket!;
    while (!socket.writableNeedDrain && this.cursor !== tail) {
      if (!this.reader.scan(this.cursor, tail, this.options.maxWriteBytes)) break;
      const start = this.reader.segmentStart;
      const chunk = this.frameSegment(start, this.reader.segmentEnd);
      const messages = this.lastSegmentMessages;
      this.cursor = this.reader.segmentEnd;
      if (chunk.length === 0) {
        this.updateReleased();
        continue;
      }
      const write: UnconfirmedWrite = { start, chunk, messages };
      this.unconfirmed.push(write);
      this.write(socket, write);
    }
  }

  /** Ends the connection after what was written; no reconnect afterwards. */
  close(): void {
    this.state = 'closed';
    clearTimeout(this.reconnectTimer);
    this.socket?.end();
  }

  /** Closes the connection at once (used when a drain deadline passed). */
  destroy(): void {
    this.state = 'closed';
    clearTimeout(this.reconnectTimer);
    this.socket?.destroy();
  }

  private lastSegmentMessages = 0;

  /**
   * The bytes to write for the items in [start, end): a view of the ring for len32le (the ring
   * holds len32le frames already), else a freshly encoded buffer. Sets lastSegmentMessages.
   */
  private frameSegment(start: number, end: number): Uint8Array {
    const v = this.reader.v;
    const items = this.reader.segmentItems;
    if (this.framing.name === 'len32le') {
      this.lastSegmentMessages = items;
      return Buffer.from(v.dataBuffer, start & v.mask, distance(end, start));
    }
    const data = v.data;
    const base = start & v.mask;
    const spanBytes = distance(end, start);
    // Pass 1: size the output and count what the framing cannot carry intact.
    let total = 0;
    let skipped = 0;
    let split = 0;
    for (let offset = 0; offset < spanBytes; ) {
      const length = v.dataView.getUint32(base + offset, true);
      const payload = data.subarray(base + offset + ITEM_HEADER_BYTES, base + offset + ITEM_HEADER_BYTES + length);
      const verdict = this.framing.verdict(payload);
      if (verdict === 'skip') skipped++;
      else {
        if (verdict === 'split') split++;
        total += this.framing.frameLength(payload);
      }
      offset += ITEM_HEADER_BYTES + length;
    }
    // Pass 2: encode.
    const out = Buffer.allocUnsafe(total);
    let written = 0;
    for (let offset = 0; offset < spanBytes; ) {
      const length = v.dataView.getUint32(base + offset, true);
      const payload = data.subarray(base + offset + ITEM_HEADER_BYTES, base + offset + ITEM_HEADER_BYTES + length);
      if (this.framing.verdict(payload) !== 'skip') written += this.framing.encodeInto(payload, out, written);
      offset += ITEM_HEADER_BYTES + length;
    }
    const c = this.counters;
    const b = this.counterBase;
    if (skipped > 0) {
      c[b + DestinationField.droppedUnframeable]! += skipped;
      this.log.log('warn', `unframeable:${this.options.index}`, `${this.options.text}: skipped ${skipped} empty message(s): framing ${this.framing.name} cannot carry an empty payload`);
    }
    if (split > 0) c[b + DestinationField.splitLf]! += split;
    this.lastSegmentMessages = items - skipped;
    return out;
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
    this.backoff.reset();
    this.updateReleased();
  }

  private dropOldest(tail: number): void {
    this.cursor = this.reader.dropUntil(this.cursor, tail, this.overflowLowBytes);
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
    for (const w of this.unconfirmed) dropped += w.messages;
    this.unconfirmed.length = 0;
    this.counters[this.counterBase + DestinationField.droppedOverflow]! += dropped;
    this.updateReleased();
  }

  private updateReleased(force = false): void {
    const first = this.unconfirmed[0];
    const released = first ? first.start : this.cursor;
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
    c[b + DestinationField.up] = 1;
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
    const c = this.counters;
    const b = this.counterBase;
    c[b + DestinationField.up] = 0;
    c[b + DestinationField.disconnects]! += 1;
    if (this.state === 'closed') return;
    this.state = 'down';
    if (wasUp) this.log.log('warn', `down:${this.options.index}`, `${this.options.text}: disconnected; ${this.unconfirmed.length} unconfirmed write(s) will be resent`);
    const delayMs = this.backoff.nextDelayMs();
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }
}
