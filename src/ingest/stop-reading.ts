/**
 * At a graceful stop, ingest takes what the kernel already queued on its sockets before closing
 * them: those messages were sent to us (docs/ARCHITECTURE.md, "Ingest").
 */
import type { ListenerCounters } from '../metrics/counters.js';

/** At stop, inputs are read until no message came for this long… */
const STOP_QUIET_MS = 20;
/** …or for this long at most, in case senders keep on sending. */
const STOP_READ_MAX_MS = 1000;

/**
 * Resolves once no listener of `listening()` (UDP datagrams, and TCP frames of connections still
 * open) has taken a message in for STOP_QUIET_MS, or after STOP_READ_MAX_MS at most.
 */
export async function readUntilQuiet(listening: () => Iterable<ListenerCounters>): Promise<void> {
  const deadline = Date.now() + STOP_READ_MAX_MS;
  for (let seen = -1; messagesSeen(listening()) !== seen && Date.now() < deadline; ) {
    seen = messagesSeen(listening());
    await new Promise((resolve) => setTimeout(resolve, STOP_QUIET_MS));
  }
}

/** Messages taken in so far by `listeners`, kept or dropped: it changes while any arrive. */
function messagesSeen(listeners: Iterable<ListenerCounters>): number {
  let seen = 0;
  for (const c of listeners)
    seen += c.read('receivedMessages') + c.read('droppedOversize') + c.read('droppedRingFull') + c.read('droppedNotAllowed') + c.read('droppedDenied');
  return seen;
}
