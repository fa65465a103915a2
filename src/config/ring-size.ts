/**
 * The ring's size from --buffer and --max-message: one definition, read by the configuration
 * (src/cli/run-settings.ts) and by what --check-config shows (src/config/settings.ts).
 */
import { RelayError } from '../errors.js';
import { ITEM_HEADER_BYTES, MAX_CAPACITY, MIN_CAPACITY, floorPowerOfTwo } from '../ring/layout.js';
import { formatBytes } from './size.js';

/** Items of this many max-size messages must fit in the ring at once. */
const MIN_MESSAGES_IN_RING = 4;

/** The ring size for `--buffer` bytes: the largest power of two not above it. Throws if too small for `maxMessageBytes`. */
export function ringBytesFor(bufferBytes: number, maxMessageBytes: number): number {
  const ringBytes = Math.min(floorPowerOfTwo(bufferBytes), MAX_CAPACITY);
  const needed = ceilPowerOfTwo(Math.max(MIN_CAPACITY, MIN_MESSAGES_IN_RING * (maxMessageBytes + ITEM_HEADER_BYTES)));
  if (ringBytes < needed) {
    throw new RelayError(
      'ERR_BAD_OPTION',
      `--buffer ${formatBytes(bufferBytes)} is too small: the ring must hold ${MIN_MESSAGES_IN_RING} messages of --max-message ${maxMessageBytes} bytes, so at least ${formatBytes(needed)}`,
    );
  }
  return ringBytes;
}

function ceilPowerOfTwo(bytes: number): number {
  return 2 ** Math.ceil(Math.log2(bytes));
}
