/**
 * The shared-memory layout of the ring: one table, named constants, sizes derived from the table.
 *
 * Two SharedArrayBuffers are shared by every thread:
 *
 * CONTROL — an Int32Array. Each group sits on its own 64-byte cache line so that fields written by
 * different threads never share a line (no false sharing between ingest and egress).
 *
 * | index               | field            | written by                  | read by            | meaning |
 * |---------------------|------------------|-----------------------------|--------------------|---------|
 * | TAIL                | tail position    | ingest (Atomics.store)      | egress, background | byte position just past the last published item |
 * | TAIL_ID             | items published  | ingest (Atomics.store)      | egress, metrics    | count of items ever published (u32, wraps); the id of the next item |
 * | HEAD                | head position    | background (Atomics.store)  | ingest             | every byte below it is free: ingest may write up to HEAD + capacity |
 * | EGRESS_SLEEPING     | 1 = egress waits | egress sets, ingest clears  | ingest             | egress is parked in Atomics.waitAsync on TAIL: ingest must notify |
 * | BG_SLEEPING         | 1 = bg waits     | background sets, ingest clears | ingest          | background is parked in Atomics.wait on BG_WAKE |
 * | BG_WAKE             | wake counter     | ingest, main (Atomics.add)  | background         | futex word the background thread waits on |
 * | STOP                | 1 = stop         | main                        | background         | background thread leaves its loop |
 * | RELEASED + d        | released of d    | egress (Atomics.store)      | background         | destination d no longer needs bytes below it: every write that carried them has called back |
 *
 * DATA — a Uint8Array of `capacity` bytes (a power of two). Items are laid out back to back, each
 * exactly a `len32le` frame:
 *
 * | offset in item | size | field                                   |
 * |----------------|------|-----------------------------------------|
 * | 0              | 4    | payload length, u32 little-endian       |
 * | 4              | len  | payload                                 |
 *
 * so a run of items is already the wire format of the default framing and egress can hand a view
 * of the ring straight to `socket.write()` (one write per contiguous range, no copy).
 * An item never wraps. When the next item does not fit before the end of the buffer, ingest writes
 * WRAP_MARKER in the length slot (or, if fewer than 4 bytes remain, nothing) and continues at
 * offset 0 of the next lap; the skipped bytes count as part of the position.
 *
 * Positions are u32 byte counters that wrap at 2^32; offset = position & (capacity - 1), which
 * holds across the 2^32 wrap because capacity is a power of two. Distances are `(a - b) >>> 0`,
 * valid while the ring is at most 2^30 bytes (MAX_CAPACITY).
 */

/** Int32 slots per cache line (64 bytes). */
const LINE = 16;

export const TAIL = 0 * LINE;
export const TAIL_ID = TAIL + 1;
export const HEAD = 1 * LINE;
export const EGRESS_SLEEPING = 2 * LINE;
export const BG_SLEEPING = 3 * LINE;
export const BG_WAKE = BG_SLEEPING + 1;
export const STOP = 4 * LINE;
/** First of `destinationCount` consecutive slots, all written by the egress thread. */
export const RELEASED = 5 * LINE;

/** Int32 slots of the control buffer for a relay with `destinationCount` destinations. */
export function controlSlots(destinationCount: number): number {
  return RELEASED + Math.ceil(Math.max(destinationCount, 1) / LINE) * LINE;
}

/** Bytes of an item's length field. */
export const ITEM_HEADER_BYTES = 4;
/** Length value that means "the rest of this lap is unused, continue at offset 0". */
export const WRAP_MARKER = 0xffffffff;

export const MIN_CAPACITY = 64 * 1024;
export const MAX_CAPACITY = 2 ** 30;

/** The two shared buffers; this is what travels to each thread in workerData. */
export interface RingBuffers {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  destinationCount: number;
}

/** Typed views over the shared buffers, built once per thread. */
export interface RingViews {
  control: Int32Array;
  data: Uint8Array;
  /** DataView over the data buffer, for reading and writing item headers. */
  dataView: DataView;
  capacity: number;
  mask: number;
  destinationCount: number;
  dataBuffer: SharedArrayBuffer;
}

/** Allocates the ring. `capacity` must be a power of two in [MIN_CAPACITY, MAX_CAPACITY]. */
export function allocateRing(capacity: number, destinationCount: number): RingBuffers {
  if (!isPowerOfTwo(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
    throw new RangeError(`ring capacity must be a power of two in [${MIN_CAPACITY}, ${MAX_CAPACITY}], got ${capacity}`);
  }
  return {
    control: new SharedArrayBuffer(controlSlots(destinationCount) * Int32Array.BYTES_PER_ELEMENT),
    data: new SharedArrayBuffer(capacity),
    destinationCount,
  };
}

/** Builds this thread's views of the shared ring. */
export function viewRing(buffers: RingBuffers): RingViews {
  const capacity = buffers.data.byteLength;
  return {
    control: new Int32Array(buffers.control),
    data: new Uint8Array(buffers.data),
    dataView: new DataView(buffers.data),
    capacity,
    mask: capacity - 1,
    destinationCount: buffers.destinationCount,
    dataBuffer: buffers.data,
  };
}

/** The largest power of two not above `bytes`. */
export function floorPowerOfTwo(bytes: number): number {
  return 2 ** Math.floor(Math.log2(bytes));
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/** Distance from `from` forward to `to`, for u32 positions that wrap. */
export function distance(to: number, from: number): number {
  return (to - from) >>> 0;
}

/** `position + bytes` as a u32 position. */
export function advance(position: number, bytes: number): number {
  return (position + bytes) >>> 0;
}
