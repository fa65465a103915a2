/**
 * Splitting a datagram into lines (`udp@HOST:PORT?split=lf`): each LF-terminated line is one
 * message. One function serves both UDP receive paths (node:dgram and the native recvmmsg
 * batches); it hands out ranges of the datagram's own buffer, so nothing is allocated per line.
 */

/** The `?split=` values a UDP listener accepts. */
export const SPLIT_NAMES = ['lf'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/** The largest UDP payload (IPv4 allows 65507, IPv6 65527 without jumbograms): a split listener receives whole datagrams. */
export const MAX_UDP_PAYLOAD_BYTES = 65535;

const LF = 10;

/** Appends one message (`length` bytes of `source` from `start`); false when the ring had no room (nothing later is tried). */
export type AppendLine = (source: Buffer, start: number, length: number) => boolean;
/** Counts a line that was not tried because the ring filled earlier in the same datagram. */
export type DropLine = (length: number) => void;

/**
 * Hands each line of `length` bytes of `source` from `start` to `append`, in order. A line ends
 * at an LF, which is not part of it; a last line without LF is a line too; empty lines are
 * skipped; a CR before the LF stays in the line (payloads are bytes). Once `append` returns false
 * (ring full) the remaining lines go to `drop` instead. Returns how many lines there were.
 */
export function splitLines(source: Buffer, start: number, length: number, append: AppendLine, drop: DropLine): number {
  const end = start + length;
  // indexOf must not run past the datagram: on the native path the batch buffer holds the next
  // slots after it. A view ending at `end` keeps the same offsets (one view per datagram).
  const bytes = end === source.length ? source : source.subarray(0, end);
  let lineStart = start;
  let lines = 0;
  let full = false;
  while (lineStart < end) {
    let lf = bytes.indexOf(LF, lineStart);
    if (lf < 0) lf = end;
    const lineLength = lf - lineStart;
    if (lineLength > 0) {
      lines++;
      if (full) drop(lineLength);
      else full = !append(bytes, lineStart, lineLength);
    }
    lineStart = lf + 1;
  }
  return lines;
}

/** How many messages (non-empty lines) splitLines makes of `length` bytes of `source` from `start`. */
export function countLines(source: Buffer, start: number, length: number): number {
  return splitLines(
    source,
    start,
    length,
    () => true,
    () => {},
  );
}

/** Slot size for receiving on a listener: a split listener takes whole datagrams, whose lines --max-message then bounds. */
export function datagramBytes(split: SplitName | undefined, maxMessageBytes: number): number {
  return split === undefined ? maxMessageBytes : Math.max(maxMessageBytes, MAX_UDP_PAYLOAD_BYTES);
}
