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
 * | REFUSED_APPENDS     | appends refused  | ingest (Atomics.store)      | egress             | count of appends refused for want of space (u32, wraps): ingest is short of space, the isolation rule applies at once (egress/lag-policy.ts) |
 * | HEAD                | head position    | background (Atomics.store)  | ingest             | every byte below it is free: ingest may write up to HEAD + capacity |
 * | EGRESS_SLEEPING     | 1 = egress waits | egress sets, ingest clears  | ingest             | egress is parked in Atomics.waitAsync on this flag: ingest clears it and notifies |
 * | BG_SLEEPING         | 1 = bg waits     | background sets, ingest clears | ingest          | background is parked in Atomics.wait on BG_WAKE (the native thread: on its own condition variable) |
 * | BG_WAKE             | wake counter     | ingest, main (Atomics.add)  | background         | futex word the background thread waits on |
 * | STOP                | 1 = stop         | main                        | background         | background thread leaves its loop |
 * | INGEST_GATHERS      | 1 = ingest gathers | ingest (Atomics.store)    | egress             | --max-delay: ingest holds its sockets for the budget after a small batch (every listener is a native datagram socket), so egress parks on the ring instead of on a timer (ring/wake.ts) |
 * | SLOT_GENERATION     | slot changes     | egress (Atomics.add)        | background, ingest, metrics | bumped after every change of a SLOT_FREE flag (a reload added or retired a destination) |
 * | INGEST_BEAT         | ingest heartbeat | ingest (Atomics.add)        | main               | bumped by a timer of ingest's event loop while systemd's watchdog is on (src/service/heartbeat.ts) |
 * | EGRESS_BEAT         | egress heartbeat | egress (Atomics.add)        | main               | the same for egress |
 * | BACKGROUND_BEAT     | background beat  | background (Atomics.add)    | main               | bumped once per round of the background loop, always |
 * | RELEASED + d        | released of d    | egress (Atomics.store)      | background         | destination d no longer needs bytes below it: every write that carried them has called back |
 * | SLOT_FREE + d       | 1 = slot unused  | egress (Atomics.store)      | background, ingest, metrics | slot d holds no destination: its RELEASED is ignored |
 *
 * There are `destinationSlots` RELEASED and SLOT_FREE slots (DESTINATION_SLOTS in a relay), more
 * than the destinations a relay starts with, so a reload can add destinations to a running ring.
 * A destination takes a slot by storing RELEASED (the tail it starts at), then SLOT_FREE = 0,
 * then bumping SLOT_GENERATION; it gives it back by SLOT_FREE = 1 and a bump, once none of its
 * writes can still read the ring. Readers load SLOT_GENERATION, then the flags and RELEASED, then
 * TAIL, then SLOT_GENERATION again, and start over if it moved: a reading that missed a new slot
 * could otherwise pair it with other destinations' positions released after that slot's start,
 * and compute a HEAD past it (positions.ts, loadTailThenUsed).
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
/** On TAIL's line: ingest writes all three, and egress reads them together. */
export const REFUSED_APPENDS = TAIL + 2;
export const HEAD = 1 * LINE;
export const EGRESS_SLEEPING = 2 * LINE;
export const BG_SLEEPING = 3 * LINE;
export const BG_WAKE = BG_SLEEPING + 1;
export const STOP = 4 * LINE;
/** On STOP's line: both are written rarely (at start, stop and reloads). */
export const INGEST_GATHERS = STOP + 1;
export const SLOT_GENERATION = 5 * LINE;
/**
 * Three writers share this line: each bumps its word at most a few times a second (and only the
 * main thread reads them, once per watchdog interval), so the false sharing costs nothing.
 */
export const INGEST_BEAT = 6 * LINE;
export const EGRESS_BEAT = INGEST_BEAT + 1;
export const BACKGROUND_BEAT = INGEST_BEAT + 2;
/** First of `destinationSlots` consecutive slots, all written by the egress thread. */
export const RELEASED = 7 * LINE;

/** Lines of `destinationSlots` consecutive Int32 slots. */
function linesFor(destinationSlots: number): number {
  return Math.ceil(Math.max(destinationSlots, 1) / LINE) * LINE;
}

/** First of the SLOT_FREE flags (after the RELEASED slots). */
export function slotFreeBase(destinationSlots: number): number {
  return RELEASED + linesFor(destinationSlots);
}

/** Int32 slots of the control buffer for a ring of `destinationSlots` destination slots. */
export function controlSlots(destinationSlots: number): number {
  return slotFreeBase(destinationSlots) + linesFor(destinationSlots);
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
  /** RELEASED slots: the most destinations the ring can serve at once. */
  destinationSlots: number;
}

/** Typed views over the shared buffers, built once per thread. */
export interface RingViews {
  control: Int32Array;
  data: Uint8Array;
  /** DataView over the data buffer, for reading and writing item headers. */
  dataView: DataView;
  capacity: number;
  mask: number;
  destinationSlots: number;
  /** Index of SLOT_FREE + 0 in `control`. */
  slotFree: number;
  dataBuffer: SharedArrayBuffer;
}

/**
 * Allocates the ring. `capacity` must be a power of two in [MIN_CAPACITY, MAX_CAPACITY]. Slots
 * [0, inUse) start taken (RELEASED 0, as the egress thread will start them), the rest free.
 */
export function allocateRing(capacity: number, destinationSlots: number, inUse = destinationSlots): RingBuffers {
  if (!isPowerOfTwo(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
    throw new RangeError(`ring capacity must be a power of two in [${MIN_CAPACITY}, ${MAX_CAPACITY}], got ${capacity}`);
  }
  const control = new SharedArrayBuffer(controlSlots(destinationSlots) * Int32Array.BYTES_PER_ELEMENT);
  const flags = new Int32Array(control);
  for (let d = inUse; d < destinationSlots; d++) flags[slotFreeBase(destinationSlots) + d] = 1;
  return { control, data: new SharedArrayBuffer(capacity), destinationSlots };
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
    destinationSlots: buffers.destinationSlots,
    slotFree: slotFreeBase(buffers.destinationSlots),
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
