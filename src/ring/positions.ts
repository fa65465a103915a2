/**
 * The positions every thread agrees on besides the tail: which destination slots are in use and
 * how far each has released, the HEAD computed from them (background thread; ingest when the ring
 * looks full), and the used bytes metrics report. Protocol and layout: ./layout.ts.
 */
import { HEAD, RELEASED, SLOT_GENERATION, TAIL, advance, distance, type RingViews } from './layout.js';

/**
 * The lowest position any destination still needs: the new HEAD. Loads every RELEASED before
 * TAIL, so each released position is at or below the tail it is measured against.
 */
export function computeHead(v: RingViews): number {
  return computeHeadAndHolder(v).head;
}

/**
 * computeHead, and the slot it comes from: the destination released least far, which holds the
 * ring when it is full (of several released equally far, the lowest slot); undefined when no slot
 * is taken (HEAD is the tail then).
 */
export function computeHeadAndHolder(v: RingViews): { head: number; holder: number | undefined } {
  const { tail, used, holder } = loadTailThenUsed(v);
  return { head: advance(tail, -used), holder };
}

/** Attempts usedBytes() makes at a reading no RELEASED moved across, before it settles for a bound. */
const USED_BYTES_ATTEMPTS = 4;

/**
 * Ring bytes some destination still needs (TAIL - lowest RELEASED), for metrics: never more than
 * the capacity. Loading RELEASED before TAIL keeps the distance from wrapping, but alone it does
 * not bound it: a thread paused between the loads (preempted, a GC pause) measures an old
 * RELEASED against a TAIL that may have moved laps since. So the RELEASED slots are loaded again
 * after TAIL: if none moved, they held those values when TAIL was loaded and the distance is the
 * exact one at that instant, at most the capacity (ingest publishes at most HEAD + capacity, and
 * HEAD <= every RELEASED). If they keep moving (egress releasing all along), the last distance
 * is an upper bound of the true one, which is at most the capacity: report the smaller.
 */
export function usedBytes(v: RingViews): number {
  for (let attempt = 1; ; attempt++) {
    const { used, slots, released } = loadTailThenUsed(v);
    if (attempt === USED_BYTES_ATTEMPTS) return Math.min(used, v.capacity);
    let moved = false;
    for (let i = 0; i < slots.length; i++) moved ||= Atomics.load(v.control, RELEASED + slots[i]!) >>> 0 !== released[i];
    if (!moved) return used;
  }
}

/**
 * The tail, how far below it the farthest-behind released position is and whose it is (the
 * lowest such slot), and the slots in use with the released positions loaded. Every RELEASED is
 * loaded before TAIL: a released position never passes the tail it was published under, so
 * measured against a tail loaded later it is at or below it and the distance cannot wrap.
 *
 * The slots in use are read between two loads of SLOT_GENERATION (layout.ts), and read again if
 * it moved. Why: egress starts a destination at the tail t0 it loaded, then stores its RELEASED,
 * clears SLOT_FREE and bumps the generation, then goes on releasing the other destinations past
 * t0. A reading that saw the slot free but loaded another slot's RELEASED stored after that would
 * compute a HEAD above t0, and ingest could overwrite what the new destination is about to send.
 * With an unchanged generation across the reading, either the bump came before it (the slot was
 * seen taken, with its RELEASED) or after it (every RELEASED loaded was stored before the slot
 * was taken, so at or below t0).
 */
function loadTailThenUsed(v: RingViews): { tail: number; used: number; holder: number | undefined; slots: number[]; released: number[] } {
  const c = v.control;
  for (;;) {
    const generation = Atomics.load(c, SLOT_GENERATION);
    const slots: number[] = [];
    const released: number[] = [];
    for (let d = 0; d < v.destinationSlots; d++) {
      if (Atomics.load(c, v.slotFree + d) !== 0) continue;
      slots.push(d);
      released.push(Atomics.load(c, RELEASED + d) >>> 0);
    }
    const tail = Atomics.load(c, TAIL) >>> 0;
    if (Atomics.load(c, SLOT_GENERATION) !== generation) continue;
    let used = 0;
    let holder: number | undefined;
    for (let i = 0; i < slots.length; i++) {
      const behind = distance(tail, released[i]!);
      if (holder === undefined || behind > used) {
        used = behind;
        holder = slots[i];
      }
    }
    return { tail, used, holder, slots, released };
  }
}

/**
 * Takes slot `d` for a destination that starts at ring position `position` (egress only; the
 * slot must be free). From here on the reclaimer keeps every byte from `position` on for it.
 */
export function takeSlot(v: RingViews, d: number, position: number): void {
  Atomics.store(v.control, RELEASED + d, position | 0);
  Atomics.store(v.control, v.slotFree + d, 0);
  Atomics.add(v.control, SLOT_GENERATION, 1);
}

/** Gives slot `d` back (egress only), once no write of its destination can still read the ring. */
export function freeSlot(v: RingViews, d: number): void {
  Atomics.store(v.control, v.slotFree + d, 1);
  Atomics.add(v.control, SLOT_GENERATION, 1);
}

/** Publishes a new HEAD (background thread only). */
export function publishHead(v: RingViews, head: number): void {
  // Publish: bytes below `head` are free; ingest may overwrite them after loading this.
  Atomics.store(v.control, HEAD, head | 0);
}
